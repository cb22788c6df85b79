"""What a count leaves behind inside a real training script (flowflops.runtime.guard and the
patches of flowflops.eager.functional): other threads, overlapping counts, the user's own
nn.Graph, stateful forwards, user hooks. Each test is numbered by the failure of
docs/guarantees.md's cases it covers (issue 14's list; Ctrl-C, 4, is in test_interrupts.py,
huge shapes, 7, in test_limits.py, the command line, 11, in test_cli_errors.py)."""
import threading
import time

import numpy as np
import oneflow as flow
import oneflow.nn as nn
import oneflow.nn.functional as F
import pytest

import flowflops
from flowflops.eager import functional
from models import ModelGraph, TrainGraph
from process_state import assert_process_clean, default_sigint, first_tensor_alone, started_alone  # noqa: F401 (a fixture)
from snapshot import assert_same, snapshot

# each test starts with Python's own SIGINT handler (see process_state.default_sigint)
pytestmark = pytest.mark.usefixtures("default_sigint")


class MatVec(nn.Module):
    """``x @ w`` with ``w`` of shape (2, 2): on x of shape (1, 2) one matmul of 1*2 outputs,
    each a 2-long dot product: 4 MACs. Seen only through count_functional (no module hook)."""

    def __init__(self, barrier=None):
        super().__init__()
        self.w = nn.Parameter(flow.ones(2, 2))
        self.barrier = barrier

    def forward(self, x):
        if self.barrier is not None:
            self.barrier.wait(timeout=20)
        return x @ self.w


FUNCTIONAL = {"count_functional": True}


# -- 1. threads and count_functional -----------------------------------------------------------
def test_1_other_threads_ops_are_not_counted():
    stop, started = threading.Event(), threading.Event()
    calls = [0]
    model = MatVec()

    def busy():
        first_tensor_alone()
        a = flow.ones(8, 8)
        while not stop.is_set():
            flow.matmul(a, a) + a
            calls[0] += 1
            started.set()
            time.sleep(0.0005)

    # (oneflow 0.9 can deadlock when two threads make their first tensors at the same time,
    # flowflops or not: the other thread starts once this one has made its own)
    t = threading.Thread(target=busy)
    t.start()
    try:
        assert started.wait(20)
        macs = [flowflops.profile(model, (1, 2), backend_specific_config=FUNCTIONAL).macs for _ in range(10)]
    finally:
        stop.set()
        t.join()
    assert calls[0] > 0
    assert macs == [4] * 10  # x @ w: 1*2 outputs x K=2
    assert_process_clean()


