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
