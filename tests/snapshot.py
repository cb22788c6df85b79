"""Everything a count could touch on a model, to compare before and after."""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import oneflow as flow
import oneflow.nn as nn


def snapshot(model: nn.Module) -> Dict[str, Any]:
    from flowflops.eager.functional import patched_attributes

    state: Dict[str, Any] = {"grad_enabled": flow.is_grad_enabled(), "modules": {}, "tensors": {},
                             "functions": [(id(o), n, id(getattr(o, n))) for o, n in patched_attributes()]}
    for name, m in model.named_modules():
        state["modules"][name] = (
            type(m).__name__,
            m.training,
            tuple((k, id(v)) for k, v in m._forward_hooks.items()),
            tuple((k, id(v)) for k, v in m._forward_pre_hooks.items()),
            tuple(sorted(m.__dict__.keys())),
        )
    for name, p in model.named_parameters():
        state["tensors"]["p:" + name] = (id(p), p.requires_grad, p.numpy().copy())
    for name, b in model.named_buffers():
        state["tensors"]["b:" + name] = (b.numpy().copy(),)
    return state


def assert_same(before: Dict[str, Any], after: Dict[str, Any]) -> None:
    assert before["grad_enabled"] == after["grad_enabled"]
    assert before["functions"] == after["functions"]  # count_functional's patches are all gone
    assert before["modules"] == after["modules"]
    assert before["tensors"].keys() == after["tensors"].keys()
    for k, v in before["tensors"].items():
        w = after["tensors"][k]
        assert v[:-1] == w[:-1], k
        assert np.array_equal(v[-1], w[-1]), k


def plain(x: Any) -> Any:
    """A state dict (of a model or an optimizer) with its tensors as nested lists, to compare
    with ``==``."""
    if isinstance(x, flow.Tensor):
        return x.numpy().tolist()
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(plain(v) for v in x)
    return x
