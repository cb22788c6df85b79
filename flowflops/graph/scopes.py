"""``ignore_modules`` and ``custom_modules_hooks`` by module type, in graph mode.

Graph records carry the module scope that made them, so a module type is honoured by scope:

- every op inside a module of an ignored type costs 0 (its records are dropped, as eager mode
  never records them);
- a module of a type with a custom hook is priced by the hook, once per call, and the ops
  inside it are dropped. The hook runs while ``nn.Graph`` traces the model, with the traced
  (lazy) input and output tensors: their shapes are known, their values are not.

As in eager mode, the outermost ignored or custom module wins: nothing inside it is priced
again. ``nn.Graph`` calls a module through ``ProxyModule.__call__`` and skips the module's own
hooks; that method is wrapped while a count traces (and put back afterwards, also when the
trace fails). The wrapper acts only for the thread and graph that asked for it.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import oneflow.nn as nn

from ..runtime.module_hooks import call_module_hook, matching_type
from ..records import GIVEN_COST, OpRecord, ancestors
from ..runtime.view import origin

__all__ = ["GraphRules"]

_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
_local = threading.local()
_installed: Dict[str, Any] = {"count": 0, "original": None}


class GraphRules:
    """``ignore_modules`` / ``custom_modules_hooks`` by module type for one graph count of
    ``model`` (by scope, as above; the op type names are :class:`flowflops.rules.custom.OpRules`,
    applied after these)."""

    def __init__(
        self, model: Optional[nn.Module], ignore: Sequence[type] = (),
        custom: Optional[Dict[type, Callable]] = None,
    ) -> None:
        self.ignore = tuple(ignore)
        self.custom = dict(custom or {})
        # module -> its path, read only while a module type is named (a walk of the model)
        self.paths = {id(m): p for p, m in model.named_modules()} if model is not None and self.by_module else {}
        self.skipped: set = set()  # paths whose ops are dropped (ignored or custom-priced)
        self.calls: List[OpRecord] = []  # one per custom-priced module call
        self._depth = 0  # ignored/custom modules being traced now, around the current call

    @property
    def by_module(self) -> bool:
        """Whether any module type is named (these need a model traced by flowflops)."""
        return bool(self.ignore or self.custom)

    # -- while tracing --------------------------------------------------------------------
    def _call(self, original: Callable, proxy: Any, args: tuple, kwargs: dict) -> Any:
        module = proxy.to(nn.Module)
        path = self.paths.get(id(origin(module)))  # a view's module: the user's
        hook_type = matching_type(module, list(self.custom))
        if path is None or self._depth > 0 or not (matching_type(module, self.ignore) or hook_type):
            return original(proxy, *args, **kwargs)
        self.skipped.add(path)
        self._depth += 1
        try:
            out = original(proxy, *args, **kwargs)
        finally:
            self._depth -= 1
        if hook_type is not None and not matching_type(module, self.ignore):  # ignoring wins, as in eager
            cost = call_module_hook(self.custom[hook_type], module, args, out, path)
            self.calls.append(OpRecord(f"custom:{type(module).__name__}", path, attrs={GIVEN_COST: cost}))
        return out

    @contextlib.contextmanager
    def tracing(self) -> Iterator[None]:
        """Wrap ``ProxyModule.__call__`` for this thread while the body traces the model."""
        if not self.by_module:
            yield
            return
        from oneflow.nn.graph.proxy import ProxyModule

        with _lock:
            if _installed["count"] == 0:
                original = ProxyModule.__call__
                _installed["original"] = original

                def __call__(proxy: Any, *args: Any, **kwargs: Any) -> Any:
                    rules = getattr(_local, "rules", None)
                    if rules is None:
                        return original(proxy, *args, **kwargs)
                    return rules._call(original, proxy, args, kwargs)

                ProxyModule.__call__ = __call__
            _installed["count"] += 1
        previous = getattr(_local, "rules", None)
        _local.rules = self
        try:
            yield
        finally:
            _local.rules = previous
            with _lock:
                _installed["count"] -= 1
                if _installed["count"] == 0:
                    ProxyModule.__call__ = _installed["original"]
                    _installed["original"] = None

    # -- after tracing --------------------------------------------------------------------
    def apply(self, records: List[OpRecord]) -> List[OpRecord]:
        """Drop the records made inside ignored or custom-priced modules; add one record per
        custom-priced module call."""
        if self.skipped:
            records = [rec for rec in records if not any(p in self.skipped for p in ancestors(rec.module))]
        return list(records) + list(self.calls)
