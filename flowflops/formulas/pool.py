"""Pooling and resampling."""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise
from ..registry import register
from ._shapes import in_numel, out_numel

POOLS = tuple(
    f"{kind}_pool_{n}d" for kind in ("max", "avg") for n in (1, 2, 3)
) + tuple(f"adaptive_{kind}_pool{n}d" for kind in ("max", "avg") for n in (1, 2, 3))


@register(*POOLS)
def pool(rec: OpRecord) -> Cost:
    """One op per input element (each input value is read into a window once), as in ptflops."""
    return elementwise(in_numel(rec))


UPSAMPLES = (
    "upsample_nearest_1d", "upsample_nearest_2d", "upsample_nearest_3d",
    "upsample_linear_1d", "upsample_bilinear_2d", "upsample_bicubic_2d",
    "upsample_trilinear_3d",
)


@register(*UPSAMPLES)
def upsample(rec: OpRecord) -> Cost:
    """One op per output element, as in ptflops."""
    return elementwise(out_numel(rec))
