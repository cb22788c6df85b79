"""The table from module types to the op records a call of that module stands for.

Each emitter turns ``(module, args, output)`` into the records OneFlow's graph shows for the
same layer (``nn.Conv2d`` -> ``conv2d`` + ``bias_add``, ``nn.Linear`` -> ``matmul`` +
``broadcast_add``, ...), so the registry prices eager and graph calls alike. Emitters compute
nothing themselves. Subclasses of a listed type use its emitter.
"""
from __future__ import annotations

from typing import Any, Callable, Collection, Dict, List, Mapping, Optional, Sequence, Tuple

import oneflow as flow
import oneflow.nn as nn

from ..records import ITEMSIZE, OpRecord, Shape, numel

__all__ = [
    "Emitter", "EMITTERS", "emits", "emitter_for", "forward_differs", "shape_of", "record", "op_record", "itemsize_of",
    "first_tensor", "conv", "conv_transpose", "linear", "batch_norm", "stats_norm_records", "instance_norm",
    "group_norm", "prelu", "embedding", "upsample", "recurrent", "recurrent_cell"
]

Emitter = Callable[[nn.Module, tuple, Any], List[OpRecord]]
EMITTERS: Dict[type, Emitter] = {}


def emits(*module_types: type) -> Callable[[Emitter], Emitter]:
    """Decorator: use ``fn`` as the emitter of each of ``module_types``."""

    def deco(fn: Emitter) -> Emitter:
        for t in module_types:
            EMITTERS[t] = fn
        return fn

    return deco


def emitter_for(module: nn.Module, table: Optional[Dict[type, Emitter]] = None) -> Optional[Emitter]:
    """The emitter of ``module``'s type or of its nearest listed base class."""
    table = EMITTERS if table is None else table
    for cls in type(module).__mro__:
        if cls in table:
            return table[cls]
    return None


def forward_differs(module: nn.Module, bases: Collection[type]) -> bool:
    """True when ``module`` is an instance of a subclass of one of ``bases`` (the nearest in its
    MRO) whose ``forward`` is not that base's: the subclass computes something else
    (timm's ``BatchNormAct2d`` is a BatchNorm plus an activation; a ``Conv2dSame`` pads
    first), so it must not be priced as the base."""
    for cls in type(module).__mro__:
        if cls in bases:
            return getattr(type(module), "forward", None) is not getattr(cls, "forward", None)
    return False


def shape_of(t: Any) -> Shape:
    """A tensor's shape as a tuple of ints."""
    shape = t.shape
    if type(shape) is flow.Size:  # a tuple of ints already
        return tuple(shape)
    return tuple(int(d) for d in shape)


def op_record(op_type: str, module: str, inputs: Tuple[Shape, ...], outputs: Tuple[Shape, ...],
              attrs: Mapping[str, Any], name: str = "") -> OpRecord:
    """``OpRecord(op_type, module, inputs, outputs, attrs, name)``, its fields written
    straight into its ``__dict__``, in the same order: an equal record at a third of the cost
    (a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``), for the
    records made inside an eager forward."""
    rec = _new(OpRecord)
    rec.__dict__.update(op_type=op_type, module=module, inputs=inputs, outputs=outputs, attrs=attrs, name=name)
    return rec


_new = object.__new__


def record(op_type: str, inputs: Sequence[Shape], outputs: Sequence[Shape], **attrs: Any) -> OpRecord:
    """A record without its module path (the engine fills that in)."""
    return op_record(op_type, "", tuple(inputs), tuple(outputs), attrs)


_ITEMSIZE_OF: Dict[Any, int] = {}  # dtype -> its bytes per element, as worked out below


def itemsize_of(t: Any) -> int:
    """Bytes per element of a tensor (4 when its dtype is not known)."""
    dtype = getattr(t, "dtype", "")
    try:
        return _ITEMSIZE_OF[dtype]
    except (KeyError, TypeError):  # TypeError: an unhashable dtype attribute
        size = ITEMSIZE.get(str(dtype).replace("oneflow.", ""), 4)
        if isinstance(dtype, flow.dtype):
            _ITEMSIZE_OF[dtype] = size
        return size


def first_tensor(out: Any) -> Any:
    """The first leaf of a (nested) tuple or list output; the output itself otherwise."""
    while isinstance(out, (tuple, list)) and out:
        out = out[0]
    return out


# -- convolutions ---------------------------------------------------------------------------

