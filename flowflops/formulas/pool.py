"""Pooling and resampling."""
from __future__ import annotations

from .derivation import Derivation, first, ops, tensor
from ..records import OpRecord
from ..registry import register

__all__ = ["POOLS", "pool", "UPSAMPLES", "upsample"]

POOLS = tuple(
    f"{kind}_pool_{n}d" for kind in ("max", "avg") for n in (1, 2, 3)
) + tuple(f"adaptive_{kind}_pool{n}d" for kind in ("max", "avg") for n in (1, 2, 3))


@register(*POOLS)
def pool(rec: OpRecord) -> Derivation:
    """One op per input element (each input value is read into a window once), as in ptflops."""
    return Derivation.of(ops(tensor("input elements", first(rec.inputs))))


UPSAMPLES = (
    "upsample_nearest_1d", "upsample_nearest_2d", "upsample_nearest_3d",
    "upsample_linear_1d", "upsample_bilinear_2d", "upsample_bicubic_2d",
    "upsample_trilinear_3d",
)


@register(*UPSAMPLES)
def upsample(rec: OpRecord) -> Derivation:
    """One op per output element, as in ptflops."""
    return Derivation.of(ops(tensor("output elements", first(rec.outputs))))
