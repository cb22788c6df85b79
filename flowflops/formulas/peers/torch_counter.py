"""torch.utils.flop_counter ``FlopCounterMode`` (read in torch 2.14.1), halved.

FlopCounterMode counts 2 FLOPs per multiply-add of the matrix products and convolutions it has
formulas for (mm, addmm, bmm, baddbmm, convolution, scaled-dot-product attention), and nothing
else: no bias, normalisation, activation, pooling or add (its registry,
torch/utils/flop_counter.py:822-839). On the CPU, scaled-dot-product attention runs as
``_scaled_dot_product_flash_attention_for_cpu``, which has no formula there: counted 0.
torchvision's model cards report this total / 2 as "GFLOPS"; here ``Cost.macs`` is that half,
``Cost.flops`` FlopCounterMode's own total. It works below functional calls, so both engines reproduce it.
"""
from __future__ import annotations

from ...records import Cost, OpRecord
from ...registry import register
from ._common import CONV_OPS, GATES, MATMUL_OPS, conv_macs, matmul_macs, peer, recurrent_macs

__all__ = ["C", "conv", "matmul", "recurrent"]

C = "torch"
# conv and matmul below have the shape of fvcore's on purpose (a deliberate repeat): each
# convention registers its own formulas, citing its own source, so either can change alone.


@register(*CONV_OPS, convention=C)
def conv(rec: OpRecord) -> Cost:
    """conv_flop_count: 2 x batch x prod(weight) x prod(output spatial) (input spatial when
    transposed), bias ignored (torch/utils/flop_counter.py:215-262)."""
    return peer(conv_macs(rec))


@register(*MATMUL_OPS, "fused_matmul_bias", convention=C)
def matmul(rec: OpRecord) -> Cost:
    """mm_flop/addmm_flop/bmm_flop/baddbmm_flop: 2 x m x k x n, the added term ignored
    (torch/utils/flop_counter.py:159-197)."""
    return peer(matmul_macs(rec))


@register(*GATES, convention=C)
def recurrent(rec: OpRecord) -> Cost:
    """The mm/addmm/bmm a recurrent layer runs as on the CPU, bias ignored (see
    ``recurrent_macs``; mm_flop, torch/utils/flop_counter.py:159-175)."""
    return peer(recurrent_macs(rec, with_bias=False))
