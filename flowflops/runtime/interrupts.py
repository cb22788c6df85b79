"""Signals during a count (Ctrl-C, a scheduler's SIGTERM, a SIGALRM timeout, ...): delivered
at once while the user's code runs, held back while flowflops changes or puts back state.

A count runs inside :func:`run_guarded`. In the main thread (the only one Python delivers
signals to, and the only one that may swap signal handlers) it installs its handler for the
count's duration, for SIGINT and for every other signal that has a Python handler then. When
such a signal arrives, the handler looks at the frame it interrupted and walks outwards: if it
meets :func:`call_user` first (an eager forward or an ``input_constructor`` is running) the
signal goes to the handler the user had, at once (for SIGINT by default a
``KeyboardInterrupt``); if it meets :func:`run_guarded` or any other code of flowflops first
(flowflops is installing hooks or patches, saving or restoring state, compiling, pricing, or
recording an op inside the forward), the signal is kept, and delivered to the user's handler
once the count has put everything back. Wrappers that only pass a call on to the user's code
(:func:`passes_through`) are looked through. No flag has to be set before a
critical section, so there is no window in which a signal lands between "about to restore" and
"restoring": every line of flowflops that runs in a count is protected by where it is.

An exception the user's handler raises comes back as itself, never wrapped in a
:class:`~flowflops.CountError` (:func:`from_signal` tells the face which exceptions those are),
so ``except Preempted:`` still catches a SIGTERM handler's ``Preempted``. A count started by a
signal handler while a count runs in the same thread (possible only for a handler flowflops
does not hold: one installed during the count) is a ``CountError``, never a deadlock.

What this cannot stop: an exception raised *into* flowflops' code by other means than a
signal (``PyThreadState_SetAsyncExc``, a trace function that raises), and SIGKILL.
A handler set to ``SIG_DFL`` or ``SIG_IGN`` (or installed from C) is left alone.
"""
from __future__ import annotations

import functools
import os
import signal
import threading
from types import CodeType, FrameType
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, TypeVar

