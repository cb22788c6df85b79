"""``count_functional``: price the functional calls that module hooks cannot see.

While a count runs, the primitive functions of oneflow (``flow._C.*``, their aliases in
``flow`` and ``flow.nn.functional``, and ``flow.Tensor`` methods and operators such as
``x + y``, ``x @ w``, ``x.mean()``) are replaced by wrappers that record each call as the op
records OneFlow's graph shows for it. Composite Python functions (``F.linear``,
``F.layer_norm``, ``F.interpolate``...) are left alone: they decompose into patched primitives,
exactly as they do when OneFlow compiles them.

A call is recorded only when no priced module (one with a module hook) and no other patched
call is running, so nothing is counted twice. Ops that move data (reshape, cat, transpose,
slicing, expand...) are not patched: they cost nothing. Every patch is removed in a
``finally``; the patched attributes are then the very objects they were before.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, List, Tuple

import oneflow as flow
import oneflow.nn.functional as F

from ..records import OpRecord
from .layers import first_tensor, record, shape_of

Emit = Callable[[tuple, dict, Any], List[OpRecord]]


def _is_tensor(x: Any) -> bool:
    return isinstance(x, flow.Tensor)


def unary(op: str) -> Emit:
    """One op per output element (activations, elementwise math, softmax)."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        y = shape_of(first_tensor(out))
        return [record(op, [shape_of(args[0])] if args and _is_tensor(args[0]) else [y], [y])]

    return emit


def binary(kind: str) -> Emit:
    """``add/sub/mul/div/pow`` of two tensors (``broadcast_<kind>``; an add of two same-shape
    tensors is the graph's ``add_n``) or of a tensor and a scalar (``scalar_<kind>``)."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        a = args[0] if args else kwargs.get("input")
        b = args[1] if len(args) > 1 else kwargs.get("other", kwargs.get("exponent"))
        y = shape_of(first_tensor(out))
        if _is_tensor(a) and _is_tensor(b):
            if kind == "add" and shape_of(a) == shape_of(b) == y:
                return [record("add_n", [y, y], [y])]
            return [record(f"broadcast_{kind}", [shape_of(a), shape_of(b)], [y])]
        return [record(f"scalar_{kind}", [y], [y])]

    return emit


def reversed_binary(kind: str) -> Emit:
    """``scalar - x``, ``scalar / x``, ``scalar ** x``: the tensor is the right operand."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        return binary(kind)((args[1], args[0]) if len(args) > 1 else args, kwargs, out)

    return emit


