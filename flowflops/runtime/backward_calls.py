"""One wrapper of ``Tensor.backward`` and ``oneflow.autograd.backward`` for everything in
flowflops that must notice a backward pass started in a ``with`` body (``FlopCounterMode``
warns that it does not count one).

As for ``nn.Module.__call__`` (:mod:`flowflops.runtime.module_calls`), two users that each
saved and put back the attributes would break each other when they overlap in two threads: the
first to leave puts OneFlow's functions back under the second (whose notice is then lost), and
the second puts back the first one's wrapper, which stays installed for good. Here the wrappers
are installed by the first user and OneFlow's functions put back by the last, whatever the
order they leave in; each user's callback is called only for backward passes started in the
thread that entered it.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Callable, Dict, Iterator, List, Tuple

import oneflow as flow

__all__ = ["watching", "installed_count"]

_lock = threading.Lock()
_state: Dict[str, Any] = {"count": 0, "saved": []}  # saved: (owner, name, OneFlow's, wrapper)
_tls = threading.local()  # .callbacks: this thread's callbacks, innermost last


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def installed_count() -> int:
    """How many ``watching`` bodies run now, in all threads (0: OneFlow's own functions are in
    place, unless something outside flowflops replaced them)."""
    return int(_state["count"])


def _targets() -> List[Tuple[Any, str]]:
    return [(flow.Tensor, "backward"), (flow.autograd, "backward")]


def _wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    def backward(*args: Any, **kwargs: Any) -> Any:
        for callback in list(getattr(_tls, "callbacks", ())):
            callback()
        return fn(*args, **kwargs)

    setattr(backward, "__wrapped__", fn)
    return backward


@contextlib.contextmanager
def watching(callback: Callable[[], None]) -> Iterator[None]:
    """While the body runs, ``callback()`` is called before every ``Tensor.backward`` /
    ``oneflow.autograd.backward`` call made in this thread (outer bodies' callbacks first).
    Calls in other threads are not touched."""
    with _lock:
        if _state["count"] == 0:
            saved = []
            for owner, name in _targets():
                fn = getattr(owner, name)
                wrapper = _wrap(fn)
                saved.append((owner, name, fn, wrapper))
                setattr(owner, name, wrapper)
            _state["saved"] = saved
        _state["count"] += 1
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
        with _lock:
            _state["count"] -= 1
            if _state["count"] == 0:
                for owner, name, fn, wrapper in _state["saved"]:
                    if getattr(owner, name) is wrapper:  # (not if another patch replaced it)
                        setattr(owner, name, fn)
                _state["saved"] = []
