"""ptflops' ``backend`` argument, mapped onto flowflops' engines.

ptflops 0.7.5 has two backends:

- ``"pytorch"`` (``FLOPS_BACKEND.PYTORCH``): forward hooks on ``nn.Module`` layers, plus patched
  functionals and tensor ops (``F.relu``, ``F.interpolate``, ``torch.matmul``, ``torch.add``...)
  unless ``backend_specific_config={"count_functional": False}``. flowflops' nearest: the eager
  engine under the ``"ptflops"`` convention (:mod:`flowflops.conventions`), which prices the
  hooked layers by ptflops' rules and, by default, OneFlow's functional calls too.
- ``"aten"`` (``FLOPS_BACKEND.ATEN``): every aten op the model dispatches, priced only for
  ``mm``/``matmul``/``addmm``/``bmm``/``convolution`` (bias included); ``ignore_modules`` and
  ``custom_modules_hooks`` take aten ops. flowflops' nearest: the eager engine with functional
  counting on (every layer and every functional call the model makes, as the aten ops it
  dispatches) under the ``"ptflops-aten"`` convention (matrix products and convolutions, bias
  included; nothing else), with OneFlow op type names in ``ignore_modules`` /
  ``custom_modules_hooks`` (``"matmul"``, ``"conv2d"``...). It gives ptflops' numbers on
  ptflops' own tests; ``mode="graph"`` also works (op names are the same), but under this
  convention it misses ``nn.Linear``'s bias, which the compiled job adds as a separate
  ``broadcast_add`` (ptflops' ``addmm`` counts it).

``backend=None`` (flowflops' default) is the engine ``mode`` names under the article's
convention (``count_functional`` off in eager mode): the article's numbers. An explicit
``mode`` picks the engine, and an explicit ``convention`` the rules, whatever the backend.
"""
from __future__ import annotations

from enum import Enum
from typing import Optional, Tuple, Union

__all__ = ["FLOPS_BACKEND", "parse_backend", "resolve"]


class FLOPS_BACKEND(Enum):
    """ptflops' backend names (``FLOPS_BACKEND("pytorch")`` works as in ptflops)."""

    PYTORCH = "pytorch"
    ATEN = "aten"


#: backend -> (engine, convention): the engine and pricing rules nearest to ptflops' backend
_PLANS = {
    FLOPS_BACKEND.PYTORCH: ("eager", "ptflops"),
    FLOPS_BACKEND.ATEN: ("eager", "ptflops-aten"),
}


def parse_backend(backend: Union[None, str, FLOPS_BACKEND]) -> Optional[FLOPS_BACKEND]:
    """``None``, a :class:`FLOPS_BACKEND` or its string value; anything else is refused with a
    one-line error naming it."""
    if backend is None or isinstance(backend, FLOPS_BACKEND):
        return backend
    if isinstance(backend, str):
        try:
            return FLOPS_BACKEND(backend.lower())
        except ValueError:
            pass
    raise ValueError(
        f"unknown backend {backend!r}: use 'pytorch' or 'aten' (FLOPS_BACKEND.PYTORCH / "
        "FLOPS_BACKEND.ATEN), or leave it out and pick the engine with mode='eager' | 'graph'"
    )


def resolve(
    backend: Union[None, str, FLOPS_BACKEND], mode: Optional[str], convention: Optional[str]
) -> Tuple[str, str]:
    """``(mode, convention)`` for :func:`flowflops.profile`: those ``backend`` implies, unless
    ``mode`` / ``convention`` are given. Without a backend: ``mode`` or ``"eager"``, and the
    article's convention."""
    chosen = parse_backend(backend)
    if chosen is None:
        return mode or "eager", convention or "flowflops"
    engine, rules = _PLANS[chosen]
    return mode or engine, convention or rules
