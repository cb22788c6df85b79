"""ptflops 0.7.5, aten backend: a TorchDispatchMode that prices aten mm, matmul, addmm, bmm and
convolution only (ptflops/aten_ops.py:109-116); every other op counts nothing. It works
below functional calls, so both engines reproduce it, except the Linear bias (see below).
"""
from __future__ import annotations

from ...records import Cost, OpRecord
from ...registry import register
from ._common import (CONV_OPS, GATES, MATMUL_OPS, conv_macs, matmul_macs, module_is, out_elems, peer,
                      recurrent_macs, via_of)

__all__ = ["C", "conv", "conv_bias", "matmul", "linear_bias", "recurrent"]

C = "ptflops-aten"


@register(*CONV_OPS, convention=C)
def conv(rec: OpRecord) -> Cost:
    """conv_flop_count: batch x prod(weight) x prod(output spatial) (ptflops/aten_ops.py:71-106)."""
    return peer(conv_macs(rec))


@register("bias_add", convention=C)
def conv_bias(rec: OpRecord) -> Cost:
    """conv_flop_count adds one per output element when the conv has a bias
    (ptflops/aten_ops.py:93-94)."""
    return peer(out_elems(rec))


@register(*MATMUL_OPS, "fused_matmul_bias", convention=C)
def matmul(rec: OpRecord) -> Cost:
    """matmul_flop/bmm_flop/addmm_flop: the multiply-adds (ptflops/aten_ops.py:23-68)."""
    return peer(matmul_macs(rec))


@register("broadcast_add", "add_n", convention=C)
def linear_bias(rec: OpRecord) -> Cost:
    """nn.Linear, F.linear with a bias and flow.addmm run as aten.addmm, whose bias counts one
    per output element (ptflops/aten_ops.py:51-52); other adds count nothing. Known from the
    eager module hook (the ``_module`` mark) or functional patch (the ``_via`` mark) only."""
    if via_of(rec) == "addmm":
        return peer(out_elems(rec))
    if module_is(rec) != "Linear" and via_of(rec) != "linear":
        return peer(0)
    x = rec.inputs[0]
    if len(x) > 2 and not rec.attrs.get("contiguous", True):
        return peer(0)  # a non-contiguous N-d input: torch runs matmul + add, no addmm
    return peer(out_elems(rec))


@register(*GATES, convention=C)
def recurrent(rec: OpRecord) -> Cost:
    """The mm/addmm a recurrent layer runs as on the CPU, addmm's bias included (see
    ``recurrent_macs``; ptflops/aten_ops.py:36-54)."""
    return peer(recurrent_macs(rec, with_bias=True))
