"""The op tables of ``count_functional``: which oneflow callables are priced, and as what.

Each priced entry maps a callable's name (the attribute patched in ``flow._C`` / ``flow`` /
``flow.nn.functional``, or on ``flow.Tensor``) to an *emitter*: a function of
``(args, kwargs, output)`` that returns the op records OneFlow's graph shows for that call
(checked by compiling each call with ``nn.Graph``: ``1 - x`` is ``scalar_mul`` + ``scalar_add``,
``2.0 / x`` is ``reciprocal`` + ``scalar_mul``, a mean over a length-1 axis is a lone
``reduce_sum``). Emitters compute nothing; the registry prices the records. The patching
mechanism lives in :mod:`flowflops.eager.functional`.

Every callable of ``flow._C``, ``flow``, ``flow.nn.functional`` and ``flow.Tensor`` falls in one
class (:func:`classify`):

- ``priced``: in :data:`FUNCTIONALS` / :data:`TENSOR_METHODS` with an emitter;
- ``zero``: does no arithmetic (views, moves, copies, casts, creation, random draws, indexing
  and selection): :data:`ZERO_COST`;
- ``not computing``: not a tensor op at all (settings, dtype info, I/O, data loaders, optimizer
  dispatch, conversions to Python values): :data:`NOT_COMPUTING`;
- ``composite``: a Python function that decomposes into the primitives above (``F.linear``,
  ``flow.einsum``...): left unpatched, its primitives are priced;
- ``reported``: anything else. It is patched with an emitter that records the call under
  ``oneflow.<name>``, an op type with no formula, so it is listed in ``report.unsupported``
  instead of silently costing nothing.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

import oneflow as flow
import oneflow.nn.functional as F

from ..records import OpRecord, Shape, numel
from .layers import first_tensor, record, shape_of

__all__ = [
    "Emit", "unary", "binary", "reversed_binary", "compare", "extremum", "max_min", "clamp", "clamp_min", "clamp_max",
    "gelu_approximate", "addc", "logaddexp", "reduction", "std", "logsumexp", "norm", "vector_norm", "matrix_norm",
    "div_in_place", "matmul", "baddbmm", "contraction", "einsum", "tensordot", "conv", "repeat_interleave",
    "normalization", "layer_norm", "rms_norm", "group_norm", "torch_group_norm", "l2_normalize", "glu", "fused",
    "reported", "UNARY_OPS", "FUNCTIONALS", "ZERO_COST", "NOT_COMPUTING", "TENSOR_METHODS", "classify", "namespaces",
    "callable_names", "emitter", "patch_targets", "captured_targets"
]

Emit = Callable[[tuple, dict, Any], List[OpRecord]]


def _is_tensor(x: Any) -> bool:
    return isinstance(x, flow.Tensor)


def _arg(args: tuple, kwargs: dict, i: int, *names: str, default: Any = None) -> Any:
    """Argument ``i`` of a call, given positionally or under one of ``names``."""
    if len(args) > i:
        return args[i]
    for n in names:
        if n in kwargs:
            return kwargs[n]
    return default


def _out(out: Any) -> Shape:
    return shape_of(first_tensor(out))


def _in(args: tuple, kwargs: dict, out: Any) -> Shape:
    x = _arg(args, kwargs, 0, "input", "x", "self")
    return shape_of(x) if _is_tensor(x) else _out(out)


# -- elementwise ---------------------------------------------------------------------------

def unary(op: str) -> Emit:
    """One graph op from the first argument's shape to the output's: activations, elementwise
    math, softmax, pooling, upsampling, ``F.fold`` / ``F.unfold`` (col2im / im2col)."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        y = _out(out)
        return [record(op, [_in(args, kwargs, out)], [y])]

    return emit


def binary(kind: str) -> Emit:
    """``add/sub/mul/div/pow/fmod/floordiv`` of two tensors (``broadcast_<kind>``; an add of two
    same-shape tensors is the graph's ``add_n``) or of a tensor and a scalar (``scalar_<kind>``;
    ``x - c`` is the graph's ``scalar_add`` of ``-c``). With the scalar on the left the graph
    runs other ops: see :func:`_reversed_scalar`."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        a = _arg(args, kwargs, 0, "input", "x")
        b = _arg(args, kwargs, 1, "other", "exponent", "y")
        y = _out(out)
        if _is_tensor(a) and _is_tensor(b):
            if kind == "add" and shape_of(a) == shape_of(b) == y:
                return [record("add_n", [y, y], [y])]
            same = kind in ("floordiv", "truncdiv") and shape_of(a) == shape_of(b)
            name = kind if same else f"broadcast_{kind}"
            return [record(name, [shape_of(a), shape_of(b)], [y])]
        if not _is_tensor(a) and _is_tensor(b):
            return _reversed_scalar(kind, y)
        return [record("scalar_add" if kind == "sub" else f"scalar_{kind}", [y], [y])]

    return emit


def div(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``div``; with ``rounding_mode="floor"``/``"trunc"`` (PyTorch's, which
    flowflops.torch_models' stand-in takes) the graph runs oneflow's ``floordiv``/``truncdiv``
    on the two tensors expanded to the output's shape, or ``scalar_floordiv``/``scalar_truncdiv``
    with a number on the right: one op per output element, as the plain division."""
    mode = kwargs.get("rounding_mode")
    if mode not in ("floor", "trunc"):
        return _plain_div(args, kwargs, out)
    kind = "floordiv" if mode == "floor" else "truncdiv"
    y = _out(out)
    if _is_tensor(_arg(args, kwargs, 1, "other", "y")):
        return [record(kind, [y, y], [y])]
    return [record(f"scalar_{kind}", [y], [y])]


_plain_div = binary("div")