__all__ = ["T", "call_user", "passes_through", "take_pending", "run_guarded", "guarded"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: signals never held: the ones Python cannot catch or that a held handler must not delay
_NEVER = {getattr(signal, n) for n in ("SIGKILL", "SIGSTOP", "SIGCHLD", "SIGWINCH") if hasattr(signal, n)}


class _State:
    depth = 0  # nested run_guarded calls in the main thread
    previous: Dict[int, Any] = {}  # the user's handlers while ours are installed
    pending: List[int] = []  # signals that arrived in a protected section, in order
    pending_frames: Dict[int, Optional[FrameType]] = {}


_tls = threading.local()  # .where: a list, "guarded" / "user" for each level entered


def _where() -> List[str]:
    where = getattr(_tls, "where", None)
    if where is None:
        where = _tls.where = []
    return where


def from_signal(err: BaseException) -> bool:
    """Whether ``err`` was raised by a user's signal handler that flowflops called (it must
    reach the user as itself)."""
    return bool(getattr(err, "_flowflops_from_signal", False))


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def call_user(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call user code (an eager forward, an input constructor): a Ctrl-C inside it is delivered
    at once."""
    where = _where()
    level = len(where)
    try:
        where.append("user")
        return fn(*args, **kwargs)
    finally:
        del where[level:]


#: flowflops' functions that only pass a call on to the user's code or OneFlow's (wrappers of
#: ``nn.Module.__call__``, of OneFlow's functions, of the user's hooks): a signal landing in the
#: code they call is the user's; their own bookkeeping is in other functions, where it is held
_PASS: Set[CodeType] = set()
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def passes_through(fn: F) -> F:
    """Mark ``fn`` (every closure made from its ``def``) as one that passes calls on: a signal
    that interrupts the code it calls is handled as that code's (see :func:`_handler`). ``fn``
    must not catch broad exceptions (the handler's exception goes through it)."""
    _PASS.add(fn.__code__)
    return fn


def _handler(signum: int, frame: Optional[FrameType]) -> None:
    """Walk from the interrupted frame outwards. Frames outside flowflops (the user's,
    OneFlow's, the standard library's) say nothing, and neither do :func:`passes_through`
    ones; the first other one decides. :func:`call_user`: the user's code (or OneFlow's,
    called by it) was running, so the signal goes to the user's handler now. Any other frame
    of flowflops (a hook's bookkeeping inside a forward, :func:`run_guarded`'s own work): the
    signal is held until the count has ended, so no ``except`` of flowflops' own can take the
    handler's exception for an error of its own."""
    f = frame
    while f is not None:
        code = f.f_code
        if code is _USER_CODE:
            break
        if code is _GUARD_CODE or (code.co_filename.startswith(_PACKAGE) and code not in _PASS):
            if signum not in _State.pending:
                _State.pending.append(signum)
            return
        f = f.f_back
    _deliver(signum, frame)


def _deliver(signum: int, frame: Optional[FrameType],
             previous: Optional[Dict[int, Any]] = None) -> None:
    prev = (previous if previous is not None else _State.previous).get(signum)
    if prev is None or prev is _handler:
        prev = signal.getsignal(signum)
    if callable(prev) and prev is not _handler:
        try:
            prev(signum, frame)
        except BaseException as err:
            try:
                err._flowflops_from_signal = True  # type: ignore[attr-defined]
            except Exception:  # an exception type without a __dict__: it is raised as it is
                pass
            raise
    elif signum == signal.SIGINT:  # only when ours was replaced meanwhile: Python's default
        raise KeyboardInterrupt


def _python_handled() -> Dict[int, Any]:
    """Every signal whose handler is a Python callable now (SIGINT's default included)."""
    out: Dict[int, Any] = {}
    for signum in signal.valid_signals():
        if signum in _NEVER:
            continue
        try:
            current = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
        if callable(current):  # not SIG_IGN, SIG_DFL, or a handler set from C (None)
            out[signum] = current
    return out


def _install() -> bool:
    """Put our handler in place (main thread, outermost count) for every signal with a Python
    handler."""
    if not _in_main_thread():
        return False
    if _State.depth:
        _State.depth += 1
        return True
    handled = _python_handled()
    if not handled:
        return False
    # the order matters: a signal before its swap goes to the user's handler here (SIGINT
    # first: nothing is changed yet), one after it finds this frame inside run_guarded and
    # waits; the count is entered (depth 1) only once every handler is ours
    _State.previous = {}
    _State.pending = []
    order = sorted(handled, key=lambda n: n != signal.SIGINT)
    try:
        for signum in order:
            _State.previous[signum] = handled[signum]
            signal.signal(signum, _handler)
    except BaseException:  # a signal not swapped yet raised: put back the ones swapped
        for signum, handler in _State.previous.items():
            if signal.getsignal(signum) is _handler:
                signal.signal(signum, handler)
        _State.previous = {}
        raise
    _State.depth = 1
    return True


def _uninstall() -> Tuple[List[int], Dict[int, Any]]:
    """Take our handler out (outermost count); returns the signals waiting, in order, and the
    handlers to deliver them to."""
    _State.depth -= 1
    if _State.depth:
        return [], {}
    previous = _State.previous
    for signum, handler in previous.items():
        if signal.getsignal(signum) is _handler:  # the user's code may have set another
            signal.signal(signum, handler)
    # from here on a signal goes to the user's handler directly; one that came before is read
    pending, _State.pending = _State.pending, []
    _State.previous = {}
    return pending, previous


def take_pending() -> bool:
    """Whether a SIGINT is waiting (and forget it): for waits that should end on Ctrl-C."""
    if signal.SIGINT in _State.pending:
        _State.pending.remove(signal.SIGINT)
        return True
    return False


def run_guarded(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one count, ``fn(*args, **kwargs)``, with signals held back everywhere except inside
    :func:`call_user`. A signal held back is delivered after ``fn`` has returned or raised (and
    so after all its restoring ``finally`` blocks): when the user's handler raises, the count's
    result is dropped and the handler's exception replaces an error ``fn`` may have raised.
    When ``fn`` raises ``KeyboardInterrupt`` already, a held-back SIGINT is not delivered
    twice. A count entered while this thread is inside flowflops' own guarded code (from a
    signal handler flowflops does not hold) is a ``CountError``."""
    where = _where()
    if where and where[-1] == "guarded":
        from ..errors import CountError

        raise CountError(
            "a count was started while another count runs in this thread, outside the model's "
            "forward (from a signal handler, a __del__ or a weakref callback): start it after "
            "that count has finished"
        )
    installed = _install()
    interrupted = False
    level = len(where)
    try:
        where.append("guarded")
        return fn(*args, **kwargs)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        del where[level:]
        if installed:
            pending, previous = _uninstall()
            _deliver_all([s for s in pending if not (s == signal.SIGINT and interrupted)], previous)


def _deliver_all(pending: List[int], previous: Dict[int, Any]) -> None:
    """Each held signal to its handler, in the order they came; the first exception a handler
    raises is raised once all have run."""
    first: Optional[BaseException] = None
    for signum in pending:
        try:
            _deliver(signum, None, previous)
        except BaseException as err:
            if first is None:
                first = err
    if first is not None:
        raise first


_USER_CODE = call_user.__code__
_GUARD_CODE = run_guarded.__code__


def guarded(fn: Callable[..., T]) -> Callable[..., T]:
    """Decorator form of :func:`run_guarded`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return run_guarded(fn, *args, **kwargs)

    return wrapper
