"""count_functional's patches (flowflops.eager.functional): removed even when the forward raises,
a functional call inside a priced module not counted twice, calls charged to the running
module."""
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops

FUNCTIONAL = {"count_functional": True}


def test_functional_patches_are_removed_even_when_forward_raises():
    from flowflops.eager.functional import patched_attributes

    before = [(o, n, getattr(o, n)) for o, n in patched_attributes()]

    class Bad(nn.Module):
        def forward(self, x):
            flow.relu(x) + 1  # an op the engine sees before the failure
            raise RuntimeError("halfway")

    with pytest.raises(flowflops.CountError):
        flowflops.profile(Bad(), (2, 2), backend_specific_config=FUNCTIONAL)
    assert all(getattr(o, n) is f for o, n, f in before)


def test_functional_call_inside_a_priced_module_is_not_counted_twice():
    # nn.Linear is priced by its hook; its internal matmul and += bias must not add to it
    r = flowflops.profile(nn.Linear(8, 4), (3, 8), backend_specific_config=FUNCTIONAL)
    assert r.macs == 3 * 8 * 4 + 3 * 4


def test_functional_calls_are_attributed_to_the_running_module():
    class Scale(nn.Module):
        def forward(self, x):
            return flow.sigmoid(x) * x  # 1 + 1 per element

    model = nn.Sequential(nn.Linear(4, 4), Scale())
    r = flowflops.profile(model, (2, 4), backend_specific_config=FUNCTIONAL)
    assert r.by_module()["1"].macs == 2 * 4 + 2 * 4
