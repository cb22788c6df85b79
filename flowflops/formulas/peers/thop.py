"""thop 0.1.1 ``profile``: forward hooks on leaf modules whose exact type is in
``register_hooks`` (thop/profile.py:21-66); functional calls and operators are never seen,
nor modules without a hook (GELU, SiLU, Hardswish, GroupNorm...). Records from an eager module
hook carry the module's class (``_module``), and only those count; unmarked records (graph mode)
are priced by their op type's module formula, so the eager engine reproduces thop.
"""
from __future__ import annotations

from typing import Optional

from ...records import Cost, OpRecord, numel
from ...registry import register
from ..pool import UPSAMPLES
from ._common import (CONV_OPS, GATES, MATMUL_OPS, cell_dims, function_of, in_elems, inside,
                      is_affine_term, module_of, norm_layer, out_elems, peer)

__all__ = [
    "C", "conv", "linear", "batch_norm", "norm_statistics", "affine_term", "prelu", "avg_pool", "adaptive_avg_pool",
    "upsample", "softmax", "layer_norm", "recurrent"
]

C = "thop"

#: the OneFlow names of the types in thop 0.1.1's ``register_hooks`` (thop/profile.py:21-66):
#: a module of exactly one of these types (or of a ``custom_ops`` type) is a leaf of thop's
#: count, and only such leaves contribute parameters (thop/profile.py:214-233)
REGISTERED = frozenset({
    "ZeroPad2d", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "InstanceNorm1d", "InstanceNorm2d",
    "InstanceNorm3d", "PReLU", "Softmax", "ReLU", "ReLU6", "LeakyReLU", "MaxPool1d", "MaxPool2d",
    "MaxPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "AvgPool1d", "AvgPool2d",
    "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "Linear", "Dropout",
    "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d", "RNNCell", "GRUCell", "LSTMCell", "RNN",
    "GRU", "LSTM", "Sequential", "PixelShuffle", "SyncBatchNorm",
})

_NORMS = {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "InstanceNorm1d",
          "InstanceNorm2d", "InstanceNorm3d", "SyncBatchNorm"}


def _seen(rec: OpRecord, modules: Optional[set] = None) -> bool:
    """thop sees module hooks only (of ``modules`` when given); unmarked graph records count."""
    mod = module_of(rec)
    if mod is None:
        return function_of(rec) is None
    if modules is None:
        return not mod.startswith("~")  # thop hooks exact types only
    return mod in modules


