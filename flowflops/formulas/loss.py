"""Loss ops that a training graph's forward adds (the backward ones are in backward.py)."""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise, numel
from ..registry import register, register_zero

__all__ = ["nll"]


@register("nll")
def nll(rec: OpRecord) -> Cost:
    """Negative log-likelihood, inputs ``(input, target[, weight])``, outputs
    ``(output, out_weight)``: ``output[i] = -input[i, t_i]`` (a negation, 1 per sample), and
    ``* weight[t_i]`` (1 more) with class weights. Picking ``t_i`` is a lookup, no arithmetic."""
    per = 2 if len(rec.inputs) > 2 else 1
    return elementwise(per * numel(rec.outputs[0]))


register_zero((
    "uniform_int",  # random integer tensors (flow.randint), e.g. the default labels
))
