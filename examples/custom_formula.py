"""Adding or replacing an op formula (see flowflops/registry.py's docstring for the rules).

A formula prices one op record: ``rec.op_type`` is OneFlow's op type name (the one nn.Graph
shows), ``rec.inputs`` / ``rec.outputs`` the tensors' shapes (batch included). It returns a
Cost for the whole call: ``mac(n)`` for n multiply-accumulates, ``elementwise(n)`` for n
elementwise ops, or ``Cost(macs, flops)``. Here: ``erfinv`` is counted as 1 op per element by
the built-in formula; a rational approximation costs about 10, so we say so.
"""
import oneflow as flow
import oneflow.nn as nn

import flowflops
from flowflops import Cost, OpRecord, register
from flowflops.records import elementwise, numel


class Gaussianize(nn.Module):
    def forward(self, x):
        return flow.erfinv(x.clamp(-0.5, 0.5))


model = Gaussianize()
before = flowflops.profile(model, (4, 256), mode="graph")  # clip + erfinv: 1024 + 1024

try:
    register("erfinv")(lambda rec: elementwise(10 * numel(rec.outputs[0])))
except ValueError as err:  # erfinv has a built-in formula: replacing it must be said
    print("refused:", err)


@register("erfinv", override=True)
def erfinv(rec: OpRecord) -> Cost:
    """About 10 elementwise ops per output element (a rational approximation): MACs in the
    article's convention, for the whole batch."""
    return elementwise(10 * numel(rec.outputs[0]))


after = flowflops.profile(model, (4, 256), mode="graph")  # clip 1024 + erfinv 10 * 1024
print(f"erfinv model: {before.macs:,} MACs with the built-in formula, {after.macs:,} with ours")
assert (before.macs, after.macs) == (2 * 1024, 1024 + 10 * 1024)