@register(*CONV_OPS, convention=C)
def conv(rec: OpRecord) -> Cost:
    """count_convNd -> calculate_conv2d_flops: output elements x in_channels / groups x kernel,
    bias ignored, the same formula for transposed convs (thop/vision/basic_hooks.py:22-34,
    thop/vision/calc_func.py:28-34)."""
    if not _seen(rec):
        return peer(0)
    x, w = rec.inputs[0], rec.inputs[1]
    groups = int(rec.attrs.get("groups", 1))
    return peer(out_elems(rec) * (x[1] // groups) * numel(w[2:]))


@register(*MATMUL_OPS, convention=C)
def linear(rec: OpRecord) -> Cost:
    """count_linear: in_features x output elements, bias ignored (basic_hooks.py:140-147)."""
    if not _seen(rec, {"Linear"}):
        return peer(0)
    return peer(rec.inputs[1][-1] * out_elems(rec))


@register("normalization", convention=C)
def batch_norm(rec: OpRecord) -> Cost:
    """count_normalization: calculate_norm's 2 per input element, doubled with affine
    (basic_hooks.py:60-69, calc_func.py:43-45): 4 per element for an affine BatchNorm."""
    if not _seen(rec, _NORMS):
        return peer(0)
    return peer(2 * in_elems(rec) * (2 if rec.attrs.get("affine", True) else 1))


@register("reduce_sum", convention=C)
def norm_statistics(rec: OpRecord) -> Cost:
    """A decomposed InstanceNorm or LayerNorm (thop hooks them; not GroupNorm): 2 per element
    on its first reduction, 2 more on its affine term (see ``affine_term``)."""
    return peer(2 * in_elems(rec)) if norm_layer(rec) in _NORMS else peer(0)


@register("broadcast_mul", "broadcast_add", convention=C)
def affine_term(rec: OpRecord) -> Cost:
    """The doubling for affine of count_normalization (basic_hooks.py:67-68)."""
    return peer(2 * out_elems(rec)) if is_affine_term(rec) and inside(rec) in _NORMS else peer(0)


@register("prelu", convention=C)
def prelu(rec: OpRecord) -> Cost:
    """count_prelu at inference: input elements (basic_hooks.py:82-87); ReLU, ReLU6, LeakyReLU
    count 0 (profile.py:38-40, calc_func.py:47-49)."""
    return peer(in_elems(rec)) if _seen(rec, {"PReLU"}) else peer(0)


@register("avg_pool_1d", "avg_pool_2d", "avg_pool_3d", convention=C)
def avg_pool(rec: OpRecord) -> Cost:
    """count_avgpool: output elements (basic_hooks.py:106-111); max pools count 0."""
    return peer(out_elems(rec)) if _seen(rec) else peer(0)


@register("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", convention=C)
def adaptive_avg_pool(rec: OpRecord) -> Cost:
    """count_adap_avgpool: (prod(input spatial / output spatial) + 1) x output elements, in
    float64 then truncated (basic_hooks.py:114-121, calc_func.py:69-72)."""
    if not _seen(rec):
        return peer(0)
    kernel = 1.0
    for i, o in zip(rec.inputs[0][2:], rec.outputs[0][2:]):
        kernel *= float(i) / float(o)
    return peer(int((kernel + 1) * out_elems(rec)))


_UPSAMPLE_FACTOR = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 224 + 35}


@register(*UPSAMPLES, convention=C)
def upsample(rec: OpRecord) -> Cost:
    """count_upsample -> calculate_upsample: output elements x 1 (nearest), 5 (linear),
    11 (bilinear), 259 (bicubic); trilinear counts 0 (basic_hooks.py:125-136,
    calc_func.py:75-87)."""
    if not _seen(rec):
        return peer(0)
    mode = rec.op_type.split("_")[1]
    return peer(out_elems(rec) * _UPSAMPLE_FACTOR.get(mode, 0))


@register("softmax", "log_softmax", convention=C)
def softmax(rec: OpRecord) -> Cost:
    """count_softmax for an ``nn.Softmax`` module: per row of the softmax axis ``m.dim``, n exps,
    n - 1 adds and n divides (basic_hooks.py:98-103, calc_func.py:57-62); the last axis when
    the record does not carry ``dim``. A functional softmax is unseen."""
    if inside(rec) != "Softmax" or not rec.inputs:
        return peer(0)
    x = rec.inputs[0]
    n = x[int(rec.attrs.get("dim", -1))] if x else 1
    return peer(in_elems(rec) // n * (3 * n - 1))


@register("layer_norm", convention=C)
def layer_norm(rec: OpRecord) -> Cost:
    """count_normalization for an ``nn.LayerNorm`` module: 2 per input element, doubled with
    ``elementwise_affine`` (basic_hooks.py:60-69); a functional layer norm is unseen."""
    if module_of(rec) != "LayerNorm":
        return peer(0)
    return peer(2 * in_elems(rec) * (2 if rec.attrs.get("affine", True) else 1))


@register(*GATES, convention=C)
def recurrent(rec: OpRecord) -> Cost:
    """count_rnn/count_gru/count_lstm: per layer and direction, per step and sample, the cell
    count of _count_rnn_cell (h(i + h) + h, +2h with bias), _count_gru_cell (3(h(i + h) + h),
    +6h with bias, + 4h) or _count_lstm_cell (4(h(i + h) + h), +8h with bias, + 4h)
    (thop/rnn_hooks.py:6-75, 87-120)."""
    if not _seen(rec):
        return peer(0)
    g, i, h, n = cell_dims(rec)
    bias = 2 * h if rec.attrs.get("bias", True) else 0
    return peer(n * (g * (h * (i + h) + h + bias) + (4 * h if g > 1 else 0)))
