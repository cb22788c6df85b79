"""Normalisation: BatchNorm's fused ``normalization`` op. (LayerNorm, GroupNorm and
InstanceNorm appear in OneFlow graphs as reductions and elementwise ops, priced there.)"""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise
from ..registry import register
from ._shapes import in_numel


@register("normalization")
def batch_norm(rec: OpRecord) -> Cost:
    """Per input element: 1 for normalising, 1 more for the affine transform when
    ``attrs["affine"]`` (default True): the article's 2 per element with affine, 1 without."""
    per_element = 2 if rec.attrs.get("affine", True) else 1
    return elementwise(per_element * in_numel(rec))