def _conv_records(kind: str, m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    """``conv{n}d`` / ``deconv{n}d`` (``kind`` the prefix, ``n`` from the weight's rank) and
    ``bias_add``; ``m.weight`` and ``m.bias`` are read once each."""
    x, y, w = shape_of(args[0]), shape_of(out), shape_of(m.weight)
    # padding="same"/"valid": torch traces it as aten::_convolution_mode (fvcore reads that).
    # OneFlow 0.9's layers keep such a padding as the list get_padding() makes, a number as a tuple
    mode = {"string_padding": True} if isinstance(getattr(m, "padding", None), (str, list)) else {}
    recs = [record(f"{kind}{len(w) - 2}d", [x, w], [y], groups=m.groups, _params=(1,), **mode)]
    bias = m.bias
    if bias is not None:
        recs.append(record("bias_add", [y, shape_of(bias)], [y], _params=(1,)))
    return recs


@emits(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def conv(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    return _conv_records("conv", m, args, out)


@emits(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def conv_transpose(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    return _conv_records("deconv", m, args, out)


# -- linear ---------------------------------------------------------------------------------

@emits(nn.Linear)
def linear(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    x, y = shape_of(args[0]), shape_of(out)
    op = "matmul" if len(x) == 2 else "broadcast_matmul"
    recs = [record(op, [x, shape_of(m.weight)], [y], transpose_a=False, transpose_b=True, _params=(1,))]
    bias = m.bias
    if bias is not None:  # ``contiguous=False``: torch runs such an N-d input as mm + add
        extra = {} if args[0].is_contiguous() else {"contiguous": False}
        recs.append(record("broadcast_add", [y, shape_of(bias)], [y], _params=(1,), **extra))
    return recs


# -- normalisation --------------------------------------------------------------------------

@emits(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def batch_norm(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    """``normalization``; ``training`` when the call computes batch statistics (a module in
    training mode, or one without running statistics, which always does)."""
    x, c = shape_of(args[0]), (m.num_features,)
    training = bool(m.training or getattr(m, "running_mean", None) is None)
    return [record("normalization", [x, c, c, c, c], [shape_of(out)], affine=bool(m.affine),
                   training=training, _params=(1, 2, 3, 4))]


def stats_norm_records(
    x: Shape, stats: Shape, rsqrt: bool, affine_shape: Optional[Shape], weight: bool, bias: bool
) -> List[OpRecord]:
    """The ops OneFlow's CPU code runs for a normalisation with computed statistics
    (LayerNorm, GroupNorm, InstanceNorm): mean (``reduce_sum`` + ``scalar_mul``), ``var``,
    ``x - mean``, ``var + eps``, ``rsqrt`` (or ``sqrt`` then divide), then the optional
    elementwise affine. ``x`` is the shape normalised over its trailing axes, ``stats`` the shape
    of the statistics, ``affine_shape`` the shape the affine applies to (``x`` if None)."""
    recs = [
        record("reduce_sum", [x], [stats]),
        record("scalar_mul", [stats], [stats]),
        record("var", [x], [stats]),
        record("broadcast_sub", [x, stats], [x]),
        record("scalar_add", [stats], [stats]),
        record("rsqrt" if rsqrt else "sqrt", [stats], [stats]),
        record("broadcast_mul" if rsqrt else "broadcast_div", [x, stats], [x]),
    ]
    a = affine_shape or x
    if weight:
        recs.append(record("broadcast_mul", [a], [a]))
    if bias:
        recs.append(record("broadcast_add", [a], [a]))
    return recs


@emits(nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)
def instance_norm(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    x = shape_of(args[0])
    x3 = (x[0], x[1], numel(x[2:]))
    return stats_norm_records(x3, (x[0], x[1], 1), False, None, m.weight is not None, m.bias is not None)


@emits(nn.GroupNorm)
def group_norm(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    x = shape_of(args[0])
    g = m.num_groups
    x3 = (x[0], g, numel(x[1:]) // g)
    affine = (x[0], x[1], numel(x[2:]))
    return stats_norm_records(x3, (x[0], g, 1), False, affine, m.affine, m.affine)


# -- activations ----------------------------------------------------------------------------

def _unary(op_type: str) -> Emitter:
    def emit(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
        y = shape_of(first_tensor(out))
        return [record(op_type, [y], [y])]

    emit.__name__ = op_type
    return emit


for _cls, _op in (
    (nn.ReLU, "relu"), (nn.ReLU6, "hardtanh"), (nn.LeakyReLU, "leaky_relu"), (nn.ELU, "elu"),
    (nn.GELU, "gelu"), (nn.Hardtanh, "hardtanh"),
):
    EMITTERS[_cls] = _unary(_op)


@emits(nn.PReLU)
def prelu(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    y = shape_of(out)
    return [record("prelu", [y, shape_of(m.weight)], [y], _params=(1,))]


# -- lookups ----------------------------------------------------------------------------------

@emits(nn.Embedding)
def embedding(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    """The graph's ``gather(weight, indices)``: no arithmetic, but it moves the rows it picks."""
    idx = args[0]
    return [record("gather", [shape_of(m.weight), shape_of(idx)], [shape_of(out)], axis=0, _params=(0,),
                   _in_itemsizes=(itemsize_of(m.weight), itemsize_of(idx)), _out_itemsizes=(itemsize_of(out),))]


# -- pooling and resampling -----------------------------------------------------------------

def _pool(op_type: str) -> Emitter:
    def emit(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
        return [record(op_type, [shape_of(args[0])], [shape_of(first_tensor(out))])]

    emit.__name__ = op_type
    return emit


for _n in (1, 2, 3):
    EMITTERS[getattr(nn, f"MaxPool{_n}d")] = _pool(f"max_pool_{_n}d")
    EMITTERS[getattr(nn, f"AvgPool{_n}d")] = _pool(f"avg_pool_{_n}d")
    EMITTERS[getattr(nn, f"AdaptiveAvgPool{_n}d")] = _pool(f"adaptive_avg_pool{_n}d")
    EMITTERS[getattr(nn, f"AdaptiveMaxPool{_n}d")] = _pool(f"adaptive_max_pool{_n}d")

_UPSAMPLE_OPS = {
    ("nearest", 3): "upsample_nearest_1d", ("nearest", 4): "upsample_nearest_2d",
    ("nearest", 5): "upsample_nearest_3d", ("linear", 3): "upsample_linear_1d",
    ("bilinear", 4): "upsample_bilinear_2d", ("bicubic", 4): "upsample_bicubic_2d",
    ("trilinear", 5): "upsample_trilinear_3d",
}


@emits(nn.Upsample)
def upsample(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    x, y = shape_of(args[0]), shape_of(out)
    op = _UPSAMPLE_OPS.get((m.mode, len(y)), f"upsample_{m.mode}_{len(y) - 2}d")
    return [record(op, [x], [y])]


# -- recurrent ------------------------------------------------------------------------------

_CELL_OPS = {"RNN_TANH": "rnn_tanh_cell", "RNN_RELU": "rnn_relu_cell", "GRU": "gru_cell", "LSTM": "lstm_cell"}


def _cell_op(m: nn.Module) -> str:
    if isinstance(m, (nn.LSTM, nn.LSTMCell)):
        return "lstm_cell"
    if isinstance(m, (nn.GRU, nn.GRUCell)):
        return "gru_cell"
    mode = getattr(m, "mode", None) or ("RNN_RELU" if getattr(m, "nonlinearity", "tanh") == "relu" else "RNN_TANH")
    return _CELL_OPS.get(mode, "rnn_tanh_cell")


@emits(nn.RNN, nn.GRU, nn.LSTM)
def recurrent(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    """One record per layer and direction; each covers every time step."""
    x = shape_of(args[0])
    if len(x) == 2:  # unbatched (T, I)
        steps, batch = x[0], 1
    elif m.batch_first:
        batch, steps = x[0], x[1]
    else:
        steps, batch = x[0], x[1]
    dirs = 2 if m.bidirectional else 1
    hidden = m.hidden_size
    proj = int(getattr(m, "proj_size", 0) or 0)  # LSTM with projections: h has proj_size
    extra = {"proj_size": proj} if proj else {}
    recs = []
    for layer in range(m.num_layers):
        in_size = m.input_size if layer == 0 else (proj or hidden) * dirs
        for _ in range(dirs):
            recs.append(record(_cell_op(m), [(batch, in_size), (batch, hidden)], [(batch, proj or hidden)],
                             steps=steps, bias=bool(m.bias), **extra))
    return recs


@emits(nn.RNNCell, nn.GRUCell, nn.LSTMCell)
def recurrent_cell(m: nn.Module, args: tuple, out: Any) -> List[OpRecord]:
    x = shape_of(args[0])
    batch = x[0] if len(x) == 2 else 1
    return [record(_cell_op(m), [(batch, m.input_size), (batch, m.hidden_size)],
                 [(batch, m.hidden_size)], steps=1, bias=bool(m.bias))]
