"""Reductions: one op per input element."""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise, mac
from ..registry import register
from ._shapes import in_numel, out_numel

REDUCTIONS = (
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "var",
    "reduce_sum_like",
)


@register(*REDUCTIONS)
def reduction(rec: OpRecord) -> Cost:
    """One op per input element read."""
    return elementwise(in_numel(rec))


@register("sqrt_square_sum", "square_sum")
def square_sum(rec: OpRecord) -> Cost:
    """``sum(x * x)`` (then ``sqrt`` of each output, for ``sqrt_square_sum``, the 2-norm): one
    multiply-accumulate per input element, plus one op per output element for the root."""
    root = out_numel(rec) if rec.op_type == "sqrt_square_sum" else 0
    return mac(in_numel(rec)) + elementwise(root)
