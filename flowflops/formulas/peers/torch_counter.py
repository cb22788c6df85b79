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

from ...records import Cost, OpRecord, numel
from ...registry import register
from ._common import CONV_OPS, GATES, MATMUL_OPS, conv_macs, matmul_macs, peer, recurrent_macs

__all__ = ["C", "conv", "matmul", "recurrent", "conv_data_grad", "conv_filter_grad", "broadcast_matmul_grad_b"]

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


# -- a training step's gradients (``profile(..., mode="train", convention="torch")``): torch counts
# the aten.convolution_backward of each convolution (conv_backward_flop,
# torch/utils/flop_counter.py:264-365); the matmul gradients are matmul ops, priced above


@register("conv_data_grad", convention=C)
def conv_data_grad(rec: OpRecord) -> Cost:
    """The input gradient (``output_mask[0]``), inputs ``(dy, weight, x_like)``:
    ``conv_flop_count(grad_out, w, grad_in, not transposed)``, the forward's count,
    2 x numel(dy) x prod(weight[1:]). (A transposed convolution's input gradient is a
    ``conv2d`` op in OneFlow's job, priced as a convolution.)"""
    dy, weight = rec.inputs[0], rec.inputs[1]
    return peer(numel(dy) * numel(weight[1:]))


@register("conv_filter_grad", convention=C)
def conv_filter_grad(rec: OpRecord) -> Cost:
    """The weight gradient (``output_mask[1]``), inputs ``(dy, x)``, output the weight's shape:
    ``conv_flop_count(t(x), t(grad_out), t(grad_w))`` = 2 x in_channels x numel(dy) x
    prod(kernel). torch's formula does not divide by ``groups``: a grouped convolution's weight
    gradient is priced as if it were not grouped (measured: 8 x the forward for groups=8). For a
    transposed convolution OneFlow's op reads ``(x, dy)`` in this order, which is torch's
    transposed branch ``conv_flop_count(t(grad_out), t(x), t(grad_w))``: the same expression."""
    dy, x, weight = rec.inputs[0], rec.inputs[1], rec.outputs[0]
    return peer(numel(dy) * x[1] * numel(weight[2:]))


@register("broadcast_matmul_grad_b", convention=C)
def broadcast_matmul_grad_b(rec: OpRecord) -> Cost:
    """The weight gradient of an N-d input's ``nn.Linear`` (torch: one ``aten.mm`` of the
    flattened rows, mm_flop): inputs ``(a, b)`` ``(..., M, K)`` and ``(..., M, N)``, output
    ``(K, N)``: 2 x K x N x rows, rows = numel(a) / K."""
    a = rec.inputs[0]
    return peer(numel(rec.outputs[0]) * numel(a) // a[-1])
