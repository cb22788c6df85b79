"""A model another thread uses while it is counted (issue 29): a training loop's step, its
``model.train()`` / ``model.eval()``, ``requires_grad_``, a ``copy.deepcopy`` for a checkpoint.
Real threads, made to meet at a fixed point: the model's forward, run in the counting thread,
lets the other thread act and waits until it has.

Training-step and graph counts compile a private view of the model
(:mod:`flowflops.runtime.view`): the other thread sees none of the count's flags, gradients
or optimizer, keeps what it sets, and the count's number is that of the model as the count
found it. Eager counts run the user's modules: a flag flipped by another thread mid-count is
a CountError (never a silently mixed number) and the flag is left as that thread set it.
"""
import copy
import threading
from collections import Counter

import numpy as np
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops import CountError

MEET = {"thread": None, "act": None}  # the counting thread's id; what the other thread does
_go, _done = threading.Event(), threading.Event()


class Net(nn.Module):
    """Linear(4, 3). In the counting thread the forward lets the other thread act first."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        if threading.get_ident() == MEET["thread"]:
            _go.set()
            assert _done.wait(30)
        return self.fc(x)


def count_while(act, model, **kwargs):
    """Count ``model`` in this thread; mid-forward, ``act()`` runs in another thread. Returns
    the report (or the CountError) and what ``act`` returned (or raised)."""
    _go.clear()
    _done.clear()
    seen = {}

    def other():
        assert _go.wait(30)
        try:
            seen["value"] = act()
        except Exception as err:  # noqa: BLE001 (the test reads it)
            seen["error"] = err
        _done.set()

    t = threading.Thread(target=other)
    t.start()
    MEET["thread"] = threading.get_ident()
    try:
        result = flowflops.profile(model, (2, 4), **kwargs)
    except CountError as err:
        result = err
    finally:
        MEET["thread"] = None
        _done.set()
        t.join(30)
    assert not t.is_alive()
    return result, seen


def ops(report):
    return Counter((rec.attrs.get("_phase"), rec.op_type, c.macs) for rec, c in report.entries)


X, Y = flow.ones(2, 4), flow.tensor([0, 2])


def net_and_optimizer():
    flow.manual_seed(7)
    model = Net()
    return model, flow.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)


def train_step(model, opt):
    model.train()
    opt.zero_grad()
    nn.functional.cross_entropy(model(X), Y).backward()
    opt.step()


def test_a_training_step_of_another_thread_during_a_train_count_is_its_own():
    model, opt = net_and_optimizer()
    twin, twin_opt = net_and_optimizer()  # the same seed: the same weights, trained alone
    train_step(model, opt)
    train_step(twin, twin_opt)
    report, seen = count_while(lambda: train_step(model, opt), model, mode="train", optimizer=opt)
    train_step(twin, twin_opt)  # the same step, with no count around
    assert "error" not in seen, seen
    assert not isinstance(report, CountError), report
    # the trainer's gradients, weights and momentum are exactly those of the step alone
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        assert np.array_equal(p.grad.numpy(), q.grad.numpy()), name
        assert np.array_equal(p.numpy(), q.numpy()), name
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(opt._state[p]["momentum_buf"].numpy(),
                              twin_opt._state[q]["momentum_buf"].numpy())
    assert model.training and model.fc.training  # what the trainer set
    # and the count is the step's: momentum update = 4 per element (beta * m, + g, lr * m,
    # w -): weight 3 * 4 elements, bias 3
    assert ops(report)[("optimizer", "momentum_update", 4 * 12)] == 1
    assert ops(report)[("optimizer", "momentum_update", 4 * 3)] == 1
    assert ops(report)[("forward", "matmul", 2 * 3 * 4)] == 1  # (2, 4) x (4, 3)
    model(X).sum().backward()  # the user's eager training goes on
    assert model.fc.bias.grad is not None


@pytest.mark.parametrize("mode", ["train", "graph"])
def test_flags_another_thread_sets_mid_count_are_its_own(mode):
    model, _ = net_and_optimizer()
    start = mode == "graph"  # the opposite of what the count compiles in
    model.train(start)

    def flip():
        was = (model.training, model.fc.training)  # what this thread sees mid-count
        model.train(not start)
        return was

    report, seen = count_while(flip, model, mode=mode)
    assert not isinstance(report, CountError), report
    assert seen["value"] == (start, start)  # the user's flags, never the count's
    assert model.training is (not start) and model.fc.training is (not start)  # kept
    phase = "forward" if mode == "train" else None  # graph counts have no phases
    assert ops(report)[(phase, "matmul", 2 * 3 * 4)] == 1  # (2, 4) x (4, 3)


def test_requires_grad_flipped_mid_train_count_gives_the_start_state_and_is_kept():
    model, _ = net_and_optimizer()
    report, seen = count_while(lambda: model.fc.bias.requires_grad_(False), model, mode="train")
    assert not isinstance(report, CountError), report
    assert model.fc.bias.requires_grad is False  # what the user set
    # both parameters were trainable when the count began: both are updated (SGD, lr=0.1:
    # 2 MACs per element), and the bias gradient (a sum over the batch of 2: 2 * 3) is there
    got = ops(report)
    assert got[("optimizer", "sgd_update", 2 * 12)] == 1
    assert got[("optimizer", "sgd_update", 2 * 3)] == 1
    assert got[("backward", "reduce_sum_like", 2 * 3)] == 1


@pytest.mark.parametrize("mode", ["train", "graph"])
def test_a_deepcopy_mid_compiled_count_has_the_users_flags(mode):
    model, _ = net_and_optimizer()
    model.train(mode == "graph")  # the opposite of the count's flags
    report, seen = count_while(lambda: copy.deepcopy(model), model, mode=mode)
    assert not isinstance(report, CountError), report
    dup = seen["value"]
    assert dup.training is (mode == "graph") and dup.fc.training is (mode == "graph")
    assert not dup._forward_hooks and not dup.fc._forward_hooks
    assert dup.fc.weight.grad is None


def test_a_deepcopy_mid_eager_count_has_the_counts_eval_flags_as_documented():
    """Eager counts run the user's modules in eval mode: a copy taken mid-count is a copy of
    that (README, "Guarantees"); it carries no hook of the count (OneFlow's
    Module.__getstate__ drops hooks)."""
    model, _ = net_and_optimizer()
    model.train()
    report, seen = count_while(lambda: copy.deepcopy(model), model)
    assert not isinstance(report, CountError), report
    dup = seen["value"]
    assert dup.training is False and dup.fc.training is False
    assert not dup._forward_hooks and not dup.fc._forward_hooks
    assert model.training and model.fc.training  # the user's flags are back


@pytest.mark.parametrize("start", [True, False])
def test_a_flag_flipped_mid_eager_count_is_a_count_error_and_stays(start):
    model, _ = net_and_optimizer()
    model.train(start)
    report, seen = count_while(lambda: model.fc.train(True), model)
    # the count ran fc in eval mode, then another thread put it in training mode: the
    # number could mix the two, so there is none
    assert isinstance(report, CountError)
    assert "another thread set the training flag of 1 module(s) (Linear)" in str(report)
    assert model.fc.training is True  # that thread's
    assert model.training is start  # the root's own flag, which nobody flipped, is back