def reduction(op: str, mean: bool = False) -> Emit:
    """A reduction reads every input element once; a mean adds a ``scalar_mul`` per output
    element (the graph shows ``reduce_sum`` + ``scalar_mul``)."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        x, y = shape_of(args[0]), shape_of(first_tensor(out))
        recs = [record(op, [x], [y])]
        if mean:
            recs.append(record("scalar_mul", [y], [y]))
        return recs

    return emit


def matmul(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
    """``matmul`` (2-d), ``batch_matmul`` (same batch dims) or ``broadcast_matmul``."""
    a, b, y = shape_of(args[0]), shape_of(args[1]), shape_of(out)
    ta = bool(kwargs.get("transpose_a", args[2] if len(args) > 2 else False))
    if len(a) == 2 and len(b) == 2:
        op = "matmul"
    elif len(a) == len(b) and len(a) >= 3 and a[:-2] == b[:-2]:
        op = "batch_matmul"
    else:
        op = "broadcast_matmul"
    return [record(op, [a, b], [y], transpose_a=ta)]


def conv(op: str) -> Emit:
    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        x, w, y = shape_of(args[0]), shape_of(args[1]), shape_of(out)
        recs = [record(op, [x, w], [y])]
        bias = args[2] if len(args) > 2 else kwargs.get("bias")
        if _is_tensor(bias):
            recs.append(record("bias_add", [y, shape_of(bias)], [y]))
        return recs

    return emit


def pool(op: str) -> Emit:
    """Pooling: one op per input element."""

    def emit(args: tuple, kwargs: dict, out: Any) -> List[OpRecord]:
        return [record(op, [shape_of(args[0])], [shape_of(first_tensor(out))])]

    return emit


# canonical name -> emitter; the canonical name is the attribute patched in flow._C / flow / F
FUNCTIONALS: Dict[str, Emit] = {
    "matmul": matmul, "batch_matmul": matmul, "bmm": matmul,
    "add": binary("add"), "sub": binary("sub"), "mul": binary("mul"), "div": binary("div"),
    "pow": binary("pow"),
    "mean": reduction("reduce_sum", mean=True), "reduce_mean": reduction("reduce_sum", mean=True),
    "sum": reduction("reduce_sum"), "reduce_sum": reduction("reduce_sum"), "var": reduction("var"),
    "conv1d": conv("conv1d"), "conv2d": conv("conv2d"), "conv3d": conv("conv3d"),
}
for _name in (
    "relu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "hardtanh", "relu6",
    "leaky_relu", "elu", "celu", "selu", "softplus", "mish", "softsign", "logsigmoid",
    "quick_gelu", "softmax", "log_softmax", "exp", "log", "sqrt", "rsqrt", "square", "erf",
    "reciprocal", "prelu", "upsample_nearest_1d", "upsample_nearest_2d", "upsample_nearest_3d",
    "upsample_linear_1d", "upsample_bilinear_2d", "upsample_bicubic_2d", "upsample_trilinear_3d",
):
    FUNCTIONALS[_name] = unary(_name)
FUNCTIONALS["gelu_with_approximate"] = unary("gelu")
for _n in (1, 2, 3):
    FUNCTIONALS[f"adaptive_avg_pool{_n}d"] = pool(f"adaptive_avg_pool{_n}d")
    FUNCTIONALS[f"adaptive_max_pool{_n}d"] = pool(f"adaptive_max_pool{_n}d")
    FUNCTIONALS[f"avg_pool{_n}d"] = pool(f"avg_pool_{_n}d")
    FUNCTIONALS[f"max_pool{_n}d"] = pool(f"max_pool_{_n}d")

# flow.Tensor attribute -> emitter
TENSOR_METHODS: Dict[str, Emit] = {
    "__add__": binary("add"), "__radd__": binary("add"), "__iadd__": binary("add"), "add": binary("add"),
    "add_": binary("add"),
    "__sub__": binary("sub"), "__rsub__": reversed_binary("sub"), "__isub__": binary("sub"), "sub": binary("sub"),
    "__mul__": binary("mul"), "__rmul__": binary("mul"), "__imul__": binary("mul"), "mul": binary("mul"),
    "mul_": binary("mul"),
    "__truediv__": binary("div"), "__rtruediv__": reversed_binary("div"), "__itruediv__": binary("div"),
    "div": binary("div"),
    "__pow__": binary("pow"), "__rpow__": reversed_binary("pow"), "pow": binary("pow"),
    "__matmul__": matmul, "matmul": matmul,
    "mean": reduction("reduce_sum", mean=True), "sum": reduction("reduce_sum"), "var": reduction("var"),
}
for _name in ("relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "exp", "log", "sqrt",
              "rsqrt", "square", "erf", "reciprocal", "silu"):
    TENSOR_METHODS[_name] = unary(_name)


class FunctionalPatcher:
    """Installs the wrappers; ``record(records)`` receives what each counted call stands for.
    ``should_count()`` says whether a call made now is to be counted (no priced module running)."""

    def __init__(self, record: Callable[[List[OpRecord]], None], should_count: Callable[[], bool]) -> None:
        self._record = record
        self._should_count = should_count
        self._depth = 0
        self._saved: List[Tuple[Any, str, Any]] = []

    def _wrap(self, fn: Any, emit: Emit) -> Callable:
        patcher = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if patcher._depth > 0 or not patcher._should_count():
                return fn(*args, **kwargs)
            patcher._depth += 1
            try:
                out = fn(*args, **kwargs)
            finally:
                patcher._depth -= 1
            try:
                recs = emit(args, kwargs, out)
            except Exception:  # an unusual call signature: never break the user's forward
                recs = []
            patcher._record(recs)
            return out

        wrapper.__wrapped__ = fn
        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        return wrapper

    def _patch(self, owner: Any, name: str, emit: Emit, done: Dict[int, Callable]) -> None:
        fn = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        if fn is None:
            return
        wrapper = done.get(id(fn)) or self._wrap(fn, emit)
        done[id(fn)] = wrapper
        self._saved.append((owner, name, fn))
        setattr(owner, name, wrapper)

    def install(self) -> None:
        done: Dict[int, Callable] = {}
        for owner in (flow._C, flow, F):
            for name, emit in FUNCTIONALS.items():
                self._patch(owner, name, emit, done)
        for name, emit in TENSOR_METHODS.items():
            self._patch(flow.Tensor, name, emit, {})

    def remove(self) -> None:
        for owner, name, fn in reversed(self._saved):
            setattr(owner, name, fn)
        self._saved.clear()


def patched_attributes() -> List[Tuple[Any, str]]:
    """Every ``(owner, name)`` a functional count may patch (for state checks in tests)."""
    out = [(o, n) for o in (flow._C, flow, F) for n in FUNCTIONALS if hasattr(o, n)]
    out += [(flow.Tensor, n) for n in TENSOR_METHODS if n in flow.Tensor.__dict__]
    return out


@contextlib.contextmanager
def patched(record: Callable[[List[OpRecord]], None], should_count: Callable[[], bool]) -> Iterator[None]:
    p = FunctionalPatcher(record, should_count)
    try:
        p.install()
        yield
    finally:
        p.remove()
