"""fvcore 0.1.5's own view of an eager count under the ``"fvcore"`` convention: the aten ops
its TorchScript trace would hold, each with its module path, its name as fvcore writes it and
its priced count. Numbers and names only; :mod:`flowflops.fvcore` is the drop-in over it.

fvcore prices the aten ops of ``_DEFAULT_SUPPORTED_OPS`` (fvcore/nn/flop_count.py:26-44), skips
the ops of ``_IGNORED_OPS`` (fvcore/nn/jit_analysis.py:28-80) and lists every other op as
unsupported. flowflops' eager engine makes one or more records per layer call (a ``Linear`` is
a matmul and a bias add; OneFlow's ``LayerNorm`` runs as a mean, a variance, ...): the records of
one call of a hooked layer, or of the ops a norm layer runs, are one aten op here, named as
torch's trace names that layer (``nn.Linear`` -> ``aten::linear``, ``nn.MaxPool2d`` ->
``aten::max_pool2d``); a functional call's record is named after the function
(``Tensor.__add__`` -> ``aten::add``, ``F.relu`` -> ``aten::relu``). A record neither names is
``oneflow::<op type>``. The primitives OneFlow's ``F.linear`` runs (a ``matmul``, then an
in-place bias add) are one ``aten::linear``, and those of ``flow.addmm`` (``beta * x``, the
``matmul``, ``alpha *`` it, the add) one ``aten::addmm``, as torch traces them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ..conventions import FUNCTION_ATTR, INSIDE_ATTR, MODULE_ATTR, VIA_ATTR, base_type_name
from ..report import Aggregate
from ..records import AT, OpRecord

__all__ = ["SUPPORTED", "IGNORED", "AtenOp", "aten_ops", "op_count_name"]

#: fvcore's ``_DEFAULT_SUPPORTED_OPS`` (flop_count.py:26-44), by the name its count is kept
#: under: the handle's own key for conv (``conv_flop_jit`` returns ``{"conv": n}``), else the
#: op without ``aten::``
SUPPORTED = {
    "aten::addmm": "addmm", "aten::bmm": "bmm", "aten::_convolution": "conv", "aten::einsum": "einsum",
    "aten::matmul": "matmul", "aten::mm": "mm", "aten::linear": "linear", "aten::batch_norm": "batch_norm",
    "aten::group_norm": "group_norm", "aten::layer_norm": "layer_norm", "aten::instance_norm": "instance_norm",
    "aten::upsample_nearest2d": "upsample_nearest2d", "aten::upsample_bilinear2d": "upsample_bilinear2d",
    "aten::adaptive_avg_pool2d": "adaptive_avg_pool2d", "aten::grid_sampler": "grid_sampler",
}

#: fvcore's ``_IGNORED_OPS`` (jit_analysis.py:28-80): skipped, never listed as unsupported
IGNORED = frozenset("aten::" + n for n in (
    "Int", "ScalarImplicit", "__and__", "arange", "bitwise_not", "cat", "chunk", "clamp", "clamp_",
    "constant_pad_nd", "contiguous", "copy_", "detach", "dropout", "empty", "eq", "expand", "flatten",
    "floor", "floor_divide", "full", "full_like", "gather", "ge", "gt", "index", "index_put_", "masked_fill",
    "max", "narrow", "new_empty", "new_full", "new_zeros", "nonzero", "ones", "permute", "relu", "relu_",
    "remainder", "reshape", "select", "size", "slice", "split", "split_with_sizes", "squeeze", "stack", "t",
    "to", "transpose", "unsqueeze", "unsqueeze_", "view", "zeros", "zeros_like",
))

#: the aten op torch's trace records for one call of a OneFlow layer type (torch 2.x)
_LAYER_ATEN = {
    **{f"Conv{d}d": "_convolution" for d in (1, 2, 3)},
    **{f"ConvTranspose{d}d": "_convolution" for d in (1, 2, 3)},
    **{f"BatchNorm{d}d": "batch_norm" for d in (1, 2, 3)}, "SyncBatchNorm": "batch_norm",
    **{f"InstanceNorm{d}d": "instance_norm" for d in (1, 2, 3)},
    **{f"MaxPool{d}d": f"max_pool{d}d" for d in (1, 2, 3)},
    **{f"AvgPool{d}d": f"avg_pool{d}d" for d in (1, 2, 3)},
    **{f"AdaptiveAvgPool{d}d": f"adaptive_avg_pool{d}d" for d in (1, 2, 3)},
    **{f"AdaptiveMaxPool{d}d": f"adaptive_max_pool{d}d" for d in (1, 2, 3)},
    "Linear": "linear", "LayerNorm": "layer_norm", "GroupNorm": "group_norm", "ReLU": "relu",
    "ReLU6": "hardtanh", "Hardtanh": "hardtanh", "LeakyReLU": "leaky_relu", "ELU": "elu", "CELU": "celu",
    "SELU": "selu", "GELU": "gelu", "SiLU": "silu", "Mish": "mish", "Sigmoid": "sigmoid", "Tanh": "tanh",
    "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid", "PReLU": "prelu", "Softplus": "softplus",
    "Softmax": "softmax", "LogSoftmax": "log_softmax", "Dropout": "dropout", "Flatten": "flatten",
    "Embedding": "embedding", "ZeroPad2d": "constant_pad_nd", "ConstantPad2d": "constant_pad_nd",
    "PixelShuffle": "pixel_shuffle",
}

#: OneFlow op types named by the op itself, whatever made them
_OP_ATEN = {
    "upsample_nearest_2d": "upsample_nearest2d", "upsample_bilinear_2d": "upsample_bilinear2d",
    "normalization": "batch_norm", "layer_norm": "layer_norm", "group_norm": "group_norm",
    "conv1d": "_convolution", "conv2d": "_convolution", "conv3d": "_convolution",
    "deconv1d": "_convolution", "deconv2d": "_convolution", "deconv3d": "_convolution",
}

#: function names (OneFlow's, or a tensor operator's without its underscores) -> aten names
_FN_ATEN = {
    "truediv": "div", "floordiv": "floor_divide", "pow": "pow", "neg": "neg", "conv1d": "_convolution",
    "conv2d": "_convolution", "conv3d": "_convolution", "conv_transpose1d": "_convolution",
    "conv_transpose2d": "_convolution", "conv_transpose3d": "_convolution", "interpolate": "",
    "relu6": "hardtanh", "getitem": "slice", "batch_matmul": "bmm",  # flow.bmm is flow._C.batch_matmul
}

_NORMS = ("GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm")
_BINARY = ("add", "sub", "mul", "truediv", "floordiv", "matmul", "pow", "and", "or", "xor", "mod")


def _function_aten(fn: str) -> str:
    name = fn.split(".")[-1]
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        if name[:1] in ("i", "r") and name[1:] in _BINARY:
            inplace, name = name[0] == "i", name[1:]
            name = _FN_ATEN.get(name, name) + ("_" if inplace else "")
            return name
    return _FN_ATEN.get(name, name)


@dataclass
class AtenOp:
    """One aten op of fvcore's trace: its module path, its name (``aten::linear``), the
    records it stands for and their MACs under ``"fvcore"``."""

    module: str
    name: str
    records: List[OpRecord] = field(default_factory=list)
    macs: int = 0

    @property
    def inputs(self) -> List[Tuple[int, ...]]:
        """The input shapes as torch's op takes them: ``aten::addmm``'s are ``(x, mat1, mat2)``."""
        if not self.records:
            return []
        if self.name == "aten::addmm" and len(self.records) > 1:
            products = [r for r in self.records if r.op_type == "matmul"]
            if products:
                return [self.records[0].inputs[0], *products[0].inputs]
        return list(self.records[0].inputs)

    @property
    def outputs(self) -> List[Tuple[int, ...]]:
        return list(self.records[-1].outputs) if self.records else []


def _key_and_name(rec: OpRecord) -> Tuple[Optional[tuple], str]:
    """A key shared by the records of one layer call (None: the record is its own op) and the
    aten name of the op."""
    module = rec.attrs.get(MODULE_ATTR)
    if module is not None:  # made by a layer's hook: the layer's aten op
        name = _LAYER_ATEN.get(base_type_name(module) or "") or _OP_ATEN.get(rec.op_type)
        if name == "_convolution" and rec.attrs.get("string_padding"):
            name = "_convolution_mode"  # padding="same"/"valid": no fvcore handle
        return ("m", rec.module, module), ("aten::" + name) if name else f"oneflow::{rec.op_type}"
    inside = base_type_name(rec.attrs.get(INSIDE_ATTR))
    if inside in _NORMS:  # the ops OneFlow's Python norm layer runs: one aten norm op
        return ("n", rec.module, inside), "aten::" + _LAYER_ATEN[str(inside)]
    if rec.op_type in _OP_ATEN:
        mode = "_mode" if _OP_ATEN[rec.op_type] == "_convolution" and rec.attrs.get("string_padding") else ""
        return None, "aten::" + _OP_ATEN[rec.op_type] + mode
    via = rec.attrs.get(VIA_ATTR)
    if via:  # a primitive of F.linear (its matmul, its bias add) or flow.addmm: one aten op
        return ("c", rec.module, via, rec.attrs.get(AT)), "aten::" + str(via)
    fn = rec.attrs.get(FUNCTION_ATTR)
    if fn:
        name = _function_aten(str(fn))
        # the records of one call (x.mean(1): a reduce_sum, then a scalar_mul) share the key
        return ("f", rec.module, fn, rec.attrs.get(AT)), ("aten::" + name) if name else f"oneflow::{rec.op_type}"
    return None, f"oneflow::{rec.op_type}"


def aten_ops(report: Aggregate) -> List[AtenOp]:
    """The aten ops of ``report`` (an eager count under ``"fvcore"``), in the order they ran.
    Consecutive records of one layer call are one op (two calls of the same layer with nothing
    between them would read as one); so are consecutive records of one function call (the same
    function on the same line), a new call starting where the first record's op type recurs."""
    ops: List[AtenOp] = []
    last: Optional[tuple] = None
    for rec, cost in report.entries:
        key, name = _key_and_name(rec)
        macs = cost.macs if cost is not None else 0
        if key is not None and key[0] in ("f", "c") and key == last and rec.op_type == ops[-1].records[0].op_type:
            last = None  # the same function called again on the same line
        if key is not None and key == last:
            ops[-1].records.append(rec)
            ops[-1].macs += macs
        else:
            ops.append(AtenOp(rec.module, name, [rec], macs))
        last = key
    return ops


def op_count_name(name: str) -> str:
    """The name fvcore keeps an op's count under (``by_operator``): its handle's key."""
    return SUPPORTED.get(name, name.split("::", 1)[-1])
