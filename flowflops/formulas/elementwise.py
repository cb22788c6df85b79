"""Elementwise arithmetic: one op per output element (``add_n``: one per added tensor after the
first). ``broadcast_*`` ops are priced by their output, the broadcast shape."""
from __future__ import annotations

from .derivation import Derivation, first, number, ops, tensor
from ..records import OpRecord
from ..registry import register

__all__ = ["BINARY", "UNARY_MATH", "SCANS", "per_output_element", "add_n", "fold"]

BINARY = (
    "broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div",
    "broadcast_pow", "broadcast_maximum", "broadcast_minimum",
    "add", "sub", "mul", "div", "pow",
    "scalar_add", "scalar_sub", "scalar_mul", "scalar_div", "scalar_pow",
    "scalar_reverse_pow", "scalar_floordiv", "scalar_fmod",
    "elementwise_maximum", "elementwise_minimum", "clip_by_scalar",
    "clip_by_scalar_min", "clip_by_scalar_max",
    "floordiv", "broadcast_floordiv", "fmod", "broadcast_fmod", "atan2",
    "truncdiv", "scalar_truncdiv",
)
UNARY_MATH = (
    "sqrt", "rsqrt", "square", "exp", "expm1", "log", "log1p", "log2", "abs", "negative",
    "reciprocal", "reciprocal_no_nan", "sin", "cos", "tan", "erf", "erfc", "floor", "ceil",
    "round", "sign", "fused_scale_tril",
    "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erfinv", "lgamma",
    "trunc", "rint",
)
#: Scans: one add (or multiply) per element.
SCANS = ("cumsum", "cumprod")


@register(*BINARY, *UNARY_MATH, *SCANS)
def per_output_element(rec: OpRecord) -> Derivation:
    """One op per output element."""
    return Derivation.of(ops(tensor("output elements", first(rec.outputs))))


@register("add_n")
def add_n(rec: OpRecord) -> Derivation:
    """Sum of n tensors: ``(n - 1)`` adds per output element."""
    return Derivation.of(ops(number("adds per element (tensors - 1)", max(len(rec.inputs) - 1, 0)),
                             tensor("output elements", first(rec.outputs)), note="add"))


@register("fold")
def fold(rec: OpRecord) -> Derivation:
    """col2im: every column element is added into its output position once:
    one add per input element (``unfold``, im2col, only copies: zero.py)."""
    return Derivation.of(ops(tensor("input elements", first(rec.inputs)), note="add"))
