"""One wrapper of ``nn.Module.__call__`` for everything in flowflops that must see module
calls no hook reaches (an eager count sending calls made through a closure to its view,
``FlopCounterMode`` counting each top-level module call).

OneFlow 0.9 has no process-wide module hook, so the class attribute itself is wrapped. Two
users that each saved and put back ``nn.Module.__call__`` would break each other when they
overlap in two threads (the second to leave puts back the first one's wrapper, which then
stays installed for good). Here the wrapper is installed by the first user and OneFlow's method
put back by the last, whatever the order they leave in; each user's handler acts only in the
thread that entered it, and other threads' calls go straight to OneFlow's method.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
from typing import Any, Callable, Dict, Iterator, List

import oneflow.nn as nn

from .interrupts import passes_through

__all__ = ["CallNext", "Handler", "intercepting", "installed_count"]

#: ``call_next(module, args, kwargs)``: the next handler out, or OneFlow's own ``__call__``
CallNext = Callable[[Any, tuple, Dict[str, Any]], Any]
#: ``handler(call_next, module, args, kwargs)``: returns what the call returns
Handler = Callable[[CallNext, Any, tuple, Dict[str, Any]], Any]

_lock = threading.Lock()
_state: Dict[str, Any] = {"count": 0, "original": None, "wrapper": None}
_tls = threading.local()  # .handlers: this thread's handlers, innermost last


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def installed_count() -> int:
    """How many ``intercepting`` bodies run now, in all threads (0: OneFlow's own method is in
    place, unless something outside flowflops replaced it)."""
    return int(_state["count"])


@passes_through
def _call(handlers: List[Handler], original: Callable[..., Any], i: int, module: Any, args: tuple,
          kwargs: Dict[str, Any]) -> Any:
    """The call through ``handlers[i]`` and, as its ``call_next``, the ones before it."""
    if i < 0:
        return original(module, *args, **kwargs)
    return handlers[i](functools.partial(_call, handlers, original, i - 1), module, args, kwargs)


@contextlib.contextmanager
def intercepting(handler: Handler) -> Iterator[None]:
    """While the body runs, every module call made in this thread goes through ``handler``
    (inner bodies' handlers first). Calls in other threads are not touched."""
    with _lock:
        if _state["count"] == 0:
            original = nn.Module.__call__

            @passes_through
            def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
                handlers = getattr(_tls, "handlers", None)
                if not handlers:
                    return original(self, *args, **kwargs)
                return _call(list(handlers), original, len(handlers) - 1, self, args, kwargs)

            _state["original"], _state["wrapper"] = original, __call__
            nn.Module.__call__ = __call__
        _state["count"] += 1
    handlers = getattr(_tls, "handlers", None)
    if handlers is None:
        handlers = _tls.handlers = []
    handlers.append(handler)
    try:
        yield
    finally:
        handlers.pop()
        with _lock:
            _state["count"] -= 1
            if _state["count"] == 0:
                if nn.Module.__call__ is _state["wrapper"]:  # (not if another patch replaced it)
                    nn.Module.__call__ = _state["original"]
                _state["original"] = _state["wrapper"] = None
