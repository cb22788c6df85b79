"""One wrapper of ``nn.Module.__call__`` for everything in flowflops that must see module
calls no hook reaches (an eager count sending calls made through a closure to its view,
``FlopCounterMode`` counting each top-level module call).

OneFlow 0.9 has no process-wide module hook, so the class attribute itself is wrapped, once for
every user (:class:`~flowflops.runtime.shared_patch.SharedPatch`: installed by the first user,
OneFlow's method put back by the last, whatever the order they leave in); each user's handler
acts only in the thread that entered it, and other threads' calls go straight to OneFlow's
method.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import oneflow.nn as nn

from .interrupts import passes_through
from .shared_patch import Saved, SharedPatch

__all__ = ["CallNext", "Handler", "intercepting", "installed_count"]

#: ``call_next(module, args, kwargs)``: the next handler out, or OneFlow's own ``__call__``
CallNext = Callable[[Any, tuple, Dict[str, Any]], Any]
#: ``handler(call_next, module, args, kwargs)``: returns what the call returns
Handler = Callable[[CallNext, Any, tuple, Dict[str, Any]], Any]

_tls = threading.local()  # .handlers: this thread's (handler, maps), innermost last; .chain: see _chain


def installed_count() -> int:
    """How many ``intercepting`` bodies run now, in all threads (0: OneFlow's own method is in
    place, unless something outside flowflops replaced it)."""
    return _patch.count


def _chain(handlers: List[Tuple[Handler, Optional[Dict[int, Any]]]], original: Callable[..., Any]) -> CallNext:
    """One callable running ``handlers`` innermost (last) first, each with the next one out
    as its ``call_next``, then ``original``: built when a thread's handlers change, so a
    module call makes no closure and runs two frames per handler.

    Each entry is ``(handler, maps)``. A ``maps`` dict (``id(module) -> module``) says that the
    handler only replaces the module it is called with (``maps.get(id(module), module)``) and
    passes the call on: when the handler nearest ``original`` is such a one and no other handler
    of the thread is, the replacement is made in the last frame itself (``maps.get`` is a C
    call: no frame), and that handler gets no frames of its own."""
    maps = handlers[0][1] if handlers else None
    if maps is not None and all(m is None for _, m in handlers[1:]):
        look = maps.get

        @passes_through
        def mapped(module: Any, args: tuple, kwargs: Dict[str, Any]) -> Any:
            return original(look(id(module), module), *args, **kwargs)

        call: CallNext = mapped
        handlers = handlers[1:]
    else:
        @passes_through
        def base(module: Any, args: tuple, kwargs: Dict[str, Any]) -> Any:
            return original(module, *args, **kwargs)

        call = base
    for handler, _ in handlers:
        call = _link(handler, call)
    return call


def _link(handler: Handler, call_next: CallNext) -> CallNext:
    @passes_through
    def link(module: Any, args: tuple, kwargs: Dict[str, Any]) -> Any:
        return handler(call_next, module, args, kwargs)

    return link


def _set_chain(handlers: List[Tuple[Handler, Optional[Dict[int, Any]]]]) -> None:
    """This thread's chain (see :func:`_chain`) for its ``handlers`` now; ``None``: none."""
    _tls.chain = _chain(list(handlers), _patch.saved[0][2]) if handlers else None


@contextlib.contextmanager
def intercepting(handler: Handler, maps: Optional[Dict[int, Any]] = None) -> Iterator[None]:
    """While the body runs, every module call made in this thread goes through ``handler``
    (inner bodies' handlers first). Calls in other threads are not touched. ``maps``: given
    when all ``handler`` does is call on with ``maps.get(id(module), module)`` while the
    body runs (the chain may then make that replacement itself, see :func:`_chain`)."""
    _patch.enter()
    handlers = getattr(_tls, "handlers", None)
    if handlers is None:
        handlers = _tls.handlers = []
    handlers.append((handler, maps))
    try:
        _set_chain(handlers)
        yield
    finally:
        handlers.pop()
        _set_chain(handlers)
        _patch.leave()


def _install() -> List[Saved]:
    original = nn.Module.__call__

    @passes_through
    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        chain = getattr(_tls, "chain", None)
        if chain is None:
            return original(self, *args, **kwargs)
        return chain(self, args, kwargs)

    return [(nn.Module, "__call__", original, __call__)]


_patch = SharedPatch(_install)
