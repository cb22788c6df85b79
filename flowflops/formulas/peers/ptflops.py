"""ptflops 0.7.5, pytorch backend, ``count_functional=True`` (its default,
ptflops/pytorch_engine.py:49).

ptflops adds two sums (pytorch_engine.py:69-71): forward hooks on modules whose exact type is
in ``MODULES_MAPPING`` (pytorch_ops.py:271-324), and wrappers of the functions it patches
(``FUNCTIONAL_MAPPING``/``TENSOR_OPS_MAPPING``, pytorch_ops.py:422-469, installed by
pytorch_engine.py:348-390 and 434-456). The wrappers are not switched off inside hooked
modules, so a module whose forward calls a patched function (``nn.ReLU`` -> ``F.relu``,
``nn.MaxPool2d`` -> ``F.max_pool2d``, ``nn.Upsample`` -> ``F.interpolate``...) is counted twice.
Operators (``x + y``, ``x @ w``), ``F.linear`` (commented out, pytorch_engine.py:349),
``F.leaky_relu``, ``F.hardtanh``, ``F.hardswish``, sigmoid and tanh are not patched.

Records from an eager module hook carry the module's class (``_module``); records from an
eager functional patch carry the function (``_fn``). Unmarked records (graph mode) are priced
once each by the module formula of their op type, so the eager engine is the one that
reproduces ptflops. ptflops divides the module sum, not the functional one, by the batch size
(pytorch_engine.py:199); counts here are per batch as given, so compare at batch 1.
"""
from __future__ import annotations

from ...conventions import FUNCTIONAL_ON_ATTR
from ...records import Cost, OpRecord, numel
from ...registry import register
from ..pool import POOLS, UPSAMPLES
from ._common import (CONV_OPS, GATES, MATMUL_OPS, cell_dims, conv_macs, function_of, in_elems,
                      inside, is_affine_term, matmul_macs, module_of, norm_layer, out_elems, peer, via_of)

__all__ = [
    "C", "HOOKED", "CALLS_PATCHED", "PATCHED", "conv", "conv_bias", "linear_or_matmul", "add_or_mul", "batch_norm",
    "norm", "layer_norm", "activation", "pool", "upsample", "recurrent"
]

C = "ptflops"

_POOL_MODULES = {f"{k}Pool{n}d" for k in ("Max", "Avg", "AdaptiveMax", "AdaptiveAvg") for n in (1, 2, 3)}
#: MODULES_MAPPING (pytorch_ops.py:271-324), by class name
HOOKED = {
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "ReLU", "PReLU", "ELU", "LeakyReLU", "ReLU6", "GELU", "BatchNorm1d", "BatchNorm2d",
    "BatchNorm3d", "Linear", "Upsample", "RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell",
    "MultiheadAttention", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LayerNorm", *_POOL_MODULES,
}
#: hooked modules whose torch forward calls a function ptflops patches (counted a second time)
CALLS_PATCHED = {"ReLU", "PReLU", "ELU", "GELU", "Upsample", *_POOL_MODULES}
#: functions ptflops patches, as flowflops' functional patch names them
PATCHED = {
    "relu", "prelu", "elu", "relu6", "gelu", "silu", "softmax",
    *(f"{k}_pool{n}d" for k in ("avg", "max", "adaptive_avg", "adaptive_max") for n in (1, 2, 3)),
    *UPSAMPLES, "gelu_with_approximate", "matmul", "mm", "bmm", "batch_matmul", "add", "mul",
    "Tensor.matmul", "Tensor.mm", "Tensor.bmm", "Tensor.add", "Tensor.mul",
}


def _twice(rec: OpRecord) -> int:
    """2 when an eager module hook's call is counted again by a patched function: only when
    functional calls are counted (``count_functional``, ptflops' default)."""
    return 2 if module_of(rec) in CALLS_PATCHED and rec.attrs.get(FUNCTIONAL_ON_ATTR, False) else 1


def _hooked_or_functional(rec: OpRecord) -> bool:
    """Whether ptflops sees this record at all. Not the primitives of OneFlow's ``F.linear``:
    torch's is one C function that calls nothing ptflops patches, and F.linear itself is not
    patched."""
    mod, fn = module_of(rec), function_of(rec)
    if mod is not None:
        return mod in HOOKED
    if via_of(rec) == "linear":
        return False
    if fn is not None:
        return fn in PATCHED
    return True


@register(*CONV_OPS, convention=C)
def conv(rec: OpRecord) -> Cost:
    """conv_flops_counter_hook (pytorch_ops.py:60-92): kernel x in_channels x out_channels /
    groups per output (input, transposed) position; the same multiply-adds as flowflops."""
    return peer(conv_macs(rec)) if _hooked_or_functional(rec) else peer(0)


@register("bias_add", convention=C)
def conv_bias(rec: OpRecord) -> Cost:
    """Conv bias: one per output element (pytorch_ops.py:87-88)."""
    return peer(out_elems(rec)) if _hooked_or_functional(rec) else peer(0)


@register(*MATMUL_OPS, convention=C)
def linear_or_matmul(rec: OpRecord) -> Cost:
    """nn.Linear: in x out per row of the input, any rank (pytorch_ops.py:35-43);
    torch.matmul/bmm: ``prod(input.shape) * other.shape[-1]`` (pytorch_ops.py:385-387)."""
    if not _hooked_or_functional(rec):
        return peer(0)
    if function_of(rec) is not None:
        return peer(numel(rec.inputs[0]) * rec.inputs[1][-1])
    return peer(matmul_macs(rec))


