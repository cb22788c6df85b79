"""fvcore 0.1.5 ``FlopCountAnalysis`` (one fused multiply-add counts 1).

fvcore traces the model and prices only the aten ops in ``_DEFAULT_SUPPORTED_OPS``
(fvcore/nn/flop_count.py:26-44); every other op (activations, adds, max and avg pooling,
softmax, bias adds) counts nothing. It sees functional calls and operators as well as modules,
so both engines reproduce it (eager with ``count_functional``).
"""
from __future__ import annotations

from ...records import Cost, OpRecord
from ...registry import register
from ._common import (CONV_OPS, MATMUL_OPS, conv_macs, in_elems, is_affine_term, matmul_macs, module_is,
                      norm_layer, out_elems, peer)

__all__ = [
    "C", "RECURRENT", "conv", "matmul", "batch_norm", "norm_op", "norm_statistics", "affine_term", "upsample_nearest",
    "upsample_bilinear", "adaptive_avg_pool"
]

C = "fvcore"

#: torch runs these layers as one aten op each (``aten::rnn_tanh``, ``aten::gru``,
#: ``aten::lstm``...), for which fvcore has no handle: unsupported, 0
RECURRENT = frozenset({"RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"})


@register(*CONV_OPS, convention=C)
def conv(rec: OpRecord) -> Cost:
    """conv_flop_count: batch x prod(weight) x prod(output spatial) (input spatial when
    transposed), bias ignored (fvcore/nn/jit_handles.py:127-151). A convolution with
    ``padding="same"`` / ``"valid"`` (``string_padding``) counts 0: torch traces it as
    ``aten::_convolution_mode``, which fvcore has no handle for (it lists it unsupported;
    fvcore 0.1.5.post20221221 with torch 2.14.1, and timm's published ConvMixer figures)."""
    if rec.attrs.get("string_padding"):
        return peer(0)
    return peer(conv_macs(rec))


@register(*MATMUL_OPS, "fused_matmul_bias", convention=C)
def matmul(rec: OpRecord) -> Cost:
    """aten::linear: prod(input) x out_features (jit_handles.py:99-110); addmm, mm, matmul and
    bmm: the multiply-adds, bias ignored (jit_handles.py:82-96, 113-124, 217-227). Not the
    products a compiled graph unrolls a recurrent layer into (the ``_module`` mark of
    :mod:`flowflops.rules.peer_graph`): fvcore sees the layer's one aten op (:data:`RECURRENT`),
    0, as an eager count's recurrent records."""
    if module_is(rec) in RECURRENT:
        return peer(0)
    return peer(matmul_macs(rec))


@register("normalization", convention=C)
def batch_norm(rec: OpRecord) -> Cost:
    """batchnorm_flop_jit (jit_handles.py:251-262): in training (batch statistics computed)
    norm_flop_counter's 5 per input element with affine, 4 without; at inference input
    elements, twice with affine. A record without ``training`` is taken as inference unless
    it outputs the batch statistics (the graph's training op). Affine is fvcore's
    ``has_affine``: the ``weight`` argument given (``gamma_given``), also where OneFlow 0.9
    drops it (``F.batch_norm`` with ``weight`` and no ``bias``; timm's ``ScaledStdConv2d``)."""
    affine = rec.attrs.get("affine", True) or rec.attrs.get("gamma_given", False)
    training = rec.attrs.get("training")
    if training is None:
        training = len(rec.outputs) >= 3
    if training:
        return peer(in_elems(rec) * (5 if affine else 4))
    return peer(in_elems(rec) * (2 if affine else 1))


@register("layer_norm", "group_norm", "instance_norm", convention=C)
def norm_op(rec: OpRecord) -> Cost:
    """norm_flop_counter: 5 per input element with affine, 4 without (jit_handles.py:230-248).
    A record without ``affine`` is taken as affine (the layers' default)."""
    return peer(in_elems(rec) * (5 if rec.attrs.get("affine", True) else 4))


@register("reduce_sum", convention=C)
def norm_statistics(rec: OpRecord) -> Cost:
    """A decomposed GroupNorm/InstanceNorm/LayerNorm layer (eager): 4 per input element on its
    first reduction, the 5th with affine on its affine term (see ``affine_term``)."""
    return peer(4 * in_elems(rec)) if norm_layer(rec, exact=False) else peer(0)


@register("broadcast_mul", "broadcast_add", convention=C)
def affine_term(rec: OpRecord) -> Cost:
    """The affine term of a decomposed norm layer, 1 per element (jit_handles.py:245); other
    multiplies and adds count nothing."""
    return peer(out_elems(rec)) if is_affine_term(rec, exact=False) else peer(0)


@register("upsample_nearest_2d", convention=C)
def upsample_nearest(rec: OpRecord) -> Cost:
    """elementwise_flop_counter(0, 1): output elements (flop_count.py:40)."""
    return peer(out_elems(rec))


@register("upsample_bilinear_2d", convention=C)
def upsample_bilinear(rec: OpRecord) -> Cost:
    """elementwise_flop_counter(0, 4): 4 per output element (flop_count.py:41)."""
    return peer(4 * out_elems(rec))


@register("adaptive_avg_pool2d", convention=C)
def adaptive_avg_pool(rec: OpRecord) -> Cost:
    """elementwise_flop_counter(1, 0): input elements (flop_count.py:42); only the 2-d op."""
    return peer(in_elems(rec))
