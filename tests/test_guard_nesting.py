"""What one count does must not leak into another, nor a user's hooks out of it (issue 29): a
graph count run by an eager+count_functional count's forward, a pre-hook that clears its
module's forward hooks."""
from collections import OrderedDict

import oneflow as flow
import oneflow.nn as nn

import flowflops

FUNCTIONAL = {"count_functional": True}
INNER_MACS = []  # outside the model: a count puts the model's own lists back


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 8)

    def forward(self, x):
        return flow.relu(self.fc(x))


class Outer(nn.Module):
    """Its forward runs a graph count of another model (a notebook cell's helper, a logging
    callback), then one matmul of its own."""

    def __init__(self, mode):
        super().__init__()
        self.w = nn.Parameter(flow.ones(4, 2))
        self.mode = mode

    def forward(self, x):
        INNER_MACS.append(flowflops.profile(Inner(), (2, 4), mode=self.mode).macs)
        return x @ self.w


def test_a_graph_count_inside_a_functional_count_is_not_counted_by_it():
    for mode in ("graph", "train", "eager"):
        INNER_MACS.clear()
        outer = Outer(mode)
        r = flowflops.profile(outer, (3, 4), backend_specific_config=FUNCTIONAL)
        # the outer forward's own work: x (3, 4) @ w (4, 2): 3*2*4 = 24 MACs, nothing else
        assert r.macs == 24, (mode, r.macs)
        # the inner count got its own numbers: Linear(4, 8) on (2, 4): 2*8*4 = 64 + bias 16,
        # and in graph mode the relu's 16 (an eager count without count_functional does not
        # see flow.relu); mode="train" adds the backward and the update
        if mode != "train":
            assert INNER_MACS == [64 + 16 + (16 if mode == "graph" else 0)], (mode, INNER_MACS)


def test_a_pre_hook_that_clears_forward_hooks_does_not_unprice_its_layer():
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))

    def clear(m, args):
        m._forward_hooks.clear()

    def replace(m, args):
        m._forward_hooks = OrderedDict()

    model[0].register_forward_pre_hook(clear)
    model[1].register_forward_pre_hook(replace)
    # Linear(4, 8) on (1, 4): 32 + bias 8 = 40; Linear(8, 2) on (1, 8): 16 + bias 2 = 18
    for _ in range(2):
        assert flowflops.profile(model, (1, 4)).macs == 40 + 18