@register("broadcast_add", "add_n", "broadcast_mul", "scalar_add", "scalar_mul", convention=C)
def add_or_mul(rec: OpRecord) -> Cost:
    """nn.Linear's bias, one per output element (pytorch_ops.py:41-43); torch.add/mul, one per
    element of the broadcast shape (pytorch_ops.py:397-419); a norm layer's affine scale (see
    ``norm``); nothing for operators and for other ops. Inside OneFlow's ``flow.addmm``
    (``beta * x + alpha * mat1 @ mat2``) torch.addmm's hook adds ``prod(x.shape)`` when beta
    is not 0 (pytorch_ops.py:390-394): the add's first operand is ``beta * x``; the scalar
    products count nothing (a beta of 0 is not seen: its ``x`` is counted too)."""
    mod, fn, via = module_of(rec), function_of(rec), via_of(rec)
    if via == "addmm":
        return peer(numel(rec.inputs[0]) if rec.op_type in ("broadcast_add", "add_n") else 0)
    if via == "linear":
        return peer(0)
    if mod == "Linear" or fn in ("add", "mul", "Tensor.add", "Tensor.mul"):
        return peer(out_elems(rec))
    if is_affine_term(rec) and inside(rec) != "LayerNorm":
        return peer(out_elems(rec))
    return peer(0)


@register("normalization", convention=C)
def batch_norm(rec: OpRecord) -> Cost:
    """bn_flops_counter_hook (pytorch_ops.py:51-57): input elements, twice with affine."""
    return peer(in_elems(rec) * (2 if rec.attrs.get("affine", True) else 1))


@register("reduce_sum", convention=C)
def norm(rec: OpRecord) -> Cost:
    """GroupNorm/InstanceNorm/LayerNorm also use bn_flops_counter_hook (pytorch_ops.py:300-304):
    input elements, plus as many again for affine (``module.affine``: LayerNorm, whose flag is
    ``elementwise_affine``, never gets it). The decomposed layer's first reduction carries the
    input elements, its affine term the second (see add_or_mul)."""
    return peer(in_elems(rec)) if norm_layer(rec) else peer(0)


@register("layer_norm", convention=C)
def layer_norm(rec: OpRecord) -> Cost:
    """An ``nn.LayerNorm`` module: bn_flops_counter_hook's input elements; LayerNorm has no
    ``affine`` attribute, so never doubled (pytorch_ops.py:51-57). ``F.layer_norm`` is not
    patched: nothing."""
    return peer(in_elems(rec)) if module_of(rec) == "LayerNorm" else peer(0)


@register("relu", "prelu", "elu", "gelu", "leaky_relu", "hardtanh", "relu6", "silu", "softmax",
          convention=C)
def activation(rec: OpRecord) -> Cost:
    """relu_flops_counter_hook: output elements (pytorch_ops.py:30-32), for ReLU, PReLU, ELU,
    LeakyReLU, ReLU6 and GELU modules, again for those whose forward calls a patched F.relu,
    F.prelu, F.elu or F.gelu; a patched function alone: input elements (pytorch_ops.py:347-348).
    nn.Hardtanh (not hooked) calls F.hardtanh (not patched): nothing."""
    mod = module_of(rec)
    if mod is not None:
        return peer(out_elems(rec) * _twice(rec)) if mod in HOOKED else peer(0)
    if function_of(rec) is not None:
        return peer(in_elems(rec)) if function_of(rec) in PATCHED else peer(0)
    return peer(out_elems(rec)) if rec.op_type != "hardtanh" else peer(0)


@register(*POOLS, convention=C)
def pool(rec: OpRecord) -> Cost:
    """pool_flops_counter_hook: input elements (pytorch_ops.py:46-48), again for the patched
    F.*pool* the module calls (pytorch_ops.py:430-441)."""
    return peer(in_elems(rec) * _twice(rec)) if _hooked_or_functional(rec) else peer(0)


@register(*UPSAMPLES, convention=C)
def upsample(rec: OpRecord) -> Cost:
    """nn.Upsample: upsample_flops_counter_hook reads ``output[0]``, the first sample, so it
    adds output elements / batch (pytorch_ops.py:21-27); the F.interpolate it calls adds the
    output elements (pytorch_ops.py:351-382). A functional call alone: output elements."""
    n = out_elems(rec)
    if module_of(rec) == "Upsample":
        return peer(n // rec.outputs[0][0] + (n if rec.attrs.get(FUNCTIONAL_ON_ATTR, False) else 0))
    return peer(n) if _hooked_or_functional(rec) else peer(0)


_EXTRA = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "gru_cell": 7, "lstm_cell": 10}


@register(*GATES, convention=C)
def recurrent(rec: OpRecord) -> Cost:
    """rnn_flops (pytorch_ops.py:105-127) per layer and direction: the two weight matrices'
    elements, 1 (RNN), 7 (GRU) or 10 (LSTM) x hidden, both biases (pytorch_ops.py:151-154);
    times batch x steps (pytorch_ops.py:156-159)."""
    g, i, h, n = cell_dims(rec)
    per_step = g * h * (i + h) + _EXTRA[rec.op_type] * h + (2 * g * h if rec.attrs.get("bias", True) else 0)
    return peer(per_step * n)
