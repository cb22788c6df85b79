"""Parameter updates of a compiled training graph (``nn.Graph.add_optimizer``).

Every update op works elementwise on one parameter tensor (its first input, ``model``); the
cost is ``per_element * numel(parameter)``. Each arithmetic step on a tensor element counts 1
elementwise op (1 MAC in the seed's convention, 1 FLOP; nothing here accumulates into a
reduction, so there are no MACs in the 2-FLOP sense). Per-tensor scalars (``1 - beta``,
``lr / bias_correction1``, ``lr * weight_decay``) are computed once and not counted. Terms
whose attribute makes them an identity are not counted: a ``scale`` of 1, ``l1``/``l2``/
``weight_decay``/``dampening`` of 0.

The counts follow the update functors of OneFlow 0.9
(``oneflow/user/kernels/model_update_kernel_util.h``); ``g`` is the gradient after the
optional scale and regularisation below.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..records import Cost, OpRecord, elementwise, numel
from ..registry import register, register_zero
from ._shapes import out_numel

__all__ = [
    "regularization_ops", "update_cost", "sgd_update", "momentum_update", "adam_update", "adagrad_update",
    "rmsprop_update", "l1_l2_regularize_gradient", "adam_bias_correction_factor"
]


def regularization_ops(attrs: Mapping[str, Any]) -> int:
    """Per-element ops of ``g = model_diff * scale + l1 * sign(w) + l2 * w``: 1 for a
    ``scale`` other than 1; 3 for ``l1`` (sign, multiply, add); 2 for ``l2`` (multiply, add)."""
    ops = 0
    if attrs.get("scale", 1.0) != 1.0:
        ops += 1
    if attrs.get("l1", 0.0):
        ops += 3
    if attrs.get("l2", 0.0):
        ops += 2
    return ops


def update_cost(rec: OpRecord, per_element: int, weight_decay: bool = True) -> Cost:
    """``per_element`` ops of the update itself, plus the gradient's scale and regularisation
    (:func:`regularization_ops`) and, with ``weight_decay``, 2 for a non-zero
    ``weight_decay`` attr (``wd * w`` and its add), on every element of the parameter (the
    first input)."""
    per = per_element + regularization_ops(rec.attrs)
    if weight_decay and rec.attrs.get("weight_decay", 0.0):
        per += 2
    return elementwise(per * numel(rec.inputs[0]))


@register("sgd_update")
def sgd_update(rec: OpRecord) -> Cost:
    """``w = w - lr * (g + wd * w)``: ``lr * g`` and the subtraction, 2 per element; weight
    decay adds ``wd * w`` and its add, 2 more."""
    return update_cost(rec, 2)


@register("momentum_update")
def momentum_update(rec: OpRecord) -> Cost:
    """``m = beta * m + (1 - dampening) * g`` (2 per element: ``beta * m`` and the add; 1 more
    for a non-zero dampening); Nesterov: ``d = g + beta * m`` (2 more), else ``d = m``;
    ``w = w - lr * d`` (2); weight decay ``- (lr * wd) * w`` (2 more). Plain: 4 per element."""
    dampening = 1 if rec.attrs.get("dampening", 0.0) else 0
    nesterov = 2 if rec.attrs.get("nesterov", False) else 0
    return update_cost(rec, 2 + 2 + dampening + nesterov)


@register("adam_update")
def adam_update(rec: OpRecord) -> Cost:
    """Adam (and AdamW, whose decoupled decay is ``weight_decay``), per element:

    - ``m = beta1 * m + (1 - beta1) * g``: 2 multiplies, 1 add = 3
    - ``v = beta2 * v + (1 - beta2) * g * g``: 3 multiplies, 1 add = 4
    - amsgrad only: ``v_max = max(v_max, v)`` = 1
    - ``denom = sqrt(v) / sqrt(bias_correction2) + eps``: sqrt, divide (bias correction
      only), add = 3 (2 without bias correction)
    - ``w = w - (lr / bias_correction1) * (m / denom)``: divide, multiply, subtract = 3
    - weight decay only: ``w -= (lr * wd) * w``: multiply, subtract = 2

    Defaults (bias correction, no amsgrad, no decay): 3 + 4 + 3 + 3 = 13 per element."""
    bias_correction = 1 if rec.attrs.get("do_bias_correction", True) else 0
    amsgrad = 1 if rec.attrs.get("amsgrad", False) else 0
    return update_cost(rec, 3 + 4 + 2 + 3 + bias_correction + amsgrad)


@register("adagrad_update")
def adagrad_update(rec: OpRecord) -> Cost:
    """``s = s + g * g`` (2); ``w = w - lr / (sqrt(s) + eps) * g``: sqrt, add, divide,
    multiply, subtract (5); weight decay 2 more. Plain: 7 per element."""
    return update_cost(rec, 2 + 5)


@register("rmsprop_update")
def rmsprop_update(rec: OpRecord) -> Cost:
    """``ms = (1 - rho) * g * g + rho * ms`` (3 multiplies, 1 add = 4); centered only:
    ``mg = (1 - rho) * g + rho * mg`` (3) and ``denom = ms - mg * mg`` (2);
    ``w = w - lr * g * rsqrt(denom + eps)``: add, rsqrt, 2 multiplies, subtract (5).
    Plain: 9 per element, centered 14."""
    per = 4 + 5 + (5 if rec.attrs.get("centered", False) else 0)
    return update_cost(rec, per, weight_decay=False)  # its weight decay is not counted


@register("l1_l2_regularize_gradient")
def l1_l2_regularize_gradient(rec: OpRecord) -> Cost:
    """``g + l1 * sign(w) + l2 * w`` (SGD's ``weight_decay`` in a graph becomes this op with
    ``l2``): 3 per element for a non-zero ``l1``, 2 for a non-zero ``l2``."""
    attrs = {"l1": rec.attrs.get("l1", 0.0), "l2": rec.attrs.get("l2", 0.0)}
    return elementwise(regularization_ops(attrs) * out_numel(rec))


@register("adam_bias_correction_factor")
def adam_bias_correction_factor(rec: OpRecord) -> Cost:
    """``1 - beta ** (step + 1)`` on the train step: add, power, subtract = 3 per element
    (one element per optimizer)."""
    return elementwise(3 * out_numel(rec))


register_zero((
    "assign",  # the train-step counter written back: a copy
))
