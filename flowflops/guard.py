"""What a count may touch on the user's model, saved before and put back after."""
from __future__ import annotations

import contextlib
from typing import Iterator, List, Tuple

import oneflow as flow
import oneflow.nn as nn


@contextlib.contextmanager
def counting_state(model: nn.Module, training: bool = False) -> Iterator[None]:
    """Run the body with every module in eval mode and gradients off (``training=True``:
    training mode and gradients on); afterwards every module's ``training`` flag and the global
    grad mode are exactly as before, also when the body raises (KeyboardInterrupt included)."""
    flags: List[Tuple[nn.Module, bool]] = [(m, m.training) for m in model.modules()]
    try:
        for m, _ in flags:
            m.training = training
        with (flow.enable_grad() if training else flow.no_grad()):
            yield
    finally:
        for m, was_training in flags:
            m.training = was_training
