"""Activations: one op per output element, as the article counts ReLU."""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise
from ..registry import register
from ._shapes import out_numel

ACTIVATIONS = (
    "relu", "leaky_relu", "prelu", "elu", "celu", "selu", "hardtanh", "relu6", "gelu",
    "fast_gelu", "quick_gelu", "silu", "sigmoid", "sigmoid_v2", "tanh", "hardswish", "hardsigmoid",
    "hardshrink", "softshrink", "softplus", "softsign", "mish", "threshold", "logsigmoid",
    "log_sigmoid",
)


@register(*ACTIVATIONS)
def activation(rec: OpRecord) -> Cost:
    """One op per output element."""
    return elementwise(out_numel(rec))


@register("softmax", "log_softmax")
def softmax(rec: OpRecord) -> Cost:
    """One op per output element (the article's convention for activations)."""
    return elementwise(out_numel(rec))
