"""Ctrl-C at any line of a count (flowflops.runtime.interrupts): a SIGINT raised at every line
of the guarded code, the user's own handler, and real SIGINTs at random times; each leaves
nothing behind (issue 14's failure 4; see docs/guarantees.md)."""
import os
import random
import signal
import sys
import threading
import time

import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.runtime import interrupts
from models import ModelGraph, TrainGraph, small_train_model
from process_state import assert_process_clean, default_sigint  # noqa: F401 (a fixture)
from snapshot import assert_same, snapshot

PACKAGE = os.path.dirname(os.path.abspath(flowflops.__file__))

# each test starts with Python's own SIGINT handler (see process_state.default_sigint)
pytestmark = pytest.mark.usefixtures("default_sigint")


FUNCTIONAL = {"count_functional": True}


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


GUARD_FILES = tuple(os.path.join(PACKAGE, f) for f in (
    os.path.join("runtime", "interrupts.py"), os.path.join("runtime", "guard.py"), os.path.join("eager", "engine.py"),
    os.path.join("eager", "functional.py"), os.path.join("graph", "building.py"),
    os.path.join("runtime", "view.py"), os.path.join("runtime", "module_calls.py"), os.path.join("graph", "values.py"),
    os.path.join("runtime", "shared_patch.py"),
))
COUNTS = {
    "eager": lambda m: flowflops.profile(m, (2, 4)),
    "functional": lambda m: flowflops.profile(m, (2, 4), backend_specific_config=FUNCTIONAL),
    "graph": lambda m: flowflops.profile(m, (2, 4), mode="graph"),
    "train": lambda m: flowflops.profile(m, (2, 4), mode="train", loss_fn=lambda o, t: o.sum()),
}


class ReadsAValue(nn.Module):
    """Linear(4, 4) then BatchNorm1d(4) (train mode: statistics to put back), with a Python-side
    check on a value between them (``.item()``, XLM's assert): a graph count's first compile
    stops on it, the forward runs once eagerly to read the value, and the model is compiled
    again with it (flowflops/graph/values.py: patches installed and removed, the model's state
    guarded during the eager run)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x):
        h = self.fc(x)
        assert h.abs().max().item() < 1e6
        return self.bn(h)


def _after_interruptions_everything_works():
    assert flowflops.profile(small_train_model(), (2, 4), mode="graph").macs > 0
    g = ModelGraph(nn.Linear(4, 3))
    g(flow.ones(1, 4))  # the user's own graph compiles and runs


@pytest.mark.parametrize("kind", ["functional", "graph"])
def test_4_ctrl_c_at_every_line_of_the_guarded_paths(kind):
    """Every line of the files that save, patch and put back state (first time each runs)."""
    _check_every_line(small_train_model, COUNTS[kind], GUARD_FILES)
    _after_interruptions_everything_works()


@pytest.mark.slow
def test_4_ctrl_c_at_every_line_of_a_graph_count_that_reads_values():
    """The same for a graph count whose forward reads a value (two compiles and an eager run
    between them, through graph/values.py)."""
    model = ReadsAValue().train()
    # Linear(4, 4) on (2, 4): 2*4*4 = 32 MACs + 8 bias adds; the count must see the value read
    assert flowflops.profile(model, (2, 4), mode="graph").by_module()["fc"].macs == 32 + 8
    _check_every_line(lambda: model, COUNTS["graph"], GUARD_FILES)
    _after_interruptions_everything_works()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["eager", "functional", "graph"])
def test_4_ctrl_c_at_every_line_of_flowflops(kind):
    """Every line of the package a count runs (inputs, pricing and report building included),
    the first and the last time it runs."""
    _check_every_line(small_train_model, COUNTS[kind], (PACKAGE,), last_too=True)
    _after_interruptions_everything_works()


@pytest.mark.slow
def test_4_ctrl_c_at_every_line_of_a_training_step_count():
    """A training-step count (its job is the largest: each run takes longest): every line of
    the guarded files and of the training engine, the first time it runs."""
    _check_every_line(small_train_model, COUNTS["train"], GUARD_FILES + (os.path.join(PACKAGE, "graph", "train.py"),))
    _after_interruptions_everything_works()


@pytest.mark.slow
def test_4_ctrl_c_at_every_line_of_a_user_training_graph_count():
    """A user's own training nn.Graph (Adam with a StepLR), counted uncompiled: its copy is
    compiled over a view of the model with views of the optimizer and scheduler
    (graph/building.py): wherever the Ctrl-C lands, the model, the optimizer's and the
    scheduler's state are as before, and the user's graph still trains."""
    model = small_train_model()
    opt = flow.optim.Adam(model.parameters(), lr=0.01)
    sch = flow.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    graph = TrainGraph(model, opt, lr_sch=sch)
    states = (repr(opt.state_dict()), repr(sch.state_dict()))
    _check_every_line(lambda: model, lambda m: flowflops.profile(graph, (2, 4)), GUARD_FILES)
    assert (repr(opt.state_dict()), repr(sch.state_dict())) == states and not graph._is_compiled
    loss = graph(flow.ones(2, 4))  # the user's graph compiles and trains
    assert loss.shape == () and graph._is_compiled
    _after_interruptions_everything_works()


def test_4_user_sigint_handler_is_called_and_kept():
    calls = []
    previous = signal.signal(signal.SIGINT, lambda s, f: calls.append(s))
    try:
        model = small_train_model()
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
    model = small_train_model()
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
