"""Activations: one op per output element, as the article counts ReLU."""
from __future__ import annotations

from .derivation import Derivation, first, ops, tensor
from ..records import OpRecord
from ..registry import register

__all__ = ["ACTIVATIONS", "activation", "softmax"]

ACTIVATIONS = (
    "relu", "leaky_relu", "prelu", "elu", "celu", "selu", "hardtanh", "relu6", "gelu",
    "fast_gelu", "quick_gelu", "silu", "sigmoid", "sigmoid_v2", "tanh", "hardswish", "hardsigmoid",
    "hardshrink", "softshrink", "softplus", "softsign", "mish", "threshold", "logsigmoid",
    "log_sigmoid",
)


@register(*ACTIVATIONS)
def activation(rec: OpRecord) -> Derivation:
    """One op per output element."""
    return Derivation.of(ops(tensor("output elements", first(rec.outputs))))


@register("softmax", "log_softmax")
def softmax(rec: OpRecord) -> Derivation:
    """One op per output element (the article's convention for activations)."""
    return Derivation.of(ops(tensor("output elements", first(rec.outputs))))
