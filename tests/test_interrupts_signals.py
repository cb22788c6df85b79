"""Signals other than Ctrl-C during counts (issue 29): a scheduler's SIGTERM whose handler
raises ``Preempted``, a SIGALRM timeout, a count started from a signal handler. Real signals,
sent with ``os.kill`` from a timer thread at a random moment of a count.

What must hold: the handler's exception reaches the caller as itself (``except Preempted:``
catches it; it is never wrapped in a ``CountError``), no patched function, claim, handler or
grad mode is left behind, the model is as before, and nothing hangs.
"""
import os
import random
import signal
import threading
import time

import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.eager import functional
from flowflops.runtime import guard, interrupts
from models import small_train_model
from snapshot import assert_same, snapshot


class Preempted(Exception):
    """What a training script's SIGTERM handler raises (a cluster scheduler's preemption)."""


class Timeout(Exception):
    """What a SIGALRM handler raises."""


COUNTS = {
    "eager": lambda m: flowflops.profile(m, (2, 4)),
    "functional": lambda m: flowflops.profile(m, (2, 4), backend_specific_config={"count_functional": True}),
    "graph": lambda m: flowflops.profile(m, (2, 4), mode="graph"),
    "train": lambda m: flowflops.profile(m, (2, 4), mode="train", loss_fn=lambda o, t: o.sum()),
}


@pytest.fixture
def handlers():
    """Python's SIGINT handler, and a SIGTERM / SIGALRM handler raising as a training script's
    would; all put back afterwards."""
    def term(signum, frame):
        raise Preempted("preempted")

    def alarm(signum, frame):
        raise Timeout("timed out")

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGALRM, alarm)
    try:
        yield term, alarm
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def _wait_for(done, seconds=10.0):
    """Sleep in 1 ms steps until ``done()`` or a signal handler's exception ends the wait. A
    signal ``os.kill`` has sent to the process may be taken by any of OneFlow's threads; the
    main thread runs its Python handler only once that thread has run the C handler, which on
    a loaded machine can take longer than a fixed short sleep."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.001)


def _clean(term, alarm):
    assert signal.getsignal(signal.SIGTERM) is term
    assert signal.getsignal(signal.SIGALRM) is alarm
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not functional.installed()
    assert guard._owners == {}
    assert interrupts._State.depth == 0 and interrupts._State.pending == []
    assert interrupts._where() == []
    assert flow.is_grad_enabled()
    assert not flow._oneflow_internal.lazy_mode.is_enabled()


def _storm(handlers, n, seed):
    """``n`` counts, each hit by a real SIGTERM or SIGALRM at a random moment (or just before
    or after it): each raises the handler's own exception and leaves nothing behind."""
    term, alarm = handlers
    rng = random.Random(seed)
    model = small_train_model()
    before = snapshot(model)
    kinds = sorted(COUNTS)
    raised = {Preempted: 0, Timeout: 0}
    for i in range(n):
        kind = kinds[i % len(kinds)]
        signum, want = (signal.SIGTERM, Preempted) if i % 2 else (signal.SIGALRM, Timeout)
        delay = rng.uniform(0, 0.03 if kind in ("eager", "functional") else 0.1)
        timer = threading.Timer(delay, os.kill, (os.getpid(), signum))
        with pytest.raises(want):  # never a CountError wrapping it
            try:
                timer.start()
                COUNTS[kind](model)
            except BaseException:
                timer.join()
                raise
            timer.join()
            _wait_for(lambda: False)  # the signal, sent by now, is handled here at the latest
        raised[want] += 1
        assert_same(before, snapshot(model))
        _clean(term, alarm)
    assert raised == {Preempted: n - n // 2, Timeout: n // 2}
    # afterwards the functional count works: Linear 2*4*4 = 32 MACs + bias 8, the matmul
    # 2*4*2 = 16 (BatchNorm, dropout, gelu and +1 priced on top)
    assert COUNTS["functional"](model).macs > 32 + 8 + 16


def test_sigterm_and_sigalrm_handlers_exceptions_come_back_as_themselves(handlers):
    _storm(handlers, 24, seed=29)


@pytest.mark.slow
def test_300_real_signals_leave_no_patch_and_keep_their_types(handlers):
    _storm(handlers, 300, seed=2029)


def test_a_signal_during_an_eager_forward_is_raised_as_itself_not_wrapped(handlers):
    """A signal landing in the user's forward is delivered at once: the handler's exception
    must not become a CountError ("failed on the inputs ...")."""
    class Slow(nn.Module):
        def forward(self, x):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)  # the handler runs here
            return x

    with pytest.raises(Preempted) as info:
        flowflops.profile(Slow(), (1, 2))
    assert not isinstance(info.value, flowflops.CountError)
    _clean(*handlers)


