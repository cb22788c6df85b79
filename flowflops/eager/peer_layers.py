"""Module emitters that only the module-hook peers need (ptflops' pytorch backend, thop).

ptflops and thop price some layers by a forward hook on the module where flowflops has no
emitter (OneFlow runs them as several primitive ops, priced one by one with
``count_functional``): ``nn.LayerNorm`` (ptflops' bn_flops_counter_hook, thop's
count_normalization) and, for thop, ``nn.Softmax`` (count_softmax). Under those conventions
the eager engine uses :data:`EMITTERS` plus these, so the layer is one record marked with its
module whether or not functional calls are counted.
"""
from __future__ import annotations

from typing import Any, Dict, List

import oneflow.nn as nn

from .layers import EMITTERS, Emitter, record, shape_of

__all__ = ["layer_norm", "softmax", "table_for"]


def layer_norm(m: nn.Module, args: tuple, out: Any) -> List[Any]:
    """One ``layer_norm`` record over the input, ``affine`` = ``elementwise_affine``."""
    x = shape_of(args[0])
    return [record("layer_norm", [x], [shape_of(out)], affine=bool(m.elementwise_affine))]


def softmax(m: nn.Module, args: tuple, out: Any) -> List[Any]:
    """One ``softmax`` record, ``dim`` the module's (None: OneFlow's default axis)."""
    x = shape_of(args[0])
    dim = m.dim if m.dim is not None else (0 if len(x) in (0, 1, 3) else 1)
    return [record("softmax", [x], [shape_of(out)], dim=int(dim) % max(len(x), 1))]


_PEER_EXTRA: Dict[str, Dict[type, Emitter]] = {
    "ptflops": {nn.LayerNorm: layer_norm},
    "thop": {nn.LayerNorm: layer_norm, nn.Softmax: softmax},
}


def table_for(convention: str) -> Dict[type, Emitter]:
    """The eager engine's emitter table under ``convention``."""
    extra = _PEER_EXTRA.get(convention)
    return {**EMITTERS, **extra} if extra else EMITTERS
