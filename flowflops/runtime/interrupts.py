"""Ctrl-C during a count: delivered at once while the user's code runs, held back while
flowflops changes or puts back state.

A count runs inside :func:`run_guarded`. In the main thread (the only one Python delivers
signals to, and the only one that may swap signal handlers) it installs a SIGINT handler for
the count's duration. When a SIGINT arrives, the handler looks at the frame it interrupted and
walks outwards: if it meets :func:`call_user` first (an eager forward or an
``input_constructor`` is running) the signal goes to the handler the user had, at once (by default a
``KeyboardInterrupt``); if it meets :func:`run_guarded` first (flowflops is installing hooks or
patches, saving or restoring state, compiling, pricing), the signal is kept, and delivered to
the user's handler once the count has put everything back. No flag has to be set before a
critical section, so there is no window in which a Ctrl-C lands between "about to restore" and
"restoring": every line of flowflops that runs in a count is protected by where it is.

What this cannot stop: an exception raised *into* flowflops' code by other means than a
signal (``PyThreadState_SetAsyncExc``, a trace function that raises), and SIGKILL.
A user handler set to ``SIG_DFL`` or ``SIG_IGN`` (or installed from C) is left alone.
"""
from __future__ import annotations

import functools
import signal
import threading
from types import FrameType
from typing import Any, Callable, Optional, TypeVar

__all__ = ["T", "call_user", "take_pending", "run_guarded", "guarded"]

T = TypeVar("T")

_lock = threading.Lock()


class _State:
    depth = 0  # nested run_guarded calls in the main thread
    previous: Any = None  # the user's SIGINT handler while ours is installed
    pending = False  # a SIGINT arrived in a protected section and waits for delivery


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def call_user(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call user code (an eager forward, an input constructor): a Ctrl-C inside it is delivered
    at once."""
    return fn(*args, **kwargs)


def _handler(signum: int, frame: Optional[FrameType]) -> None:
    f = frame
    while f is not None:
        code = f.f_code
        if code is _USER_CODE:
            break
        if code is _GUARD_CODE:
            _State.pending = True
            return
        f = f.f_back
    _deliver(signum, frame)


def _deliver(signum: int, frame: Optional[FrameType]) -> None:
    prev = _State.previous if _State.depth else signal.getsignal(signum)
    if callable(prev):
        prev(signum, frame)
    else:  # only reachable when ours was replaced meanwhile; behave like Python's default
        raise KeyboardInterrupt


def _install() -> bool:
    """Put our handler in place (main thread, outermost count, user handler is Python's)."""
    if not _in_main_thread():
        return False
    if _State.depth:
        _State.depth += 1
        return True
    current = signal.getsignal(signal.SIGINT)
    if not callable(current):  # SIG_IGN, SIG_DFL, or a handler set from C: leave it alone
        return False
    # the order matters: a SIGINT before the swap raises here (nothing is changed yet), one
    # after it finds this frame inside run_guarded and waits
    _State.previous = current
    _State.pending = False
    signal.signal(signal.SIGINT, _handler)
    _State.depth = 1
    return True


def _uninstall() -> bool:
    """Take our handler out (outermost count); returns whether a SIGINT is waiting."""
    _State.depth -= 1
    if _State.depth:
        return False
    if signal.getsignal(signal.SIGINT) is _handler:  # the user's code may have set another
        signal.signal(signal.SIGINT, _State.previous)
    # from here on a SIGINT goes to the user's handler directly; one that came before is read
    pending = _State.pending
    _State.pending = False
    return pending


def take_pending() -> bool:
    """Whether a SIGINT is waiting (and forget it): for waits that should end on Ctrl-C."""
    pending, _State.pending = _State.pending, False
    return pending


def run_guarded(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one count, ``fn(*args, **kwargs)``, with SIGINT held back everywhere except inside
    :func:`call_user`. A SIGINT held back is delivered after ``fn`` has returned or raised (and
    so after all its restoring ``finally`` blocks): the count's result is then dropped and the
    user's handler runs (``KeyboardInterrupt`` by default, which replaces an error ``fn`` may
    have raised). When ``fn`` raises ``KeyboardInterrupt`` already, the held-back signal is
    not delivered twice."""
    installed = _install()
    interrupted = False
    try:
        return fn(*args, **kwargs)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if installed and _uninstall() and not interrupted:
            _deliver(signal.SIGINT, None)


_USER_CODE = call_user.__code__
_GUARD_CODE = run_guarded.__code__


def guarded(fn: Callable[..., T]) -> Callable[..., T]:
    """Decorator form of :func:`run_guarded`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return run_guarded(fn, *args, **kwargs)

    return wrapper
