"""Making a model's forward traceable by the counting graph, without touching the model.

``nn.Graph`` runs the forward of each module on a *proxy* of it, so ``isinstance(self, C)``
and ``super().forward(x)`` (which checks ``isinstance``) fail inside it. :func:`truthful_proxies`
gives each proxy of the counting graph a class of its own whose ``__class__`` is the module's
class: ``isinstance`` and ``super()`` then work (both consult ``__class__``), while the proxy's
own type, and so OneFlow's handling of it, is unchanged. Only the counting graph's proxies are
changed (they are discarded with it); OneFlow's classes and the user's modules are not.

``nn.Graph`` also accepts only tensors, tuples, lists and plain dicts as outputs:
:func:`graph_output` turns any structure a forward returns (dict subclasses such as Hugging
Face's ``ModelOutput``, dataclasses, named tuples, nested) into those.

``nn.Graph`` calls a proxy without the module's forward pre-hooks (``ProxyModule.__call__``
skips every hook), but an eager forward runs them: ``nn.utils.weight_norm`` recomputes the
weight ``g * v / ||v||`` in one, on every call. The proxies of the counting graph run the
module's forward pre-hooks as ``Module.__call__`` does, with the proxy as the module, so the
hook's arithmetic is traced (on the graph's lazy tensors) and what it sets lands on the proxy,
never on the user's module. (A compiled ``nn.Graph`` of the user's own skips them when it runs,
so its proxies are left as OneFlow makes them.)
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional

import oneflow as flow
import oneflow.nn as nn

from . import repeats

__all__ = ["truthful_proxies", "graph_output"]

_PROXY_TYPES: Dict[tuple, type] = {}


def _proxy_type(proxy_cls: type, origin_cls: type, mixin: Optional[type] = None) -> type:
    key = (proxy_cls, origin_cls, mixin)
    if key not in _PROXY_TYPES:
        if mixin is not None:  # its __call__ first, then the forward pre-hooks and the proxy's
            _PROXY_TYPES[key] = type(proxy_cls.__name__, (mixin, _proxy_type(proxy_cls, origin_cls)), {})
            return _PROXY_TYPES[key]

        def reported_class(self: Any) -> type:
            return origin_cls

        def forward_call(self: Any, *args: Any, **kwargs: Any) -> Any:
            return proxy_cls.__call__(self, *args, **kwargs)

        # OneFlow names an op's location by the two innermost Python frames that made it: the
        # ops of a pre-hook by this ``__call__`` and its caller, the ops of a forward by
        # ``forward_call``. Both are the same frames whether or not repeated blocks are traced
        # once (``repeats.current()``), so the records' ``_at`` are the full trace's.
        def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
            origin = self.__dict__.get("_oneflow_internal_origin__")
            state = repeats.current()
            hooks = getattr(origin, "_forward_pre_hooks", None)
            if hooks:
                if state is not None and state.lent:
                    state.give_back((args, kwargs))
                for hook in list(hooks.values()):
                    result = hook(self, args)  # as oneflow's Module.__call__ does
                    if result is not None:
                        args = result if isinstance(result, tuple) else (result,)
            if state is None:
                return forward_call(self, *args, **kwargs)
            return state.call(self, forward_call, args, kwargs)

        _PROXY_TYPES[key] = type(proxy_cls.__name__, (proxy_cls,), {
            "__class__": property(reported_class), "__call__": __call__,
            "__doc__": f"A proxy of a {origin_cls.__name__} whose __class__ is {origin_cls.__name__}.",
        })
    return _PROXY_TYPES[key]


def truthful_proxies(graph: flow.nn.Graph, mixin: Optional[type] = None) -> None:
    """Retype every module proxy of ``graph`` so that ``isinstance``/``super()`` see the
    module's class (see the module docstring), and give each proxy, in its own ``__dict__``,
    a copy of any plain list or tuple of (registered) submodules its module holds, made of
    their proxies: a forward that loops over ``self.block_list`` (flowvision's GENet) then
    runs the proxies nn.Graph can trace instead of the bare modules, which OneFlow 0.9
    cannot compile (it aborts the process). The user's modules are not touched. ``mixin``, if
    given, is a first base of every proxy type (:class:`flowflops.graph.repeats.RepeatCall`,
    a marker: every proxy's ``__call__`` consults the active :class:`~flowflops.graph.repeats.Repeats`)."""
    proxies: Dict[int, Any] = {}
    todo = list(getattr(graph, "_blocks", {}).values())
    while todo:
        proxy = todo.pop()
        origin = proxy.__dict__.get("_oneflow_internal_origin__")
        if not isinstance(origin, nn.Module) or id(origin) in proxies:
            continue
        proxies[id(origin)] = proxy
        try:
            object.__setattr__(proxy, "__class__", _proxy_type(type(proxy), type(origin), mixin))
        except TypeError:  # a proxy type that cannot be retyped: leave it as it is
            pass
        todo.extend(proxy.__dict__.get("_modules", {}).values())
    for proxy in proxies.values():
        origin = proxy.__dict__["_oneflow_internal_origin__"]
        for name, value in origin.__dict__.items():
            if (type(value) in (list, tuple) and value and name not in proxy.__dict__
                    and all(id(v) in proxies for v in value if isinstance(v, nn.Module))
                    and any(isinstance(v, nn.Module) for v in value)):
                proxy.__dict__[name] = type(value)(
                    proxies[id(v)] if isinstance(v, nn.Module) else v for v in value)


def graph_output(out: Any) -> Any:
    """``out`` as tensors in tuples, lists and plain dicts; other leaves become ``None``."""
    if isinstance(out, flow.Tensor):
        return out
    if isinstance(out, dict) or hasattr(out, "items") and callable(out.items):
        try:
            return {str(k): graph_output(v) for k, v in out.items()}
        except Exception:
            return None
    if isinstance(out, tuple):  # named tuples too
        return tuple(graph_output(v) for v in out)
    if isinstance(out, list):
        return [graph_output(v) for v in out]
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        return {f.name: graph_output(getattr(out, f.name)) for f in dataclasses.fields(out)}
    return None
