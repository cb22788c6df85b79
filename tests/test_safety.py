"""Issue 14: counts inside a real training script. Threads, overlapping counts, Ctrl-C at every
line, the user's own nn.Graph, stateful forwards, huge shapes, user hooks. Each test names the
numbered failure of the issue it covers."""
import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import oneflow as flow
import oneflow.nn as nn
import oneflow.nn.functional as F
import pytest

import flowflops
from flowflops.runtime import guard, interrupts
from flowflops.eager import functional
from models import ModelGraph
from snapshot import assert_same, snapshot

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PACKAGE = os.path.dirname(os.path.abspath(flowflops.__file__))


@pytest.fixture(autouse=True)
def default_sigint():
    """Each test starts with Python's own SIGINT handler, as in a foreground terminal: a runner
    that starts pytest in the background (``cmd &`` without job control, ``nohup``) hands it
    SIGINT ignored, and Ctrl-C could not be tested (flowflops leaves an ignored SIGINT alone)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


_FIRST_TENSOR = threading.Lock()


def first_tensor_alone():
    """Called first in every worker thread: OneFlow 0.9 can deadlock when two threads make
    their first tensors at the same moment (with or without flowflops), which hung these tests
    now and then; each thread makes its first tensor on its own, then the test goes on."""
    with _FIRST_TENSOR:
        flow.ones(1).numpy()


def started_alone(fn):
    """``fn`` run in a worker thread after :func:`first_tensor_alone`."""

    def run(*args):
        first_tensor_alone()
        return fn(*args)

    return run


def assert_process_clean():
    """Nothing global is left from a count: SIGINT handler, functional patches, module claims,
    grad mode, OneFlow's lazy mode."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not functional.installed()
    assert guard._owners == {}
    assert interrupts._State.depth == 0
    assert flow.is_grad_enabled()
    assert not flow._oneflow_internal.lazy_mode.is_enabled()


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

    class Train(flow.nn.Graph):
        def __init__(self):
            super().__init__()
            self.model = model
            self.add_optimizer(opt)

        def build(self, x):
            loss = self.model(x).sum()
            loss.backward()
            return loss

    g = Train()
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

    class Train(flow.nn.Graph):
        def __init__(self):
            super().__init__()
            self.model = model
            self.add_optimizer(opt)

        def build(self, x):
            loss = self.model(x).sum()
            loss.backward()
            return loss

    g = Train()
    g(flow.ones(2, 4))
    assert model.weight.grad.is_lazy  # what OneFlow's graph training leaves
    report = flowflops.profile(model, (2, 4), mode="train", loss_fn=lambda out, target: out.sum())
    assert report.by_phase()["forward"].macs >= 24  # the forward's matmul: 2*3*4
    # OneFlow refuses to assign a lazy .grad back; it is left None, not the count's tensor
    assert model.weight.grad is None
    g(flow.ones(2, 4))  # the user's graph trains on
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


# -- 7. huge shapes ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2 ** 64, 4), (2 ** 40, 2 ** 40)])
@pytest.mark.parametrize("mode", ["eager", "graph", "train"])
def test_7_shapes_past_int64_are_a_clear_error(shape, mode):
    with pytest.raises(flowflops.InputError, match="int64"):
        flowflops.profile(nn.Linear(4, 3), shape, mode=mode)
    assert_process_clean()


def test_7_eager_input_larger_than_memory_is_a_clear_error():
    with pytest.raises(flowflops.InputError, match=" GB "):
        flowflops.profile(nn.Conv2d(3, 4, 3), (1, 3, 100000, 100000))
    with pytest.raises(flowflops.InputError, match="mode='graph'"):
        flowflops.profile(nn.Linear(4, 3), (2 ** 40, 4))
    assert_process_clean()


def test_7_graph_mode_counts_huge_inputs_without_allocating_them():
    # (2**40, 4) float32 is 16 TiB; graph mode reads only the shape.
    # Linear 4 -> 3 without bias: 2**40 * 3 outputs x 4
    assert flowflops.profile(nn.Linear(4, 3, bias=False), (2 ** 40, 4), mode="graph").macs == 2 ** 40 * 12
    # conv 3 -> 4, 3x3, no bias, on 100000 x 100000: 4 * 99998**2 outputs x 27; its output
    # (160 GB) is never allocated either
    conv = nn.Conv2d(3, 4, 3, bias=False)
    assert flowflops.profile(conv, (1, 3, 100000, 100000), mode="graph").macs == 4 * 99998 ** 2 * 27
    assert_process_clean()


