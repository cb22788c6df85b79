"""Reductions: one op per input element."""
from __future__ import annotations

from .derivation import Derivation, first, macs, ops, tensor
from ..records import OpRecord
from ..registry import register

__all__ = ["REDUCTIONS", "reduction", "square_sum"]

REDUCTIONS = (
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "var",
    "reduce_sum_like",
)


@register(*REDUCTIONS)
def reduction(rec: OpRecord) -> Derivation:
    """One op per input element read."""
    return Derivation.of(ops(tensor("input elements", first(rec.inputs))))


@register("sqrt_square_sum", "square_sum")
def square_sum(rec: OpRecord) -> Derivation:
    """``sum(x * x)`` (then ``sqrt`` of each output, for ``sqrt_square_sum``, the 2-norm): one
    multiply-accumulate per input element, plus one op per output element for the root."""
    terms = [macs(tensor("input elements", first(rec.inputs)), note="sum of squares")]
    if rec.op_type == "sqrt_square_sum":
        terms.append(ops(tensor("output elements", first(rec.outputs)), note="square root"))
    return Derivation.of(*terms)
