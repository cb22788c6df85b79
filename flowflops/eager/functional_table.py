"""The op tables of ``count_functional``: which oneflow callables are priced, and as what.

Each entry maps a callable's name (the attribute patched in ``flow._C`` / ``flow`` /
``flow.nn.functional``, or on ``flow.Tensor``) to an *emitter*: a function of
``(args, kwargs, output)`` that returns the op records OneFlow's graph shows for that call.
Emitters compute nothing; the registry prices the records. The patching mechanism lives in
:mod:`flowflops.eager.functional`.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import oneflow as flow

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
