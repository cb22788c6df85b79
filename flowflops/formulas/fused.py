"""Fused op types OneFlow's passes and CUDA paths produce (e.g. ``nn.Linear`` with
``use_fused_matmul_bias``, ``config.enable_fuse_add_to_output``): each is priced as the sum of
the ops it fuses, so a fused graph counts the same as an unfused one."""
from __future__ import annotations

from .derivation import Derivation, first, macs, number, ops, tensor
from ..records import OpRecord
from ..registry import register

__all__ = ["fused_matmul_bias", "fused_bias_act", "fused_scale_mask_softmax", "add_n_bias"]


@register("fused_matmul_bias")
def fused_matmul_bias(rec: OpRecord) -> Derivation:
    """``x @ W^T + b``: the matmul's ``numel(out) * K`` MACs plus one add per output element."""
    n = tensor("output elements", first(rec.outputs))
    return Derivation.of(macs(n, number("steps of the contraction (K)", rec.inputs[0][-1])), ops(n, note="bias add"))


@register("fused_bias_add_gelu", "fused_bias_add_mask_scale", "fused_gelu_mul", "fused_glu")
def fused_bias_act(rec: OpRecord) -> Derivation:
    """Bias add + activation (or mask-and-scale): two ops per output element."""
    return Derivation.of(ops(tensor("output elements", first(rec.outputs)), scale=2))


@register("fused_scale_mask_softmax", "fused_scale_mask_softmax_dropout", "fused_tril_scale_softmax_mask_scale")
def fused_scale_mask_softmax(rec: OpRecord) -> Derivation:
    """Scale, mask (an add) and softmax: three ops per output element."""
    return Derivation.of(ops(tensor("output elements", first(rec.outputs)), scale=3))


@register("add_n_with_bias")
def add_n_bias(rec: OpRecord) -> Derivation:
    """n tensors plus a bias: n adds per output element."""
    return Derivation.of(ops(number("adds per element (tensors - 1)", len(rec.inputs) - 1),
                             tensor("output elements", first(rec.outputs)), note="add"))