def test_7_cli_huge_shape_is_one_line_and_exit_2():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "flowflops", "tests.models:BasicBlock", "--input-shape", "1,32,100000,100000"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("flowflops")]
    assert len(lines) == 1 and " GB " in lines[0]


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


# -- 4. Ctrl-C at every line ---------------------------------------------------------------------
def _traced(fn, k, files, lines=None):
    """Run ``fn`` with a SIGINT raised (``signal.raise_signal``, as a Ctrl-C does) at the
    ``k``-th line executed in ``files``; ``lines`` (a list) receives ``(file, line)`` of each
    line run there. Returns how many such lines ran."""
    state = {"n": 0, "fired": False}

    def local(frame, event, arg):
        if event == "line" and not state["fired"]:
            state["n"] += 1
            if lines is not None:
                lines.append((frame.f_code.co_filename, frame.f_lineno))
            if state["n"] == k:
                state["fired"] = True
                signal.raise_signal(signal.SIGINT)
        return local

    def calls(frame, event, arg):
        if state["fired"] or not frame.f_code.co_filename.startswith(files):
            return None
        return local

    sys.settrace(calls)
    try:
        fn()
    finally:
        sys.settrace(None)
    return state["n"]


def _check_every_line(make, count, files, last_too=False):
    """Interrupt ``count(model)`` at the first run of every distinct line of ``files`` (and the
    last one too with ``last_too``): every time the count raises KeyboardInterrupt and leaves
    nothing behind."""
    model = make()
    count(model)  # one-time work (lazy imports, caches) out of the way: every count runs the same lines
    before = snapshot(model)
    seq = []
    _traced(lambda: count(model), 10 ** 9, files, seq)
    first, last = {}, {}
    for i, line in enumerate(seq, 1):
        first.setdefault(line, i)
        last[line] = i
    ks = sorted(set(first.values()) | (set(last.values()) if last_too else set()))
    assert len(ks) > 20
    for k in ks:
        with pytest.raises(KeyboardInterrupt):
            _traced(lambda: count(model), k, files)
        assert_same(before, snapshot(model))
        assert_process_clean()
    return len(ks)


def _small():
    return nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), MatVecGelu()).train()


class MatVecGelu(nn.Module):
    def forward(self, x):
        return F.gelu(x @ flow.ones(4, 2)) + 1


GUARD_FILES = tuple(os.path.join(PACKAGE, f) for f in (
    os.path.join("runtime", "interrupts.py"), os.path.join("runtime", "guard.py"), os.path.join("eager", "engine.py"),
    os.path.join("eager", "functional.py"), os.path.join("graph", "building.py"),
))
COUNTS = {
    "eager": lambda m: flowflops.profile(m, (2, 4)),
    "functional": lambda m: flowflops.profile(m, (2, 4), backend_specific_config=FUNCTIONAL),
    "graph": lambda m: flowflops.profile(m, (2, 4), mode="graph"),
    "train": lambda m: flowflops.profile(m, (2, 4), mode="train", loss_fn=lambda o, t: o.sum()),
}


def _after_interruptions_everything_works():
    assert flowflops.profile(_small(), (2, 4), mode="graph").macs > 0
    g = ModelGraph(nn.Linear(4, 3))
    g(flow.ones(1, 4))  # the user's own graph compiles and runs


@pytest.mark.parametrize("kind", ["functional", "graph"])
def test_4_ctrl_c_at_every_line_of_the_guarded_paths(kind):
    """Every line of the files that save, patch and put back state (first time each runs)."""
    _check_every_line(_small, COUNTS[kind], GUARD_FILES)
    _after_interruptions_everything_works()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["eager", "functional", "graph"])
def test_4_ctrl_c_at_every_line_of_flowflops(kind):
    """Every line of the package a count runs (inputs, pricing and report building included),
    the first and the last time it runs."""
    _check_every_line(_small, COUNTS[kind], (PACKAGE,), last_too=True)
    _after_interruptions_everything_works()


