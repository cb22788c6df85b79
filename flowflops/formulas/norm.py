"""Normalisation ops: BatchNorm's fused ``normalization`` (inference and training), and the
fused ``layer_norm``, ``rms_norm``, ``group_norm`` and ``l2_normalize`` ops (CUDA paths and
direct ``flow._C`` calls; on the CPU, ``nn.LayerNorm`` compiles to reductions and elementwise
ops, priced in their own files).

Each fused op is priced as the ops it stands for, so a fused graph counts what the decomposed
one does. ``n`` is the number of elements normalised, ``r`` the number of statistics (rows).
"""
from __future__ import annotations

from typing import List, Optional

from .derivation import Derivation, Factor, Term, first, macs, ops, tensor
from ..records import OpRecord, Shape
from ..registry import register

__all__ = ["batch_statistics", "batch_norm", "stats_norm", "layer_norm", "group_norm", "rms_norm", "l2_normalize"]


def _affine(rec: OpRecord, default: bool) -> bool:
    if "affine" in rec.attrs:
        return bool(rec.attrs["affine"])
    if "center" in rec.attrs or "scale" in rec.attrs:
        return bool(rec.attrs.get("center")) or bool(rec.attrs.get("scale"))
    return default


def _elements(rec: OpRecord) -> Factor:
    return tensor("input elements n", first(rec.inputs))


def _rows(rec: OpRecord) -> Factor:
    stats: Optional[Shape] = rec.outputs[1] if len(rec.outputs) > 1 else (1,)
    return tensor("statistics r", stats)


def batch_statistics(n: Factor) -> List[Term]:
    """The batch mean and variance of ``n`` elements (BatchNorm in training): the mean sums
    every element (1 add each); the variance ``sum((x - mean)^2)`` subtracts (1) and
    accumulates a square (1 MAC) per element. Per channel divisions are not counted.
    ``n`` elementwise + ``n`` elementwise + ``n`` MACs = ``3n`` MACs, ``4n`` FLOPs."""
    return [ops(n, scale=2, note="batch mean and x - mean"), macs(n, note="sum of squares (variance)")]


@register("normalization")
def batch_norm(rec: OpRecord) -> Derivation:
    """Per input element: 1 for normalising, 1 more for the affine transform when
    ``attrs["affine"]`` (default True): the article's 2 per element with affine, 1 without.
    In training (``attrs["training"]``, or the batch mean and inverse variance among the
    outputs) the statistics are computed too: :func:`batch_statistics`, so 5 MACs / 6 FLOPs per
    element with affine."""
    n = _elements(rec)
    affine = bool(rec.attrs.get("affine", True))
    terms = [ops(n, scale=2 if affine else 1, note="normalise and affine" if affine else "normalise")]
    training = rec.attrs.get("training")
    if training is None:
        training = len(rec.outputs) >= 3
    if training:
        terms += batch_statistics(n)
    return Derivation(tuple(terms))


def stats_norm(n: Factor, r: Factor, affine: bool) -> Derivation:
    """What the CPU graph of a LayerNorm / GroupNorm runs, priced op by op: ``reduce_sum`` (n),
    ``scalar_mul`` (r: the mean), ``var`` (n), ``scalar_add`` (r: + eps), ``broadcast_sub`` (n),
    ``rsqrt`` (r), ``broadcast_mul`` (n), and with affine a multiply and an add (2n):
    ``4n + 3r`` elementwise, ``6n + 3r`` with affine."""
    terms = [ops(n, scale=4, note="sum, variance, x - mean, x * rsqrt"),
             ops(r, scale=3, note="mean, + eps, rsqrt per row")]
    if affine:
        terms.append(ops(n, scale=2, note="affine"))
    return Derivation(tuple(terms))


@register("layer_norm")
def layer_norm(rec: OpRecord) -> Derivation:
    """``layer_norm`` inputs ``(x[, gamma, beta])``, outputs ``(y, mean, inv_variance)``:
    :func:`stats_norm` with ``r = numel(mean)``; affine when gamma is an input."""
    return stats_norm(_elements(rec), _rows(rec), _affine(rec, len(rec.inputs) >= 2))


@register("group_norm")
def group_norm(rec: OpRecord) -> Derivation:
    """``group_norm``, outputs ``(y, mean, inv_variance)`` per (sample, group): as
    :func:`stats_norm` (the per-channel affine is one multiply and one add per element)."""
    return stats_norm(_elements(rec), _rows(rec), _affine(rec, len(rec.inputs) >= 2))


@register("rms_norm")
def rms_norm(rec: OpRecord) -> Derivation:
    """``y = x * rsqrt(mean(x^2) + eps) * weight``: the sum of squares is 1 MAC per element;
    per row the mean, ``+ eps`` and ``rsqrt`` (3r); per element the multiply by the inverse
    root (n) and, with a weight input, by the weight (n)."""
    n = _elements(rec)
    weight = len(rec.inputs) >= 2
    return Derivation.of(macs(n, note="sum of squares"), ops(_rows(rec), scale=3, note="mean, + eps, rsqrt per row"),
                         ops(n, scale=2 if weight else 1, note="x * rsqrt" + (", * weight" if weight else "")))


@register("l2_normalize")
def l2_normalize(rec: OpRecord) -> Derivation:
    """``x / sqrt(max(sum(x^2), eps))`` along an axis: 1 MAC per element for the sum of
    squares, 1 per row for the root, 1 per element for the scaling."""
    n = _elements(rec)
    return Derivation.of(macs(n, note="sum of squares"), ops(n, note="scaling"),
                         ops(_rows(rec), note="root per row"))
