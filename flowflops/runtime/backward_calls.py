"""One wrapper of ``Tensor.backward``, ``oneflow.autograd.backward`` and
``oneflow.autograd.grad`` for everything in flowflops that must see a backward pass started in a
``with`` body (``FlopCounterMode`` counts its gradients).

The wrappers are shared by every user (:class:`~flowflops.runtime.shared_patch.SharedPatch`:
installed by the first, OneFlow's functions put back by the last, whatever the order they leave
in); each user's callback is called only for backward passes started in the thread that entered
it. ``Tensor.backward`` calls ``oneflow.autograd.backward``: that inner
call is the same pass, and callbacks see only the outer one.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import oneflow as flow

from .interrupts import passes_through
from .shared_patch import Saved, SharedPatch

__all__ = ["Callback", "watching", "installed_count"]

#: ``callback(name, args, kwargs)`` before a backward call (``name``: ``"Tensor.backward"``,
#: ``"backward"`` or ``"grad"``; the call's own arguments); what it returns, when not None, is
#: called without arguments once the call has returned
Callback = Callable[[str, tuple, Dict[str, Any]], Optional[Callable[[], None]]]

_tls = threading.local()  # .callbacks: this thread's callbacks, innermost last


def installed_count() -> int:
    """How many ``watching`` bodies run now, in all threads (0: OneFlow's own functions are in
    place, unless something outside flowflops replaced them)."""
    return _patch.count


def _targets() -> List[Tuple[Any, str, str]]:
    return [(flow.Tensor, "backward", "Tensor.backward"), (flow.autograd, "backward", "backward"),
            (flow.autograd, "grad", "grad")]


def _before(label: str, args: tuple, kwargs: Dict[str, Any]) -> List[Callable[[], None]]:
    """This thread's callbacks, outer first: what to call once the pass has returned."""
    afters = []
    for callback in list(getattr(_tls, "callbacks", ())):
        after = callback(label, args, kwargs)
        if after is not None:
            afters.append(after)
    return afters


def _after(afters: List[Callable[[], None]]) -> None:
    for after in afters:
        after()


def _wrap(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
    @passes_through
    def backward(*args: Any, **kwargs: Any) -> Any:
        if getattr(_tls, "inside", False):  # Tensor.backward's own call of autograd.backward
            return fn(*args, **kwargs)
        afters = _before(label, args, kwargs)
        _tls.inside = True
        try:
            result = fn(*args, **kwargs)
        finally:
            _tls.inside = False
        _after(afters)
        return result

    setattr(backward, "__wrapped__", fn)
    return backward


@contextlib.contextmanager
def watching(callback: Callback) -> Iterator[None]:
    """While the body runs, ``callback(name, args, kwargs)`` is called before every
    ``Tensor.backward`` / ``oneflow.autograd.backward`` / ``oneflow.autograd.grad`` call made in
    this thread (outer bodies' callbacks first), and what it returns after the call. Calls in
    other threads are not touched."""
    _patch.enter()
    callbacks = getattr(_tls, "callbacks", None)
    if callbacks is None:
        callbacks = _tls.callbacks = []
    callbacks.append(callback)
    try:
        yield
    finally:
        for i in range(len(callbacks) - 1, -1, -1):  # this body's (by identity: modes may leave out of order)
            if callbacks[i] is callback:
                del callbacks[i]
                break
        _patch.leave()


def _install() -> List[Saved]:
    return [(owner, name, getattr(owner, name), _wrap(getattr(owner, name), label))
            for owner, name, label in _targets()]


_patch = SharedPatch(_install)
