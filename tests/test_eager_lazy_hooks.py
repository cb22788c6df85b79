"""Hooks a model registers lazily in its first forward (issue 29): a count that is the model's
first forward runs the user's hooks in the order a plain first forward runs them, and leaves
the model so that its own first forward afterwards registers and runs them the same way. The
reference order is the same model's plain forward, run without flowflops."""
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops


LOG: list = []  # the log of the model made last


class Lazy(nn.Module):
    """Registers a pre-hook and a hook on ``fc`` and a hook on itself in its first forward,
    after the ones registered at construction; one hook replaces ``fc``'s output."""

    def __init__(self, log):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.registered = False
        LOG[:] = [log]  # not an attribute: a count puts the model's attributes back
        self.register_forward_hook(lambda m, i, o: log.append("rootA"))
        self.fc.register_forward_hook(lambda m, i, o: log.append("A"))
        self.fc.register_forward_pre_hook(lambda m, i: log.append("preA"))

    def forward(self, x):
        if not self.registered:
            self.registered = True
            log = LOG[0]
            self.register_forward_hook(lambda m, i, o: log.append("rootB"))
            self.fc.register_forward_pre_hook(lambda m, i: log.append("preB"))

            def doubled(m, i, o):
                log.append("B")
                return o * 2
            self.fc.register_forward_hook(doubled)
        return self.fc(x)


def _plain(runs):
    log: list = []
    model = Lazy(log)
    out = []
    for _ in range(runs):
        before = len(log)
        y = model(flow.ones(1, 4))
        out.append((log[before:], y.shape))
    return out


CONFIGS = [
    pytest.param({}, id="eager"),
    pytest.param({"backend_specific_config": {"count_functional": True}}, id="eager-functional"),
    pytest.param({"mode": "graph"}, id="graph"),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_lazily_registered_hooks_keep_their_order(config):
    first, second = _plain(2)
    assert first[0] == ["preA", "preB", "A", "B", "rootA", "rootB"] and second == first
    log: list = []
    model = Lazy(log)
    keys = (list(model._forward_hooks), list(model.fc._forward_hooks), list(model.fc._forward_pre_hooks))
    report = flowflops.profile(model, input_res=(1, 4), **config)
    # Linear(4, 3) on (1, 4): 4*3 + 3 MACs; the hook's doubling (3 elements) is not the model's.
    assert report.macs >= 4 * 3 + 3
    if config.get("mode") != "graph":  # nn.Graph runs no forward hooks (OneFlow's rule)
        assert log == first[0], log
    # The count registered nothing for good: the model's own first forward does it, as plainly.
    assert (list(model._forward_hooks), list(model.fc._forward_hooks), list(model.fc._forward_pre_hooks)) == keys
    assert model.registered is False
    del log[:]
    model(flow.ones(1, 4))
    assert log == first[0]
    del log[:]
    model(flow.ones(1, 4))
    assert log == second[0]