def test_1_overlapping_functional_counts_install_once_and_remove_once():
    originals = [(o, n, getattr(o, n)) for o, n in functional.patched_attributes()]
    barrier = threading.Barrier(2)
    seen = []

    class Probe(MatVec):
        def forward(self, x):
            out = super().forward(x)  # both counts are inside their forward now
            seen.append((functional._patches[(id(flow), "matmul")][4], flow.matmul is not originals_by_name["matmul"]))
            kept.append(flow.matmul)  # user code holding on to a patched function
            return out

    originals_by_name = {n: f for o, n, f in originals if o is flow}
    results, kept = {}, []

    def count(i):
        results[i] = flowflops.profile(Probe(barrier), (1, 2), backend_specific_config=FUNCTIONAL).macs

    threads = [threading.Thread(target=started_alone(count), args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {0: 4, 1: 4}
    assert sorted(seen)[-1] == (2, True)  # both counts used the one installation
    assert all(getattr(o, n) is f for o, n, f in originals)
    assert_process_clean()
    # a wrapper kept from the counts has no counter to feed any more: it only calls matmul
    assert kept[0] is not originals_by_name["matmul"] and getattr(functional._tls, "active", None) is None
    x, w = flow.ones(1, 2), flow.ones(2, 2)
    assert kept[0](x, w).numpy().tolist() == [[2.0, 2.0]]
    assert flowflops.profile(MatVec(), (1, 2), backend_specific_config=FUNCTIONAL).macs == 4


# -- 2. overlapping counts of the same model -----------------------------------------------------
class Slow(nn.Module):
    """Records how many forwards run at once (the counts of one model take turns)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3, bias=False)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        Slow.running.append(1)
        Slow.peak = max(Slow.peak, len(Slow.running))
        time.sleep(0.05)
        Slow.running.pop()
        return self.drop(self.fc(x))


def test_2_overlapping_counts_of_one_model_leave_it_in_train_mode():
    Slow.running, Slow.peak = [], 0
    model = Slow().train()
    before = snapshot(model)
    macs = []
    threads = [threading.Thread(target=started_alone(lambda: macs.append(flowflops.profile(model, (2, 4)).macs)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert macs == [24] * 4  # Linear 4 -> 3 without bias on 2 rows: 2*3 outputs x 4
    assert Slow.peak == 1
    assert all(m.training for m in model.modules())
    assert_same(before, snapshot(model))
    assert_process_clean()


def test_2_a_count_inside_a_count_of_the_same_model_is_a_clear_error():
    class Nested(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            flowflops.profile(self, (1, 2))
            return self.fc(x)

    model = Nested()
    with pytest.raises(flowflops.CountError, match="already being counted in this thread"):
        flowflops.profile(model, (1, 2))
    assert_process_clean()


# -- 3. the user's own nn.Graph ---------------------------------------------------------------
def test_3_user_graph_still_compiles_and_runs_after_a_count():
    model = nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU())
    g = ModelGraph(model)
    # Linear: 1*3 outputs x 4 = 12 MACs; ReLU: 3 ops
    assert flowflops.profile(g, (1, 4)).macs == 15
    assert flowflops.profile(g, (1, 4)).macs == 15  # counting it again works too
    assert not g._is_compiled
    x = flow.ones(1, 4)
    assert np.allclose(g(x).numpy(), model(x).numpy())  # the user's graph compiles and runs
    assert flowflops.profile(g).macs == 15  # and, compiled, is read as it is


def test_3_user_training_graph_leaves_no_lazy_grads():
    model = nn.Linear(4, 3, bias=False)
    opt = flow.optim.SGD(model.parameters(), lr=0.1)

    g = TrainGraph(model, opt)
    report = flowflops.profile(g, (2, 4))
    assert report.macs > 24  # forward 2*3*4 = 24, plus backward and update
    assert model.weight.grad is None
    model(flow.ones(2, 4)).sum().backward()  # an eager backward works
    assert model.weight.grad is not None
    model.weight.grad = None
    g(flow.ones(2, 4))  # the user's training graph compiles and trains
    assert_process_clean()


# -- 8. mode="train" on a model trained through the user's nn.Graph --------------------------
def test_8_train_mode_after_training_through_a_user_graph():
    model = nn.Linear(4, 3, bias=False)
    opt = flow.optim.SGD(model.parameters(), lr=0.1)

    g = TrainGraph(model, opt)
    g(flow.ones(2, 4))
    assert model.weight.grad.is_lazy  # what OneFlow's graph training leaves
    lazy_grad = model.weight.grad
    report = flowflops.profile(model, (2, 4), mode="train", loss_fn=lambda out, target: out.sum())
    assert report.by_phase()["forward"].macs >= 24  # the forward's matmul: 2*3*4
    # the count compiles on parameters of its own (flowflops.runtime.view): the lazy .grad
    # the user's graph left is still there, untouched, never the count's tensor
    assert model.weight.grad is lazy_grad
    g(flow.ones(2, 4))  # the user's graph trains on
    model.weight.grad = None  # (an eager backward cannot accumulate into OneFlow's lazy grad)
    model(flow.ones(2, 4)).sum().backward()  # and so does eager training
    assert_process_clean()


# -- 5. side effects of an eager forward --------------------------------------------------------
class Stateful(nn.Module):
    """A KV-cache list, a step-counter buffer, a rebinding attribute and a random draw."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.cache = []
        self.past = None
        self.register_buffer("steps", flow.zeros(1))
        self.kv = flow.zeros(2, 4)  # a pre-allocated cache, written in place

    def forward(self, x):
        y = self.fc(x)
        self.cache.append(y)
        self.past = y
        self.steps += 1
        self.kv[0] = y[0]
        return y + flow.randn(*y.shape) * 0


def test_5_eager_side_effects_are_undone():
    model = Stateful()
    model(flow.ones(1, 4))  # one real step: the cache holds one entry, steps == 1
    cache, kv = list(model.cache), model.kv.numpy().copy()
    flow.manual_seed(7)
    expected = flow.randn(3).numpy()
    flow.manual_seed(7)
    flowflops.profile(model, (1, 4))
    assert flow.randn(3).numpy().tolist() == expected.tolist()  # the seeded run is unchanged
    assert len(model.cache) == 1 and all(a is b for a, b in zip(model.cache, cache))
    assert model.past is cache[0]
    assert model.steps.numpy().tolist() == [1.0]
    assert np.array_equal(model.kv.numpy(), kv)
    assert_process_clean()


# -- 6. a function looked up during a count -----------------------------------------------------
ACT2FN = {}


class LazyAct(nn.Module):
    """Looks gelu up in a table built on first use, as transformers' ACT2FN is."""

    def forward(self, x):
        if not ACT2FN:
            ACT2FN["gelu"] = F.gelu
        return ACT2FN["gelu"](x)


def test_6_a_wrapper_kept_by_user_code_stays_harmless_and_counted():
    ACT2FN.clear()
    model = nn.Sequential(LazyAct())
    # gelu: one op per output element; 1 x 8 elements
    assert flowflops.profile(model, (1, 8), backend_specific_config=FUNCTIONAL).macs == 8
    kept = ACT2FN["gelu"]
    assert F.gelu is not kept  # the patch is gone ...
    x = flow.randn(1, 8)
    assert np.allclose(kept(x).numpy(), F.gelu(x).numpy())  # ... and the kept one passes through
    assert flowflops.profile(model, (1, 8), backend_specific_config=FUNCTIONAL).macs == 8
    assert_process_clean()


# -- 9. user hooks that replace outputs ------------------------------------------------------
@pytest.mark.parametrize("replace", [lambda out: out.sum(dim=1, keepdim=True), lambda out: (out, out)],
                         ids=["smaller-tensor", "tuple"])
def test_9_user_hooks_do_not_change_what_is_priced(replace):
    model = nn.Sequential(nn.Linear(4, 30, bias=False))
    model[0].register_forward_hook(lambda m, inputs, out: replace(out))
    # the Linear's own output is (1, 30): 30 outputs x 4 = 120 MACs
    assert flowflops.profile(model, (1, 4)).macs == 120
    assert_process_clean()


# -- 10. hooks the model registers during its first forward ---------------------------------------
class RegistersHook(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.ready = False
        self.fired = []

    def forward(self, x):
        if not self.ready:
            self.ready = True
            self.register_forward_hook(lambda m, i, o: self.fired.append("model"))
        return self.fc(x)


def test_10_hooks_registered_in_the_first_forward_are_not_overwritten():
    model = RegistersHook()
    before = snapshot(model)
    flowflops.profile(model, (1, 2))
    assert_same(before, snapshot(model))  # the forward's hook went with its other side effects
    model(flow.ones(1, 2))  # the real first forward registers it, under key 0
    model.register_forward_hook(lambda m, i, o: model.fired.append("user"))  # key 1
    model.fired.clear()
    model(flow.ones(1, 2))
    assert model.fired == ["model", "user"]


# -- 12. concurrent graph-mode counts ------------------------------------------------------------
def test_12_concurrent_graph_counts_all_succeed():
    results, errors = [], []

    def count(n):
        try:
            for _ in range(3):
                # Linear n -> 3 without bias on (2, n): 2*3 outputs x n
                results.append((n, flowflops.profile(nn.Linear(n, 3, bias=False), (2, n), mode="graph").macs))
        except Exception as err:  # pragma: no cover (the failure this test is for)
            errors.append(err)

    threads = [threading.Thread(target=started_alone(count), args=(n,)) for n in (4, 5, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == sorted([(n, 6 * n) for n in (4, 5, 6)] * 3)
