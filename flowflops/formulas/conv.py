"""Convolutions and their bias.

Conv MACs are worked from the weight and output shapes alone, so stride, padding, dilation and
groups are all accounted for by the real output size:
``MACs = numel(output) * prod(kernel) * in_channels / groups``; the weight of a convolution is
``(out_channels, in_channels / groups, *kernel)``, so that is ``numel(output) * prod(weight[1:])``.
"""
from __future__ import annotations

from .derivation import Derivation, first, macs, ops, tensor
from ..records import OpRecord
from ..registry import register

__all__ = ["conv", "conv_transpose", "bias_add"]


@register("conv1d", "conv2d", "conv3d")
def conv(rec: OpRecord) -> Derivation:
    """MACs of a convolution (no bias): one per weight element per output position,
    ``numel(out) * numel(weight) / out_channels``. The input as given, batch included."""
    weight = rec.inputs[1]
    return Derivation.of(macs(tensor("output elements", first(rec.outputs)),
                              tensor("weight elements per output (in_channels/groups x kernel)", weight[1:])))


@register("deconv1d", "deconv2d", "deconv3d")
def conv_transpose(rec: OpRecord) -> Derivation:
    """MACs of a transposed convolution (no bias): every input element is multiplied by
    every kernel position of every output channel of its group. The weight is
    ``(in_channels, out_channels / groups, *kernel)``, so MACs = ``numel(in) * prod(weight[1:])``."""
    x, weight = rec.inputs[0], rec.inputs[1]
    return Derivation.of(macs(tensor("input elements", x),
                              tensor("weight elements per input (out_channels/groups x kernel)", weight[1:])))


@register("bias_add")
def bias_add(rec: OpRecord) -> Derivation:
    """One add per output element."""
    return Derivation.of(ops(tensor("output elements", first(rec.outputs)), note="add"))
