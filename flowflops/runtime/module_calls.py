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
_tls = threading.local()  # .handlers: this thread's handlers, innermost last; .chain: see _chain


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def installed_count() -> int:
    """How many ``intercepting`` bodies run now, in all threads (0: OneFlow's own method is in
    place, unless something outside flowflops replaced it)."""
    return int(_state["count"])


def _chain(handlers: List[Handler], original: Callable[..., Any]) -> CallNext:
    """One callable running ``handlers`` innermost (last) first, each with the next one out
    as its ``call_next``, then ``original``: built when a thread's handlers change, so a
    module call makes no closure and runs two frames per handler."""
    @passes_through
    def base(module: Any, args: tuple, kwargs: Dict[str, Any]) -> Any:
        return original(module, *args, **kwargs)

    call: CallNext = base
    for handler in handlers:
        call = _link(handler, call)
    return call


def _link(handler: Handler, call_next: CallNext) -> CallNext:
    @passes_through
    def link(module: Any, args: tuple, kwargs: Dict[str, Any]) -> Any:
        return handler(call_next, module, args, kwargs)

    return link


def _set_chain(handlers: List[Handler]) -> None:
    """This thread's chain (see :func:`_chain`) for its ``handlers`` now; ``None``: none."""
    _tls.chain = _chain(list(handlers), _state["original"]) if handlers else None


@contextlib.contextmanager
def intercepting(handler: Handler) -> Iterator[None]:
    """While the body runs, every module call made in this thread goes through ``handler``
    (inner bodies' handlers first). Calls in other threads are not touched."""
    with _lock:
        if _state["count"] == 0:
            original = nn.Module.__call__

            @passes_through
            def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
                chain = getattr(_tls, "chain", None)
                if chain is None:
                    return original(self, *args, **kwargs)
                return chain(self, args, kwargs)

            _state["original"], _state["wrapper"] = original, __call__
            nn.Module.__call__ = __call__
        _state["count"] += 1
    handlers = getattr(_tls, "handlers", None)
    if handlers is None:
        handlers = _tls.handlers = []
    handlers.append(handler)
    try:
        _set_chain(handlers)
        yield
    finally:
        handlers.pop()
        _set_chain(handlers)
        with _lock:
            _state["count"] -= 1
            if _state["count"] == 0:
                if nn.Module.__call__ is _state["wrapper"]:  # (not if another patch replaced it)
                    nn.Module.__call__ = _state["original"]
                _state["original"] = _state["wrapper"] = None