@pytest.mark.slow
def test_4_ctrl_c_at_every_line_of_a_training_step_count():
    """A training-step count (its job is the largest: each run takes longest): every line of
    the guarded files and of the training engine, the first time it runs."""
    _check_every_line(_small, COUNTS["train"], GUARD_FILES + (os.path.join(PACKAGE, "graph", "train.py"),))
    _after_interruptions_everything_works()


def test_4_user_sigint_handler_is_called_and_kept():
    calls = []
    previous = signal.signal(signal.SIGINT, lambda s, f: calls.append(s))
    try:
        model = _small()
        before = snapshot(model)
        n = _traced(lambda: flowflops.profile(model, (2, 4)), 10 ** 9, GUARD_FILES)
        for k in (1, n // 2, n):
            _traced(lambda: flowflops.profile(model, (2, 4)), k, GUARD_FILES)
        assert calls == [signal.SIGINT] * 3  # delivered once each, to the user's handler
        assert_same(before, snapshot(model))
        assert signal.getsignal(signal.SIGINT) is not interrupts._handler
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.slow
def test_4_random_real_sigints_leave_nothing_behind():
    """A few hundred counts, each hit by a real SIGINT (os.kill from a timer thread) at a random
    time while it runs, or just before or after."""
    rng = random.Random(14)
    model = _small()
    before = snapshot(model)
    modes = [("eager", {}), ("eager", FUNCTIONAL), ("graph", {})]
    interrupted = 0
    for i in range(300):
        mode, cfg = modes[i % 3]
        delay = rng.uniform(0, 0.03 if mode == "eager" else 0.08)
        timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
        try:
            try:
                timer.start()
                flowflops.profile(model, (2, 4), mode=mode, backend_specific_config=cfg)
            finally:
                timer.join()
                time.sleep(0.001)  # the signal, sent by now, is handled here at the latest
        except KeyboardInterrupt:
            interrupted += 1
        assert_same(before, snapshot(model))
        assert_process_clean()
    assert interrupted == 300


# -- 11. the command line ----------------------------------------------------------------------
def _cli(capsys, *argv):
    from flowflops.cli.command import run

    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_11_a_bug_inside_a_factory_is_named_as_the_factorys(capsys):
    code, _, err = _cli(capsys, "models:buggy_factory", "--input-shape", "1,4")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "factory 'models:buggy_factory' raised TypeError" in err and "--kwargs" not in err
    code, _, err = _cli(capsys, "models:buggy_factory", "--kwargs", '{"depth": 3}')
    assert code == 2 and "--kwargs" in err  # a keyword it does not take is a --kwargs error


def test_11_missing_output_folder_fails_before_any_work(capsys, tmp_path, monkeypatch):
    import flowflops.cli.command as cli

    monkeypatch.setattr(cli, "load_model", lambda *a, **k: pytest.fail("counted before checking"))
    for option in ("--output", "--plot"):
        code, _, err = _cli(capsys, "resnet18", option, str(tmp_path / "nope" / "out.png"))
        assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, "zoo", "--models", "resnet18", "--output", str(tmp_path / "nope" / "t.txt"))
    assert code == 2 and "does not exist" in err


def test_11_zoo_checks_every_name_first(capsys, monkeypatch):
    import flowflops.cli.command as cli

    monkeypatch.setattr(cli, "zoo_rows", lambda *a, **k: pytest.fail("counted before checking"))
    code, _, err = _cli(capsys, "zoo", "--models", "resnet18,nope")
    assert code == 2 and "unknown model 'nope'" in err


@pytest.mark.parametrize("argv", [["--top", "-1"], ["--depth", "-1"]])
def test_11_negative_top_and_depth_are_refused(capsys, argv):
    with pytest.raises(SystemExit) as info:
        _cli(capsys, "resnet18", *argv)
    assert info.value.code == 2
    assert "negative" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["graph", "train"])
def test_11_count_functional_with_a_compiled_mode_is_refused(capsys, mode):
    code, _, err = _cli(capsys, "models:BasicBlock", "--mode", mode, "--count-functional")
    assert code == 2 and "--count-functional" in err
    code, _, err = _cli(capsys, "zoo", "--models", "resnet18", "--mode", "graph", "--count-functional")
    assert code == 2 and "--count-functional" in err
