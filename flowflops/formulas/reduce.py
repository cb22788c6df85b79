"""Reductions: one op per input element."""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise
from ..registry import register
from ._shapes import in_numel

REDUCTIONS = (
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "var",
    "reduce_sum_like",
)


@register(*REDUCTIONS)
def reduction(rec: OpRecord) -> Cost:
    """One op per input element read."""
    return elementwise(in_numel(rec))
