"""Fused op types OneFlow's passes and CUDA paths produce (e.g. ``nn.Linear`` with
``use_fused_matmul_bias``, ``config.enable_fuse_add_to_output``): each is priced as the sum of
the ops it fuses, so a fused graph counts the same as an unfused one."""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise, mac
from ..registry import register
from ._shapes import out_numel


@register("fused_matmul_bias")
def fused_matmul_bias(rec: OpRecord) -> Cost:
    """``x @ W^T + b``: the matmul's ``numel(out) * K`` MACs plus one add per output element."""
    n = out_numel(rec)
    return mac(n * rec.inputs[0][-1]) + elementwise(n)


@register("fused_bias_add_gelu", "fused_bias_add_mask_scale", "fused_gelu_mul", "fused_glu")
def fused_bias_act(rec: OpRecord) -> Cost:
    """Bias add + activation (or mask-and-scale): two ops per output element."""
    return elementwise(2 * out_numel(rec))


@register("fused_scale_mask_softmax", "fused_scale_mask_softmax_dropout", "fused_tril_scale_softmax_mask_scale")
def fused_scale_mask_softmax(rec: OpRecord) -> Cost:
    """Scale, mask (an add) and softmax: three ops per output element."""
    return elementwise(3 * out_numel(rec))


@register("add_n_with_bias")
def add_n_bias(rec: OpRecord) -> Cost:
    """n tensors plus a bias: n adds per output element."""
    return elementwise((len(rec.inputs) - 1) * out_numel(rec))
