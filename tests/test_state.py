"""The user's model leaves a count exactly as it came in."""
import itertools

import flowvision.models as zoo
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from models import ZOO, zoo_input
from snapshot import assert_same, snapshot


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(8 * 4 * 4, 10),
    )


class Boom(nn.Module):
    """Raises on its ``fail_on``-th call. The calls are counted by an iterator, whose own state
    a count cannot put back (a count puts back the module's attributes, so an int attribute
    would be back at 0 after every count)."""

    def __init__(self, fail_on: int, exc: BaseException):
        super().__init__()
        self.calls, self.fail_on, self.exc = itertools.count(1), fail_on, exc

    def forward(self, x):
        if next(self.calls) == self.fail_on:
            raise self.exc
        return x


@pytest.mark.parametrize("mode", ["eager", "graph"])
@pytest.mark.parametrize("training", [True, False])
def test_model_untouched(mode, training):
    model = small_cnn()
    model.train(training)
    user_hook_calls = []
    model[2].register_forward_hook(lambda m, i, o: user_hook_calls.append(1))
    before = snapshot(model)
    report = flowflops.profile(model, (2, 3, 8, 8), mode=mode)
    assert report.macs > 0
    assert_same(before, snapshot(model))
    n = len(user_hook_calls)
    model(flow.randn(2, 3, 8, 8))  # a plain forward still works, and the user's hook fires
    assert len(user_hook_calls) == n + 1


def test_hooks_keyed_like_oneflow_are_not_clobbered():
    """oneflow 0.9 keys hooks by len(dict): a user dict {1: h} must survive a count."""
    model = small_cnn()
    calls = []
    model[2]._forward_hooks[1] = lambda m, i, o: calls.append("user")
    before = snapshot(model)
    flowflops.profile(model, (1, 3, 8, 8))
    assert_same(before, snapshot(model))
    model(flow.randn(1, 3, 8, 8))
    assert "user" in calls


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_forward_that_raises_leaves_the_model_intact(exc):
    model = nn.Sequential(nn.Linear(4, 4), Boom(3, exc), nn.ReLU(), Boom(99, exc), Boom(99, exc))
    # Boom raises on its own 3rd call: calls 1 and 2 pass, the 3rd count raises.
    model.train()
    flowflops.profile(model, (1, 4))
    flowflops.profile(model, (1, 4))
    before = snapshot(model)
    expected = flowflops.CountError if isinstance(exc, Exception) else KeyboardInterrupt
    with pytest.raises(expected):
        flowflops.profile(model, (1, 4))
    assert_same(before, snapshot(model))
    assert flow.is_grad_enabled()


def test_repeated_counts_are_identical_and_nothing_piles_up():
    model = small_cnn()
    before = snapshot(model)
    results = []
    for i in range(10):
        mode = "eager" if i % 2 == 0 else "graph"
        r = flowflops.profile(model, (1, 3, 8, 8), mode=mode)
        results.append((mode, r.macs, r.params))
    assert len({r for r in results if r[0] == "eager"}) == 1
    assert len({r for r in results if r[0] == "graph"}) == 1
    assert_same(before, snapshot(model))


def test_batchnorm_running_stats_untouched_in_train_mode():
    model = small_cnn().train()
    bn = model[1]
    mean, var = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    tracked = int(bn.num_batches_tracked.numpy())
    flowflops.profile(model, (4, 3, 8, 8))
    flowflops.profile(model, (4, 3, 8, 8), mode="graph")
    assert (bn.running_mean.numpy() == mean).all() and (bn.running_var.numpy() == var).all()
    assert int(bn.num_batches_tracked.numpy()) == tracked
    assert model.training and bn.training


# -- every zoo model, from train mode, every mode ---------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_untouched_in_every_mode(name):
    model = getattr(zoo, name)()
    for training in (True, False):
        model.train(training)
        before = snapshot(model)
        flowflops.profile(model, zoo_input(name))
        flowflops.profile(model, zoo_input(name), backend_specific_config={"count_functional": True})
        if training:  # graph mode once per model keeps the suite short; eval mode: test_functional_agreement
            flowflops.profile(model, zoo_input(name), mode="graph")
        assert_same(before, snapshot(model))