def div_in_place(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``x /= c`` and ``x.div_(c)`` by a number: OneFlow multiplies in place by ``1 / c``
    (``nn.Graph`` compiles a ``scalar_mul``; ``x / c`` is a ``scalar_div``): one op per element
    either way. By a tensor, or with a ``rounding_mode``: as :func:`div`."""
    if kwargs.get("rounding_mode") is None and not _is_tensor(_arg(args, kwargs, 1, "other", "y")):
        y = _out(out)
        return [record("scalar_mul", [y], [y])]
    return div(args, kwargs, out)


def _reversed_scalar(kind: str, y: Shape) -> List[OpRecord]:
    """``c - x`` is ``scalar_mul(x, -1)`` then ``scalar_add(c)``; ``c / x`` is ``reciprocal``
    then ``scalar_mul(c)``; ``c ** x`` is ``scalar_reverse_pow``; ``c + x`` and ``c * x`` are
    the plain scalar ops (what ``nn.Graph`` compiles each to, and what eager runs)."""
    if kind == "sub":
        return [record("scalar_mul", [y], [y]), record("scalar_add", [y], [y])]
    if kind == "div":
        return [record("reciprocal", [y], [y]), record("scalar_mul", [y], [y])]
    if kind == "pow":
        return [record("scalar_reverse_pow", [y], [y])]
    if kind in ("fmod", "floordiv"):
        return [record(f"broadcast_{kind}", [y, y], [y])]
    return [record(f"scalar_{kind}", [y], [y])]


def reversed_binary(kind: str) -> Emit:
    """``scalar - x``, ``scalar / x``, ``scalar ** x`` (``x.__rsub__(scalar)``...)."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        other = args[1] if len(args) > 1 else None
        if _is_tensor(other):
            return binary(kind)((other, args[0]), {}, out)
        return _reversed_scalar(kind, _out(out))

    return emit


def compare(kind: str) -> Emit:
    """A comparison or logical op: ``scalar_logical_<kind>`` against a scalar,
    ``broadcast_<kind>`` (``broadcast_logical_<kind>`` for and/or/xor) between tensors."""
    logical = kind in ("and", "or", "xor")

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        a = _arg(args, kwargs, 0, "input")
        b = _arg(args, kwargs, 1, "other")
        y = _out(out)
        if _is_tensor(a) and _is_tensor(b):
            name = f"broadcast_logical_{kind}" if logical else f"broadcast_{kind}"
            return [record(name, [shape_of(a), shape_of(b)], [y])]
        return [record(f"scalar_logical_{kind}", [y], [y])]

    return emit


def extremum(kind: str) -> Emit:
    """``maximum``/``minimum`` of two tensors (``elementwise_<kind>`` for equal shapes,
    ``broadcast_<kind>`` otherwise)."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        a, b, y = shape_of(args[0]), shape_of(args[1]), _out(out)
        name = f"elementwise_{kind}" if a == b else f"broadcast_{kind}"
        return [record(name, [a, b], [y])]

    return emit


def max_min(kind: str) -> Emit:
    """``flow.max(x)``: ``reduce_<kind>``; ``flow.max(x, dim)``: ``reduce_<kind>`` + ``arg<kind>``;
    ``flow.max(x, y)``: ``elementwise_maximum``."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        other = _arg(args, kwargs, 1, "other", "dim")
        if _is_tensor(other):
            return extremum("maximum" if kind == "max" else "minimum")(args[:2], {}, out)
        x, y = shape_of(args[0]), _out(out)
        recs = [record(f"reduce_{kind}", [x], [y])]
        if other is not None:
            recs.append(record(f"arg{kind}", [x], [y]))
        return recs

    return emit


def clamp(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``clip_by_scalar`` with both bounds, ``clip_by_scalar_min``/``_max`` with one."""
    lo = _arg(args, kwargs, 1, "min")
    hi = _arg(args, kwargs, 2, "max")
    y = _out(out)
    op = "clip_by_scalar" if lo is not None and hi is not None else (
        "clip_by_scalar_min" if lo is not None else "clip_by_scalar_max")
    return [record(op, [y], [y])]


def clamp_min(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    y = _out(out)
    return [record("clip_by_scalar_min", [y], [y])]


def clamp_max(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    y = _out(out)
    return [record("clip_by_scalar_max", [y], [y])]


def gelu_approximate(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``approximate="tanh"`` compiles to ``fast_gelu``, ``"none"`` to ``gelu``."""
    approx = _arg(args, kwargs, 1, "approximate", default="none")
    return unary("fast_gelu" if approx == "tanh" else "gelu")(args, kwargs, out)


def addc(kind: str) -> Emit:
    """``addcmul/addcdiv(input, t1, t2, value)``: ``broadcast_<kind>`` of t1 and t2,
    ``scalar_mul`` by value, then an add with input (the graph's ops)."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        x, t1, t2, y = shape_of(args[0]), shape_of(args[1]), shape_of(args[2]), _out(out)
        prod = tuple(max(a, b) for a, b in zip(t1, t2)) if len(t1) == len(t2) else y
        add = record("add_n", [y, y], [y]) if x == prod == y else record("broadcast_add", [x, prod], [y])
        return [record(f"broadcast_{kind}", [t1, t2], [prod]), record("scalar_mul", [prod], [prod]), add]

    return emit


def logaddexp(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``max(a, b) + log(1 + exp(-|a - b|))``: maximum, sub, abs, negative, exp, add, log, add."""
    a, b, y = shape_of(args[0]), shape_of(args[1]), _out(out)
    recs = [record("elementwise_maximum" if a == b else "broadcast_maximum", [a, b], [y]),
            record("broadcast_sub", [a, b], [y])]
    recs += [record(op, [y], [y]) for op in ("abs", "negative", "exp", "scalar_add", "log")]
    return recs + [record("add_n", [y, y], [y])]


# -- reductions ----------------------------------------------------------------------------

def reduction(op: str, mean: bool = False) -> Emit:
    """A reduction reads every input element once; a mean adds a ``scalar_mul`` per output
    element (the graph's ``reduce_sum`` + ``scalar_mul``), except where nothing was reduced
    (a mean over length-1 axes compiles to the lone ``reduce_sum``)."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        x, y = shape_of(args[0]), _out(out)
        recs = [record(op, [x], [y])]
        if mean and numel(x) != numel(y):
            recs.append(record("scalar_mul", [y], [y]))
        return recs

    return emit


def std(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``std`` as OneFlow's functor runs it: ``square`` and two ``reduce_sum`` over the input,
    then per output element ``scalar_div`` x2, ``square``, ``broadcast_sub``, ``scalar_mul``
    (Bessel's factor) and ``sqrt``."""
    x, y = shape_of(args[0]), _out(out)
    recs = [record("square", [x], [x]), record("reduce_sum", [x], [y]), record("reduce_sum", [x], [y])]
    recs += [record(op, [y], [y]) for op in ("scalar_div", "scalar_div", "square", "broadcast_sub",
                                              "scalar_mul", "sqrt")]
    return recs


def logsumexp(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``reduce_max``; per output ``abs``, ``scalar_logical_equal``, ``masked_fill``; per input
    ``broadcast_sub``, ``exp``, ``reduce_sum``; per output ``log`` and the ``add_n``."""
    x, y = shape_of(args[0]), _out(out)
    recs = [record("reduce_max", [x], [y]), record("abs", [y], [y]),
            record("scalar_logical_equal", [y], [y]), record("masked_fill", [y, y], [y])]
    recs += [record("broadcast_sub", [x, y], [x]), record("exp", [x], [x]), record("reduce_sum", [x], [y])]
    return recs + [record("log", [y], [y]), record("add_n", [y, y], [y])]


def _dims(dim: Any, ndim: int) -> Optional[List[int]]:
    if dim is None:
        return None
    dims = [int(dim)] if isinstance(dim, int) else [int(d) for d in dim]
    return [d + ndim if d < 0 else d for d in dims]


def _reduced(x: Shape, dims: List[int], keepdim: bool) -> Shape:
    return tuple((1 if i in dims else d) for i, d in enumerate(x) if keepdim or i not in dims)


def _vector_norm(x: Shape, ord: Any, dims: Optional[List[int]], keepdim: bool, grad: bool,
                 y: Shape) -> List[OpRecord]:
    """OneFlow 0.9's ``VectorNormFunctor``: ``ord`` 0 counts the non-zeros (a mask, then a
    ``reduce_sum``); +-inf is ``abs`` then ``reduce_max``/``reduce_min``; 2 over every axis in
    order, without keepdim, of a tensor that does not require grad is the fused
    ``sqrt_square_sum``; any other order ``abs``, ``scalar_pow`` (ord), ``reduce_sum`` and
    ``scalar_pow`` (1/ord) of the result."""
    full = dims is None or (dims == list(range(len(dims))) and len(dims) >= len(x))
    o = float(ord)
    if o == 0:
        return [record("not_equal_zero", [x], [x]), record("reduce_sum", [x], [y])]
    if o in (float("inf"), float("-inf")):
        return [record("abs", [x], [x]), record("reduce_max" if o > 0 else "reduce_min", [x], [y])]
    if o == 2.0 and not keepdim and full and not grad:
        return [record("sqrt_square_sum", [x], [y])]
    return _pow_norm(x, y)


def _pow_norm(x: Shape, y: Shape) -> List[OpRecord]:
    return [record("abs", [x], [x]), record("scalar_pow", [x], [x]), record("reduce_sum", [x], [y]),
            record("scalar_pow", [y], [y])]


def _matrix_norm(x: Shape, ord: Any, dims: List[int], keepdim: bool, y: Shape) -> List[OpRecord]:
    """OneFlow 0.9's ``MatrixNormFunctor`` ('fro': ``square``, ``reduce_sum``, ``sqrt``) and
    ``ScalarMatrixNormFunctor`` (+-1, +-inf: ``abs``, a ``reduce_sum`` over one axis, then a
    ``reduce_max``/``reduce_min`` over the other)."""
    if isinstance(ord, str):
        if ord != "fro":
            return [record("oneflow.norm", [x], [y])]
        return [record("square", [x], [x]), record("reduce_sum", [x], [y]), record("sqrt", [y], [y])]
    o = float(ord)
    if o not in (1.0, -1.0, float("inf"), float("-inf")):
        return [record("oneflow.norm", [x], [y])]
    first = dims[1] if abs(o) == float("inf") else dims[0]
    mid = _reduced(x, [first], keepdim)
    return [record("abs", [x], [x]), record("reduce_sum", [x], [mid]),
            record("reduce_max" if o > 0 else "reduce_min", [mid], [y])]


def norm(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``flow._C.norm`` / ``vector_norm`` (``Tensor.norm``, ``flow.norm``, ``flow.linalg.*``):
    the ops of OneFlow 0.9's ``NormFunctor`` (oneflow/core/functional/impl/math_functor.cpp),
    which eager and ``nn.Graph`` run alike. One axis: the vector norm (order 2 by default);
    two: the matrix norm ('fro' by default); no axis: with an order of magnitude >= 2 from
    ``Tensor.norm``/``flow.norm`` (``for_norm``) the ``abs``/``scalar_pow``/``reduce_sum``/
    ``scalar_pow`` chain, else the vector norm of a 1-d tensor or the matrix norm of a 2-d one;
    no order and no axis: the 2-norm of everything (``sqrt_square_sum``)."""
    t = _arg(args, kwargs, 0, "input", "x", "self")
    p = _arg(args, kwargs, 1, "ord", "p")
    x, y = shape_of(t), _out(out)
    dims = _dims(_arg(args, kwargs, 2, "dim"), len(x))
    keepdim = bool(_arg(args, kwargs, 3, "keepdim", "keepdims", default=False))
    grad = bool(getattr(t, "requires_grad", False))
    if isinstance(p, str):
        return _matrix_norm(x, p, dims if dims is not None else list(range(len(x))), keepdim, y)
    if dims is not None:
        if len(dims) == 1:
            return _vector_norm(x, 2.0 if p is None else p, dims, keepdim, grad, y)
        return _matrix_norm(x, "fro" if p is None else p, dims, keepdim, y)
    if p is None:
        return _vector_norm(x, 2.0, None, keepdim, grad, y)
    if kwargs.get("for_norm") and isinstance(p, int) and abs(p) >= 2:
        return _pow_norm(x, y)
    if len(x) == 1:
        return _vector_norm(x, p, None, keepdim, grad, y)
    return _matrix_norm(x, p, [0, 1], keepdim, y)


def vector_norm(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``flow._C.vector_norm(x, ord=2, dim=None, keepdim=False)``: :func:`_vector_norm`."""
    t = _arg(args, kwargs, 0, "input", "x")
    x = shape_of(t)
    return _vector_norm(x, _arg(args, kwargs, 1, "ord", default=2.0), _dims(_arg(args, kwargs, 2, "dim"), len(x)),
                        bool(_arg(args, kwargs, 3, "keepdim", default=False)),
                        bool(getattr(t, "requires_grad", False)), _out(out))


def matrix_norm(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``flow._C.matrix_norm(x, ord='fro', dim=(-2, -1), keepdim=False)``: :func:`_matrix_norm`."""
    x = shape_of(_arg(args, kwargs, 0, "input", "x"))
    dims = _dims(_arg(args, kwargs, 2, "dim", default=(-2, -1)), len(x)) or [len(x) - 2, len(x) - 1]
    return _matrix_norm(x, _arg(args, kwargs, 1, "ord", default="fro"), dims,
                        bool(_arg(args, kwargs, 3, "keepdim", default=False)), _out(out))


# -- products ------------------------------------------------------------------------------

def matmul(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``matmul`` (2-d), ``batch_matmul`` (same batch dims), ``broadcast_matmul``, or with a
    1-d operand ``matrix_vector_product`` / ``vector_matrix_product`` / ``dot``."""
    a, b, y = shape_of(args[0]), shape_of(args[1]), _out(out)
    ta = bool(kwargs.get("transpose_a", args[2] if len(args) > 2 else False))
    if len(a) == 1 and len(b) == 1:
        return [record("dot", [a, b], [y])]
    if len(b) == 1:
        return [record("matrix_vector_product", [a, b], [y])]
    if len(a) == 1:
        return [record("vector_matrix_product", [a, b], [y])]
    if len(a) == 2 and len(b) == 2:
        op = "matmul"
    elif len(a) == len(b) and len(a) >= 3 and a[:-2] == b[:-2]:
        op = "batch_matmul"
    else:
        op = "broadcast_matmul"
    return [record(op, [a, b], [y], transpose_a=ta)]


def baddbmm(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``beta * input + alpha * (b1 @ b2)``: ``batch_matmul`` (alpha is its attribute),
    ``scalar_mul`` of input by beta, and the add."""
    x, b1, b2, y = shape_of(args[0]), shape_of(args[1]), shape_of(args[2]), _out(out)
    add = record("add_n", [y, y], [y]) if x == y else record("broadcast_add", [x, y], [y])
    return [record("batch_matmul", [b1, b2], [y], transpose_a=False), record("scalar_mul", [x], [x]), add]


def cross_entropy(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``cross_entropy(input, target)`` with class-index targets, no class weights and no label
    smoothing, as OneFlow's functor compiles it: ``log_softmax`` over the input (the class axis
    moved last: ``(n, C)`` rows, ``n`` = elements / ``C``), ``nll`` of the ``n`` rows (outputs: the
    losses and their weights), then for ``reduction="sum"`` a ``reduce_sum`` of the losses, for
    ``"mean"`` a ``reduce_sum`` of the losses and one of the weights and their ``broadcast_div``.
    Another form (weights, smoothing, probability targets) is recorded without a formula."""
    x, target = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "target")
    weight = _arg(args, kwargs, 2, "weight")
    reduction = _arg(args, kwargs, 4, "reduction", default="mean")
    smoothing = _arg(args, kwargs, 5, "label_smoothing", default=0.0)
    if (not _is_tensor(x) or not _is_tensor(target) or target.dtype.is_floating_point or weight is not None
            or smoothing or reduction not in ("none", "sum", "mean") or len(shape_of(x)) < 2):
        return reported("cross_entropy")(args, kwargs, out)
    shape = shape_of(x)
    c = shape[1]
    n = numel(shape) // c if c else 0
    rows, losses = (n, c), (n,)
    recs = [record("log_softmax", [rows], [rows]), record("nll", [rows, losses], [losses, losses])]
    if reduction == "sum":
        recs.append(record("reduce_sum", [losses], [()]))
    elif reduction == "mean":
        recs += [record("reduce_sum", [losses], [()]), record("reduce_sum", [losses], [()]),
                 record("broadcast_div", [(), ()], [()])]
    return recs


def contraction(op_name: str, out: Any, k: int) -> List[OpRecord]:
    """A contraction of ``k`` products per output element, as the ``matmul`` the graph runs
    for it: ``(n_out, k) @ (k, 1)``."""
    n = numel(_out(out))
    return [record(op_name, [(1, n, k), (1, k, 1)], [(1, n, 1)], transpose_a=False)]


def _without_ellipsis(specs: List[str], rhs: str, ndims: List[int], eq: str) -> Tuple[List[str], str]:
    """The einsum subscripts with each ``...`` written out as letters the equation does not use:
    an operand's ``...`` stands for its leading dimensions, aligned from the right across the
    operands (LongT5's ``"...qhd,...khd->...hqk"``); ``([], rhs)`` for a form this does not read."""
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in eq]
    widths = []
    for spec, n in zip(specs, ndims):
        if spec.count("...") > 1 or spec.replace("...", "").count(".") or ("..." in spec and n < len(spec) - 3):
            return [], rhs
        widths.append(n - (len(spec) - 3) if "..." in spec else 0)
    width = max(widths)
    if width > len(spare) or rhs.replace("...", "").count("."):
        return [], rhs
    letters = "".join(spare[:width])
    return [spec.replace("...", letters[width - w:]) for spec, w in zip(specs, widths)], rhs.replace("...", letters)


def einsum(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """Two operands: ``batch_matmul`` with ``k`` = the product of the summed-out indices'
    sizes; with no index summed out (an outer or elementwise product, ``i,j->ij``), or only
    indices of length 1, the ``broadcast_mul`` OneFlow runs instead (one multiply per output
    element, nothing accumulated); one operand: a ``reduce_sum`` of it."""
    eq = str(args[0]).replace(" ", "")
    rest = args[1:]
    if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
        rest = tuple(rest[0])
    ops = [a for a in rest if _is_tensor(a)]
    if len(ops) == 1 and "->" in eq:
        return [record("reduce_sum", [shape_of(ops[0])], [_out(out)])]
    if len(ops) != 2 or "->" not in eq:
        return [record("oneflow.einsum", [shape_of(t) for t in ops], [_out(out)])]
    lhs, rhs = eq.split("->")
    specs = lhs.split(",")
    if "." in eq:  # "...": the leading dimensions each operand does not name, aligned from the right
        specs, rhs = _without_ellipsis(specs, rhs, [len(shape_of(t)) for t in ops], eq)
        if not specs:
            return [record("oneflow.einsum", [shape_of(t) for t in ops], [_out(out)])]
    sizes: Dict[str, int] = {}
    for spec, t in zip(specs, ops):
        for letter, d in zip(spec, shape_of(t)):
            sizes[letter] = max(sizes.get(letter, 1), int(d))  # a length-1 dimension broadcasts
    summed = [letter for letter in sizes if letter not in rhs]
    k = 1
    for letter in summed:
        k *= sizes[letter]
    if k == 1:  # nothing summed, or only indices of length 1 (Longformer's chunks: OneFlow checked)
        return [record("broadcast_mul", [shape_of(t) for t in ops], [_out(out)])]
    return contraction("batch_matmul", out, k)


def tensordot(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """A ``matmul`` over the contracted axes: with ``a`` of ``M * K`` elements, ``b`` of
    ``K * N`` and the output of ``M * N``, ``K = sqrt(numel(a) * numel(b) / numel(out))``."""
    na, nb, nout = numel(shape_of(args[0])), numel(shape_of(args[1])), numel(_out(out))
    k = int(round((na * nb / max(nout, 1)) ** 0.5))
    return contraction("matmul", out, k)


def conv(op: str) -> Emit:
    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        x, w, y = shape_of(args[0]), shape_of(args[1]), _out(out)
        recs = [record(op, [x, w], [y])]
        bias = _arg(args, kwargs, 2, "bias")
        if _is_tensor(bias):
            recs.append(record("bias_add", [y, shape_of(bias)], [y]))
        return recs

    return emit


def repeat_interleave(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``x.repeat_interleave(repeats, dim)``: the data is copied (a ``gather``, zero cost), but
    OneFlow 0.9 first builds the index from the repeats: a ``cumsum`` over one count per
    repeated slice (the size of ``dim``, every element when ``dim`` is None, or the repeats
    tensor), then the ``repeat_interleave`` index op (zero cost), as its graph shows."""
    x = shape_of(_arg(args, kwargs, 0, "input", "self"))
    repeats = _arg(args, kwargs, 1, "repeats")
    dims = _dims(_arg(args, kwargs, 2, "dim"), len(x))
    n = numel(x) if dims is None else x[dims[0]]
    if _is_tensor(repeats) and numel(shape_of(repeats)) > 1:
        n = numel(shape_of(repeats))
    return [record("cumsum", [(n,)], [(n,)]), record("repeat_interleave", [(n,), (n,)], [_out(out)])]


# -- normalisation -------------------------------------------------------------------------

def normalization(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``flow._C.normalization(x, mean, var, gamma, beta, axis, eps, momentum, training)``
    (``F.batch_norm``): the graph's ``normalization``; in training it also outputs the batch
    mean and inverse variance (the formula reads ``training`` from the attrs). OneFlow 0.9
    applies the affine transform only when both ``weight`` and ``bias`` are given: with either
    missing it normalises with a constant gamma of ones and beta of zeros (the output equals
    the plain normalisation's; its graph feeds ``gamma`` from a ``constant`` op), so the
    record is affine only then."""
    x, y = shape_of(args[0]), _out(out)
    gamma = _arg(args, kwargs, 3, "weight", "gamma")
    beta = _arg(args, kwargs, 4, "bias", "beta")
    training = bool(_arg(args, kwargs, 8, "is_training", "training", default=False))
    c = (x[1],) if len(x) > 1 else (1,)
    # OneFlow applies the affine transform only when both are given (with one missing it runs
    # constants 1 and 0 instead and its graph shows affine=False): price what it runs
    affine = _is_tensor(gamma) and _is_tensor(beta)
    # fvcore prices the call by its arguments: ``weight`` given is affine there (gamma_given)
    return [record("normalization", [x, c, c, c, c], [y], affine=affine, training=training,
                   gamma_given=_is_tensor(gamma))]


def layer_norm(affine: bool) -> Emit:
    """``flow._C.layer_norm[_affine]``: the graph's ``layer_norm`` op, outputs ``(y, mean,
    inv_variance)`` with one statistic per normalised row."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        x = shape_of(args[0])
        stats = shape_of(out[1]) if isinstance(out, (tuple, list)) and len(out) > 1 else None
        begin = _arg(args, kwargs, 3 if affine else 1, "begin_norm_axis", default=len(x) - 1)
        stats = stats or x[:int(begin)]
        ins = [x, shape_of(args[1]), shape_of(args[2])] if affine else [x]
        return [record("layer_norm", ins, [x, stats, stats])]

    return emit


def rms_norm(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``flow._C.rms_norm(x, weight, normalized_shape, eps)``: the graph's ``rms_norm``."""
    x = shape_of(args[0])
    w = args[1] if len(args) > 1 else kwargs.get("weight")
    rows = numel(x) // max(numel(shape_of(w)) if _is_tensor(w) else x[-1], 1)
    ins = [x, shape_of(w)] if _is_tensor(w) else [x]
    return [record("rms_norm", ins, [x, (rows,)])]


def group_norm(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``flow._C.group_norm(x, gamma, beta, affine, num_groups, eps)``: the ``group_norm`` op."""
    x = shape_of(args[0])
    groups = int(_arg(args, kwargs, 4, "num_groups", default=1))
    affine = bool(_arg(args, kwargs, 3, "affine", default=False))
    stats = (x[0], groups)
    return [record("group_norm", [x], [x, stats, stats], affine=affine)]


def torch_group_norm(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """torch's ``F.group_norm(input, num_groups, weight=None, bias=None, eps=1e-5)`` (the stand-in
    of flowflops.torch_models): the ``group_norm`` op, as :func:`group_norm`; affine when a
    weight or a bias is given (the graph's op then gets both)."""
    x = shape_of(_arg(args, kwargs, 0, "input"))
    groups = int(_arg(args, kwargs, 1, "num_groups"))
    affine = _arg(args, kwargs, 2, "weight") is not None or _arg(args, kwargs, 3, "bias") is not None
    stats = (x[0], groups)
    return [record("group_norm", [x], [x, stats, stats], affine=affine)]


def l2_normalize(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``F.normalize`` (p=2): the graph's ``l2_normalize``, outputs ``(y, square_x_sum)``."""
    x, y = shape_of(args[0]), _out(out)
    dim = int(_arg(args, kwargs, 2, "dim", default=1))
    stats = tuple(1 if i == dim % max(len(x), 1) else d for i, d in enumerate(x))
    return [record("l2_normalize", [x], [y, stats])]


def glu(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``a * sigmoid(b)`` over the two halves: ``sigmoid`` and ``broadcast_mul`` per output."""
    y = _out(out)
    return [record("sigmoid", [y], [y]), record("broadcast_mul", [y, y], [y])]


def fused(op: str) -> Emit:
    """A fused op called directly: its graph op, with the tensor arguments' shapes."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        ins = [shape_of(a) for a in args if _is_tensor(a)]
        outs = [shape_of(o) for o in (out if isinstance(out, (tuple, list)) else [out]) if _is_tensor(o)]
        return [record(op, ins, outs)]

    return emit


def reported(name: str) -> Emit:
    """A computing callable with no formula: recorded as ``oneflow.<name>`` (an op type no
    formula has) so that the report lists it as unsupported instead of dropping it."""
    op = f"oneflow.{name}"

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        ins = [shape_of(a) for a in args if _is_tensor(a)]
        first = first_tensor(out)
        return [record(op, ins, [shape_of(first)] if _is_tensor(first) else [])]

    return emit


# -- the tables ----------------------------------------------------------------------------

#: Elementwise ops whose ``flow._C`` name is the graph's op type.
UNARY_OPS = (
    "relu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "hardtanh", "relu6",
    "leaky_relu", "elu", "celu", "selu", "softplus", "mish", "softsign", "quick_gelu", "fast_gelu",
    "softmax", "log_softmax", "softshrink", "hardshrink", "threshold",
    "exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square", "erf", "erfc",
    "erfinv", "reciprocal", "reciprocal_no_nan", "abs", "negative", "sign", "floor", "ceil",
    "round", "rint", "trunc", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "lgamma", "logical_not", "isnan", "isinf", "isfinite",
    "cumsum", "cumprod",
    "upsample_nearest_1d", "upsample_nearest_2d", "upsample_nearest_3d", "upsample_linear_1d",
    "upsample_bilinear_2d", "upsample_bicubic_2d", "upsample_trilinear_3d",
)

#: canonical name -> emitter; the canonical name is the attribute patched in flow._C / flow / F
FUNCTIONALS: Dict[str, Emit] = {name: unary(name) for name in UNARY_OPS}
FUNCTIONALS.update({
    "logsigmoid": unary("log_sigmoid"), "gelu_with_approximate": gelu_approximate,
    "prelu": unary("prelu"),
    "matmul": matmul, "batch_matmul": matmul, "bmm": matmul, "mm": matmul, "dot": matmul,
    "matrix_vector_product": matmul, "baddbmm": baddbmm, "einsum": einsum, "tensordot": tensordot,
    "cross_entropy": cross_entropy,
    "add": binary("add"), "sub": binary("sub"), "mul": binary("mul"), "div": div,
    "pow": binary("pow"), "fmod": binary("fmod"), "floor_divide": binary("floordiv"),
    "trunc_divide": binary("truncdiv"), "div_": div_in_place,
    "atan2": fused("atan2"),
    "maximum": extremum("maximum"), "minimum": extremum("minimum"),
    "max": max_min("max"), "min": max_min("min"),
    "greater": compare("greater"), "greater_equal": compare("greater_equal"),
    "less": compare("less"), "less_equal": compare("less_equal"),
    "broadcast_equal": compare("equal"), "not_equal": compare("not_equal"),
    "logical_and": compare("and"), "logical_or": compare("or"), "logical_xor": compare("xor"),
    "clamp": clamp, "clip": clamp, "clamp_min": clamp_min, "clamp_max": clamp_max,
    "addcmul": addc("mul"), "addcdiv": addc("div"), "logaddexp": logaddexp,
    "mean": reduction("reduce_sum", mean=True), "reduce_mean": reduction("reduce_sum", mean=True),
    "sum": reduction("reduce_sum"), "reduce_sum": reduction("reduce_sum"), "var": reduction("var"),
    "reduce_nansum": reduction("reduce_sum"), "reduce_prod": reduction("reduce_prod"),
    "reduce_max": reduction("reduce_max"), "reduce_min": reduction("reduce_min"),
    "amax": reduction("reduce_max"), "amin": reduction("reduce_min"), "std": std,
    "logsumexp": logsumexp, "vector_norm": vector_norm, "norm": norm,
    "matrix_norm": matrix_norm, "repeat_interleave": repeat_interleave,
    "conv1d": conv("conv1d"), "conv2d": conv("conv2d"), "conv3d": conv("conv3d"),
    "deconv1d": conv("deconv1d"), "deconv2d": conv("deconv2d"), "deconv3d": conv("deconv3d"),
    "bias_add": lambda a, k, o: [record("bias_add", [_out(o), shape_of(a[1])], [_out(o)])],
    "normalization": normalization, "layer_norm": layer_norm(False),
    "layer_norm_affine": layer_norm(True), "rms_norm": rms_norm, "group_norm": group_norm,
    "normalize": l2_normalize, "glu": glu, "fold": unary("fold"), "unfold": unary("unfold"),
    "fused_matmul_bias": fused("fused_matmul_bias"), "fused_bias_add_gelu": fused("fused_bias_add_gelu"),
    "fused_scale_mask_softmax": fused("fused_scale_mask_softmax"),
    "fused_scale_tril": fused("fused_scale_tril"), "fused_glu": fused("fused_glu"),
    # flow's other names for the same ops
    "neg": unary("negative"), "arccos": unary("acos"), "arccosh": unary("acosh"),
    "arcsin": unary("asin"), "arcsinh": unary("asinh"), "arctan": unary("atan"),
    "arctanh": unary("atanh"), "gt": compare("greater"), "ge": compare("greater_equal"),
    "lt": compare("less"), "le": compare("less_equal"), "ne": compare("not_equal"),
    "eq": compare("equal"), "nansum": reduction("reduce_sum"), "prod": reduction("reduce_prod"),
    "mv": matmul, "sqrt_square_sum": reduction("sqrt_square_sum"),
    "reduce_sum_like": reduction("reduce_sum_like"), "rms_layer_norm": rms_norm,
    "avg_pool2d_nhwc": unary("avg_pool_2d"),
})
for _n in (1, 2, 3):
    FUNCTIONALS[f"conv_transpose{_n}d"] = conv(f"deconv{_n}d")
    FUNCTIONALS[f"adaptive_avg_pool{_n}d"] = unary(f"adaptive_avg_pool{_n}d")
    FUNCTIONALS[f"adaptive_max_pool{_n}d"] = unary(f"adaptive_max_pool{_n}d")
    FUNCTIONALS[f"avg_pool{_n}d"] = unary(f"avg_pool_{_n}d")
    FUNCTIONALS[f"max_pool{_n}d"] = unary(f"max_pool_{_n}d")

#: Callables that do no arithmetic: views, layout, moves, copies, casts, creation, random
#: draws, indexing and selection (sorting and top-k compare but do not compute values), and
#: dropout, an identity at inference. The graph's ops for them are zero-cost in the registry.
ZERO_COST: FrozenSet[str] = frozenset("""
    T arange as_strided tensor_constant atleast_1d atleast_2d atleast_3d broadcast_like broadcast_tensors
    broadcast_to cast chunk column_stack concat cat constant contiguous contiguous_ copy diag
    diagonal dim_gather dstack empty expand expand_dims eye eye_ fill_ flatten flip gather
    gather_nd hsplit hstack identity index_select masked_fill masked_fill_ meshgrid movedim narrow
    one_hot pad permute repeat reshape reshape_like roll row_stack select slice
    slice_update slice_view_1d_contiguous split split_like squeeze stack swapaxes swapdims t
    tensor tensor_split tile to transpose tril triu triu_ unbind unfold_tensor unsqueeze view
    vsplit vstack where zeros ones zeros_like ones_like full full_like empty_like new_empty
    new_ones new_zeros new_full new_tensor linspace logspace tensor_setitem tensor_scatter_nd_update
    scatter scatter_nd scatternd scatterndlike masked_select nonzero argwhere unique argmax argmin
    arg_sort argsort sort topk median in_top_k searchsorted bincount select_top_n batch_gather
    embedding pixel_shuffle
    rand randn randint randint_like randn_like randperm normal bernoulli bernoulli_ uniform_
    exponential_ multinomial
    dropout dropout1d dropout2d dropout3d amp_white_identity amp_black_identity
    assign_local_tensor to_global to_local local_to_global global_to_global global_arange
    global_constant global_empty global_tensor_constant tensor_to_tensor_buffer
    tensor_buffer_to_tensor tensor_buffer_to_list_of_tensors gen_tensor_buffer
    detach clone zero_ _zero_grad_ cpu cuda bool int long half float double bfloat16 byte
    view_as reshape_as expand_as type_as broadcast_shapes
    all any reduce_all reduce_any equal allclose isclose
""".split())

#: Callables that are not tensor computations at all: settings, dtype information, I/O, data
#: loaders and readers, optimizer/communication dispatch, Python conversions, autograd and
#: bookkeeping. A forward pass that calls one does no arithmetic through it.
NOT_COMPUTING: FrozenSet[str] = frozenset("""
    finfo iinfo from_numpy from_dlpack to_dlpack pin_memory is_pinned stream_touch throw_error
    send recv comm_broadcast local_all_gather local_all_reduce local_reduce local_reduce_scatter
    BFloat16Tensor BoolTensor ByteTensor CharTensor DoubleTensor FloatTensor HalfTensor IntTensor
    LongTensor
    storage_offset stride is_contiguous is_floating_point requires_grad_ retain_grad
    register_hook _register_post_grad_accumulation_hook global_id check_meta_consistency
    to_numpy item type _copy_to_numpy _copy_from_numpy _register_storage_delete_hook size dim
    ndimension nelement numel element_size get_device numpy tolist backward
    clear_autocast_cache get_autocast_cpu_dtype get_autocast_gpu_dtype get_default_dtype
    is_autocast_cache_enabled is_autocast_enabled set_autocast_cache_enabled
    set_autocast_cpu_dtype set_autocast_enabled set_autocast_gpu_dtype set_default_dtype
    set_num_threads
    __hash__ __init__ __len__ __getitem__ __setitem__ __delitem__ __str__ __repr__
    __contains__ __bool__ __format__ __index__ __float__ __int__ __array__ __setstate__
    __getstate__
""".split()) | frozenset(
    n for n in dir(flow._C) if n.startswith(("dispatch_", "one_embedding_", "multi_tensor_"))
) | frozenset(("fake_quantization", "quantization", "min_max_observer",
               "moving_average_min_max_observer", "decode_onerec", "ctc_greedy_decoder",
               "image_flip", "nms", "roi_align"))

# flow.Tensor attribute -> emitter (operators, their reflected and in-place forms, methods)
TENSOR_METHODS: Dict[str, Emit] = {
    "__add__": binary("add"), "__radd__": binary("add"), "__iadd__": binary("add"),
    "__sub__": binary("sub"), "__rsub__": reversed_binary("sub"), "__isub__": binary("sub"),
    "__mul__": binary("mul"), "__rmul__": binary("mul"), "__imul__": binary("mul"),
    "__truediv__": binary("div"), "__rtruediv__": reversed_binary("div"), "__itruediv__": div_in_place,
    "div_": div_in_place,
    "__pow__": binary("pow"), "__rpow__": reversed_binary("pow"), "__ipow__": binary("pow"),
    "__mod__": binary("fmod"), "__rmod__": reversed_binary("fmod"),
    "__floordiv__": binary("floordiv"), "__rfloordiv__": reversed_binary("floordiv"),
    "__matmul__": matmul, "__rmatmul__": lambda a, k, o: matmul((a[1], a[0]), {}, o),
    "__neg__": unary("negative"), "__abs__": unary("abs"), "__invert__": unary("logical_not"),
    "__gt__": compare("greater"), "__ge__": compare("greater_equal"), "__lt__": compare("less"),
    "__le__": compare("less_equal"), "__eq__": compare("equal"), "__ne__": compare("not_equal"),
    "__and__": compare("and"), "__rand__": compare("and"), "__or__": compare("or"),
    "__ror__": compare("or"), "__xor__": compare("xor"), "__rxor__": compare("xor"),
}


def _base_name(name: str) -> str:
    """``add_`` -> ``add``; ``clamp_min_`` -> ``clamp_min`` (in-place forms cost the same)."""
    return name[:-1] if name.endswith("_") and not name.endswith("__") else name


def _raw(owner: Any, name: str) -> Any:
    return owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)


def classify(owner: Any, name: str) -> str:
    """``"priced"``, ``"zero"``, ``"not computing"``, ``"composite"`` or ``"reported"`` for the
    callable ``owner.<name>`` (owner: ``flow._C``, ``flow``, ``flow.nn.functional`` or
    ``flow.Tensor``); see the module docstring."""
    fn = _raw(owner, name)
    base = _base_name(name)
    if owner is flow.Tensor and name in TENSOR_METHODS:
        return "priced"
    if owner is flow.Tensor and name == "unfold":  # Tensor.unfold(dim, size, step): a view
        return "zero"
    if inspect.isclass(fn):
        return "not computing"
    if inspect.isfunction(fn):  # Python: it reaches OneFlow through the primitives
        return "composite"
    if name in FUNCTIONALS or base in FUNCTIONALS or (owner is flow.Tensor and base in TENSOR_METHODS):
        return "priced"
    if name in ZERO_COST or base in ZERO_COST:
        return "zero"
    if name in NOT_COMPUTING or name.startswith("_"):
        return "not computing"
    return "reported"


def namespaces() -> List[Any]:
    """The owners whose callables ``count_functional`` patches, flow.Tensor last."""
    return [flow._C, flow, F, flow.Tensor]


def callable_names(owner: Any) -> List[str]:
    """Names of the callables (functions, methods, operators) ``owner`` holds."""
    if isinstance(owner, type):
        items = list(owner.__dict__.items())
    else:
        items = [(n, getattr(owner, n, None)) for n in dir(owner)]
    return sorted(n for n, fn in items
                  if callable(fn) and not isinstance(fn, (staticmethod, classmethod, property)))


def emitter(owner: Any, name: str) -> Optional[Emit]:
    """What a call of ``owner.<name>`` records: its emitter when priced (an in-place form uses
    its namesake's), a reporting emitter when reported, ``None`` when it is not patched."""
    kind = classify(owner, name)
    if kind == "reported":
        return reported(name if owner is not flow.Tensor else f"Tensor.{name}")
    if kind != "priced":
        return None
    if owner is flow.Tensor:
        for n in (name, _base_name(name)):
            if n in TENSOR_METHODS:
                return TENSOR_METHODS[n]
    for n in (name, _base_name(name)):
        if n in FUNCTIONALS:
            return FUNCTIONALS[n]
    return None


_TARGETS: List[Tuple[Any, str, Emit]] = []


def patch_targets() -> List[Tuple[Any, str, Emit]]:
    """Every ``(owner, name, emitter)`` a functional count patches: the priced and the reported
    callables of :func:`namespaces` (computed once)."""
    if not _TARGETS:
        for owner in namespaces():
            for name in callable_names(owner):
                emit = emitter(owner, name)
                if emit is not None:
                    _TARGETS.append((owner, name, emit))
    return list(_TARGETS)


def _functions_of(holder: Any) -> List[Any]:
    """The Python functions a class (its own ``__dict__``: methods, static and class methods,
    properties' getters) or a module (its module-level functions) defines."""
    out = []
    for value in list(vars(holder).values()):
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        elif isinstance(value, property):
            value = value.fget
        if inspect.isfunction(value):
            out.append(value)
    return out


def captured_targets(model: Any) -> List[Tuple[Any, str, Emit]]:
    """References to patched functions taken before the count, where the model's own code
    holds them: the module-level names of the Python modules that define the model's module
    classes (``from oneflow import matmul``), the modules' instance attributes
    (``self.act = F.gelu``, as Hugging Face does) and the closure cells of the functions those
    classes and modules define (``act = F.gelu`` in a factory, then ``act(x)`` in a nested
    ``forward``). Patching ``flow`` cannot reach these; patching them too (a cell through its
    ``cell_contents``) and restoring them after prices their calls. References held anywhere
    else (a default argument, a container) are not patched: the count sees their calls all
    the same, below any reference, and reports them (see
    :func:`flowflops.eager.functional.unreached_calls`)."""
    import sys

    originals = {id(_raw(owner, name)): emit for owner, name, emit in patch_targets()
                 if owner is not flow.Tensor}
    found: List[Tuple[Any, str, Emit]] = []
    seen: set = set()

    def cells(fn: Any) -> None:
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if callable(value) and id(value) in originals and id(cell) not in seen:
                seen.add(id(cell))
                found.append((cell, "cell_contents", originals[id(value)]))

    for m in model.modules():
        for name, value in list(vars(m).items()):
            if callable(value) and id(value) in originals:
                found.append((m, name, originals[id(value)]))
        for cls in type(m).__mro__:
            if cls.__module__.startswith("oneflow") or cls is object or id(cls) in seen:
                continue
            seen.add(id(cls))
            for fn in _functions_of(cls):
                cells(fn)
        mod = sys.modules.get(type(m).__module__)
        if mod is None or id(mod) in seen or mod.__name__.startswith("oneflow"):
            continue
        seen.add(id(mod))
        for name, value in list(vars(mod).items()):
            if callable(value) and id(value) in originals:
                found.append((mod, name, originals[id(value)]))
        for fn in _functions_of(mod):
            cells(fn)
    return found