def test_a_count_from_a_signal_handler_during_a_functional_count_does_not_deadlock(handlers):
    """A SIGUSR1 handler that counts, fired while an eager+count_functional count runs (it used
    to deadlock on the functional patches' lock): it runs once the outer count is done, and
    both counts give their numbers."""
    results = []

    def usr1(signum, frame):
        # Linear(3, 5) on (2, 3): matmul 2*3*5 = 30 MACs + bias 2*5 = 10
        results.append(flowflops.profile(nn.Linear(3, 5), (2, 3)).macs)

    previous = signal.signal(signal.SIGUSR1, usr1)
    try:
        class Kill(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)

            def forward(self, x):
                return self.fc(x)

        model = Kill()
        before = snapshot(model)
        rng = random.Random(7)
        for i in range(10):
            timer = threading.Timer(rng.uniform(0, 0.02), os.kill, (os.getpid(), signal.SIGUSR1))
            timer.start()
            r = flowflops.profile(model, (2, 4), backend_specific_config={"count_functional": True})
            timer.join()
            _wait_for(lambda: len(results) == i + 1)
            assert r.macs == 2 * 4 * 4 + 2 * 4  # Linear(4, 4) on (2, 4): matmul 32 + bias 8
        assert results == [30 + 10] * 10
        assert_same(before, snapshot(model))
    finally:
        signal.signal(signal.SIGUSR1, previous)
    _clean(*handlers)


def test_a_count_entered_from_flowflops_own_code_is_a_clear_error():
    """A count started while this thread is inside flowflops' guarded code (a handler flowflops
    does not hold, a __del__, a weakref callback): a CountError, no wait."""
    started = {}

    def inner():
        try:
            flowflops.profile(nn.Linear(2, 2), (1, 2))
        except flowflops.CountError as err:
            started["error"] = str(err)

    interrupts.run_guarded(inner)
    assert "another count runs in this thread" in started["error"]
    assert interrupts._where() == [] and interrupts._State.depth == 0


def test_a_signal_while_a_functional_call_is_recorded_is_raised_not_swallowed(handlers, monkeypatch):
    """A SIGTERM landing while flowflops records a functional call inside the forward (its
    ``except Exception`` turns an odd call into an "unsupported" record) used to be taken for
    such a call: the handler's Preempted was swallowed and the count returned a number (the
    300-signal storm lost one in CI). Now it is held, and raised once the count has ended."""
    real = functional.with_dtypes
    sent = []

    def with_dtypes_hit_by_a_signal(*args, **kwargs):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.3)  # the handler runs here, inside flowflops' recording
        return real(*args, **kwargs)

    monkeypatch.setattr(functional, "with_dtypes", with_dtypes_hit_by_a_signal)
    model = small_train_model()
    before = snapshot(model)
    with pytest.raises(Preempted) as info:
        flowflops.profile(model, (2, 4), backend_specific_config={"count_functional": True})
    assert not isinstance(info.value, flowflops.CountError)
    assert sent == [True]
    assert_same(before, snapshot(model))
    _clean(*handlers)


class _Nested(nn.Module):
    """Outer -> inner module; the inner forward is hit by a SIGTERM and sleeps, so a handler
    that runs at once stops it before ``after`` is set."""

    def __init__(self):
        super().__init__()
        self.inner = _Sleeper()

    def forward(self, x):
        return flow.relu(self.inner(x))


class _Sleeper(nn.Module):
    after = []

    def forward(self, x):
        y = flow.relu(x)  # (a patched functional call before the signal)
        if not flow._oneflow_internal.lazy_mode.is_enabled():
            # to the main thread itself (os.kill's may be taken by another thread, and then
            # the main thread sees it only after the sleep), so the sleep is cut short
            signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
            time.sleep(0.5)
            _Sleeper.after.append(True)
        return y


@pytest.mark.parametrize("functional_too", [False, True])
def test_a_signal_in_a_nested_forward_is_delivered_at_once(handlers, functional_too):
    """The wrappers a call goes through (nn.Module.__call__'s, each patched function's) are
    looked through: a signal landing in the user's code two modules down is delivered while
    that code runs, not held until the count ends."""
    _Sleeper.after.clear()
    with pytest.raises(Preempted):
        flowflops.profile(_Nested(), (1, 3), backend_specific_config={"count_functional": functional_too})
    assert _Sleeper.after == []  # the sleep was cut short by the handler's exception
    _clean(*handlers)


class _ReadsAndSleeps(nn.Module):
    """A forward graph mode cannot compile (it reads a value with ``.item()``), so graph mode
    runs it once eagerly for the numbers (flowflops.graph.values); that run is hit by a SIGTERM."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        assert x.abs().max().item() < 1e6
        if not flow._oneflow_internal.lazy_mode.is_enabled():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)
        return self.fc(x)


def test_a_signal_in_graph_modes_eager_run_for_values_is_raised_as_itself(handlers):
    """That eager run is only a source of numbers, and its failure used to be ignored (the
    compile's error raised instead): the handler's Preempted was lost in a CountError."""
    model = _ReadsAndSleeps()
    before = snapshot(model)
    with pytest.raises(Preempted) as info:
        flowflops.profile(model, (1, 3), mode="graph")
    assert not isinstance(info.value, flowflops.CountError)
    assert_same(before, snapshot(model))
    _clean(*handlers)


def test_a_signal_during_the_ptflops_face_is_raised_not_printed(handlers, capsys):
    """ptflops prints an exception of the count and returns (None, None); a SIGTERM handler's
    Preempted must still stop the job."""
    from flowflops.ptflops import get_model_complexity_info

    _Sleeper.after.clear()
    with pytest.raises(Preempted):
        get_model_complexity_info(_Nested(), (3,), as_strings=False, print_per_layer_stat=False)
    assert "Flops estimation was not finished" not in capsys.readouterr().out
    _clean(*handlers)
