"""Elementwise arithmetic: one op per output element (``add_n``: one per added tensor after the
first). ``broadcast_*`` ops are priced by their output, the broadcast shape."""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise
from ..registry import register
from ._shapes import out_numel

BINARY = (
    "broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div",
    "broadcast_pow", "broadcast_maximum", "broadcast_minimum",
    "add", "sub", "mul", "div", "pow",
    "scalar_add", "scalar_sub", "scalar_mul", "scalar_div", "scalar_pow",
    "scalar_reverse_pow", "scalar_floordiv", "scalar_fmod",
    "elementwise_maximum", "elementwise_minimum", "clip_by_scalar",
    "clip_by_scalar_min", "clip_by_scalar_max",
)
UNARY_MATH = (
    "sqrt", "rsqrt", "square", "exp", "expm1", "log", "log1p", "log2", "abs", "negative",
    "reciprocal", "reciprocal_no_nan", "sin", "cos", "tan", "erf", "erfc", "floor", "ceil",
    "round", "sign", "square_sum", "fused_scale_tril",
)


@register(*BINARY, *UNARY_MATH)
def per_output_element(rec: OpRecord) -> Cost:
    """One op per output element."""
    return elementwise(out_numel(rec))


@register("add_n")
def add_n(rec: OpRecord) -> Cost:
    """Sum of n tensors: ``(n - 1)`` adds per output element."""
    return elementwise(max(len(rec.inputs) - 1, 0) * out_numel(rec))
