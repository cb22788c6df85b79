"""A model another thread uses while it is counted (issue 29): a training loop's step, its
``model.train()`` / ``model.eval()``, ``requires_grad_``, a ``copy.deepcopy`` for a checkpoint.
Real threads, made to meet at a fixed point: the model's forward, run in the counting thread,
lets the other thread act and waits until it has.

Training-step and graph counts compile a private view of the model
(:mod:`flowflops.runtime.view`): the other thread sees none of the count's flags, gradients
or optimizer, keeps what it sets, and the count's number is that of the model as the count
found it. Eager counts run a view too, whose forward hooks call the user's hooks with the user's own
modules: mid-count another thread sees the user's flags, hooks and attributes, a copy or a
pickle carries nothing of the count, and a flag that thread flips is its own (the count runs
in eval mode throughout).
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


def count_while(act, model, count=None, **kwargs):
    """Count ``model`` in this thread (``count()``, by default ``flowflops.profile``); at its
    first forward, ``act()`` runs in another thread. Returns the report (or the CountError)
    and what ``act`` returned (or raised)."""
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
        result = count() if count is not None else flowflops.profile(model, (2, 4), **kwargs)
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


class Deep(nn.Module):
    """Linear(4, 3) -> BatchNorm1d(3) -> ReLU -> Dropout -> Linear(3, 2), with a user hook on
    the last Linear; in the counting thread the forward lets the other thread act first."""

    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Dropout(0.5),
                                 nn.Linear(3, 2))
        self.seen = []  # the modules the user's hook was called with
        self.seq[4].register_forward_hook(lambda m, i, o: self.seen.append(m))

    def forward(self, x):
        if threading.get_ident() == MEET["thread"]:
            _go.set()
            assert _done.wait(30)
        return self.seq(x)


def user_state(model):
    """What another thread can see of every module: its flag, its hooks (keys and the hook
    objects), its attribute names."""
    return {name: (m.training, list(m._forward_hooks.items()), list(m._forward_pre_hooks.items()),
                   sorted(m.__dict__))
            for name, m in model.named_modules()}


# Deep on (2, 4), eager, eval mode: Linear(4, 3) 2*3*4 + bias 2*3 = 30; BatchNorm1d on 2*3
# elements, normalise and affine: 2 each = 12; ReLU: 6 (one per element); Dropout: 0;
# Linear(3, 2) 2*2*3 + bias 2*2 = 16. In all 30 + 12 + 6 + 16 = 64.
DEEP_MACS = 30 + 12 + 6 + 16
KEEP = {False: {}, True: {"backend_specific_config": {"keep_training": True}}}


@pytest.mark.parametrize("keep", [False, True], ids=["eval", "keep_training"])
def test_another_thread_mid_eager_count_sees_the_users_modules_as_they_are(keep):
    flow.manual_seed(3)
    model = Deep()
    model.train()
    model.seq[1].eval()  # mixed flags, the user's own
    before = user_state(model)
    report, seen = count_while(lambda: user_state(model), model, **KEEP[keep])
    assert not isinstance(report, CountError), report
    assert seen["value"] == before  # mid-count: the user's flags, hooks and attributes
    assert user_state(model) == before
    if not keep:
        assert report.macs == DEEP_MACS
    # the user's hook fired once, with the user's own module (identity), not a stand-in
    assert len(model.seen) == 1 and model.seen[0] is model.seq[4]


@pytest.mark.parametrize("start", [True, False])
def test_a_flag_flipped_mid_eager_count_is_the_users_and_the_count_is_evals(start):
    model = Deep()
    model.train(start)

    def flip():
        was = {name: m.training for name, m in model.named_modules()}
        model.seq.train(not start)
        return was

    report, seen = count_while(flip, model)
    assert not isinstance(report, CountError), report
    assert set(seen["value"].values()) == {start}  # the user's flags, never the count's eval
    assert model.training is start  # nobody flipped the root
    assert all(m.training is (not start) for m in model.seq.modules())  # that thread's, kept
    assert report.macs == DEEP_MACS  # the count ran in eval mode throughout


@pytest.mark.parametrize("keep", [False, True], ids=["eval", "keep_training"])
def test_a_deepcopy_and_a_pickle_mid_eager_count_carry_nothing_of_the_count(keep):
    import pickle
    import warnings

    model = Deep()
    model.train()
    model.seq[0].register_forward_pre_hook(_keep_args)

    def take():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # OneFlow: "The module hooks will not be remained"
            return copy.deepcopy(model), pickle.loads(pickle.dumps(model))

    report, seen = count_while(take, model, **KEEP[keep])
    assert not isinstance(report, CountError), report
    for dup in seen["value"]:
        for (name, m), (_, mine) in zip(dup.named_modules(), model.named_modules()):
            assert m.training is mine.training is True, name  # the user's flags
            # OneFlow's __getstate__ drops hooks: the copies have none (the count's never)
            assert not m._forward_hooks and not m._forward_pre_hooks, name
            assert sorted(m.__dict__) == sorted(mine.__dict__), name  # nothing of the count
        assert np.array_equal(dup.seq[1].running_mean.numpy(), np.zeros(3))
    assert [type(h).__name__ for h in model.seq[0]._forward_pre_hooks.values()] == ["function"]


def _keep_args(m, args):
    return None


def test_a_user_hook_writing_on_its_module_sees_it_and_leaves_nothing():
    """A user's hook gets the user's module; what it binds there is moved onto the count's
    view after the call (the forward reads it there), and the user's module keeps nothing."""
    calls = []

    class Reads(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            y = self.fc(x)
            calls.append(getattr(self.fc, "last", None) is y)  # the hook's attribute, read back
            return y

    model = Reads()

    def hook(m, args, out):
        assert m is model.fc
        m.last = out
        m._forward_hooks.clear()  # a container changed in place: the user's dict gets it back

    model.fc.register_forward_hook(hook)
    keys = list(model.fc._forward_hooks)
    assert flowflops.profile(model, (2, 4)).macs == 2 * 3 * 4 + 2 * 3  # matmul + bias
    assert calls == [True]
    assert "last" not in model.fc.__dict__
    assert list(model.fc._forward_hooks) == keys
    model(flow.ones(2, 4))  # a plain forward: the hook's writes are the user's now
    assert calls == [True, True] and "last" in model.fc.__dict__


def test_a_module_reached_through_a_closure_is_counted_as_the_counts():
    """``self.fn = lambda x: self.fc(x)`` holds the user's fc, not the view's: the count sends
    that call (made in the counting thread) to fc's view, so it is priced, in eval mode; the
    wrapper of ``nn.Module.__call__`` is gone after the count."""
    import functools

    class Closure(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.bn = nn.BatchNorm1d(3)
            self.fn = lambda x: self.bn(self.fc(x))
            self.again = functools.partial(self.fc)

        def forward(self, x):
            return self.fn(x) + self.again(x)

    call = nn.Module.__call__
    model = Closure()
    model.train()
    # Linear(4, 3) on (2, 4) twice: 2 * (2*3*4 + 2*3) = 60; BatchNorm1d in eval mode on 2*3
    # elements, 2 each: 12; the add of two (2, 3) tensors is a functional (not counted here)
    assert flowflops.profile(model, (2, 4)).macs == 60 + 12
    assert nn.Module.__call__ is call
    assert model.training and model.bn.training  # the user's
    assert np.array_equal(model.bn.running_mean.numpy(), np.zeros(3))  # eval: not written


def test_another_thread_mid_measure_sees_the_users_modules_as_they_are():
    """``flowflops.measure`` times the forward on a view too (its eval flags and per-module
    timing hooks are the view's)."""
    model = Deep()
    model.train()
    before = user_state(model)
    report = flowflops.profile(model, (2, 4))
    got, seen = count_while(lambda: user_state(model), model,
                            count=lambda: flowflops.measure(model, (2, 4), report=report, warmup=1, repeats=2))
    assert seen["value"] == before
    assert user_state(model) == before
    assert set(got.module_times) >= {"", "seq", "seq.0", "seq.4"}  # the view's modules, by path


class FlagBehindProperty(nn.Module):
    """Its training flag is a property whose setter keeps it under another name: setting it
    is more than binding ``training`` in the ``__dict__``."""

    seen = []  # what each forward read as its flag

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    @property
    def training(self):
        return self.__dict__.get("_mode", True)

    @training.setter
    def training(self, mode):
        self.__dict__["_mode"] = mode

    def forward(self, x):
        FlagBehindProperty.seen.append(self.training)
        return self.fc(x)


def test_a_training_flag_behind_a_property_is_set_through_it_on_the_view():
    model = FlagBehindProperty()
    assert model.training is True
    FlagBehindProperty.seen.clear()
    report = flowflops.profile(model, (1, 4))
    # the count's forward ran in eval mode, through the class's own setter (on the view)
    assert FlagBehindProperty.seen == [False]
    assert model.training is True and "training" not in model.__dict__  # the user's flag as it was
    assert report.macs == 4 * 3 + 3  # Linear(4, 3) on one row: 12 MACs, 3 bias adds
