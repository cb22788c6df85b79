"""A private view of the user's model for a compiled count: the same classes, the same
forward code, the same tensors, but module objects (and, for a training step, parameter
objects) of the count's own, so that nothing the count sets is ever seen on the user's model.

Why: a count sets training flags, registers hooks and, for a training step, has OneFlow store
lazy gradients as ``.grad``. Done on the user's own objects, another thread using the model
meanwhile (a training loop calling ``model.train()``, ``loss.backward()``, ``optimizer.step()``)
sees the count's flags and gradients (its step fails with "This is a oneflow bug", or runs in
eval mode), and what that thread sets during the count is undone when the count puts the
model back. On a view, the count touches none of the user's modules, parameters, ``.grad``,
flags, hooks or optimizer, and its number is that of the model as it was when the view was
taken (a flag another thread flips meanwhile does not reach the view).

:func:`model_view` makes, for every module of the model, a new object of the same class whose
``__dict__`` is a copy of the module's: the module containers (``_modules``, ``_parameters``,
``_buffers``, hook dicts) and the attributes' lists, dicts, sets and tuples are new containers
whose items are mapped (a module of the model -> its view, a method bound to one -> the same
method bound to the view); everything else (tensors, buffers, deeper containers, other
objects) is the user's own object, shared. With ``new_params=True`` every parameter is a new
``nn.Parameter`` on the same memory (``p.detach()``), with the same ``requires_grad``.
:func:`optimizer_view` gives an optimizer whose parameter groups name those parameters.

What a view cannot redirect: code that reaches the user's module by another path than the
module's attributes (a closure or ``functools.partial`` made in ``__init__``, a global).
"""
from __future__ import annotations

import contextlib
import copy
import threading
import types
import weakref
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Optional, Tuple

import oneflow as flow
import oneflow.nn as nn

from .interrupts import passes_through
from .module_calls import CallNext, intercepting

__all__ = ["model_view", "optimizer_view", "origin", "refill"]

#: view module -> the user's module it stands for (while the view lives)
_ORIGINS: "weakref.WeakKeyDictionary[nn.Module, nn.Module]" = weakref.WeakKeyDictionary()


def origin(module: Any) -> Any:
    """The user's module a view module stands for; ``module`` itself for any other object."""
    try:
        return _ORIGINS.get(module, module)
    except TypeError:  # not weak-referenceable
        return module


def _map(value: Any, memo: Dict[int, Any], depth: int, shared: List[Tuple[Any, int]]) -> Any:
    got = memo.get(id(value))
    if got is not None:
        return got
    if isinstance(value, types.MethodType) and id(value.__self__) in memo:
        return types.MethodType(value.__func__, memo[id(value.__self__)])
    if depth == 0:
        return value
    kind = type(value)
    if kind in (dict, OrderedDict):
        new: Any = kind()
        memo[id(value)] = new
        for k, v in value.items():
            new[k] = v if type(v) in _ATOMS else _map(v, memo, depth - 1, shared)
        return new
    if kind is list:
        new = []
        memo[id(value)] = new
        new.extend(_map(v, memo, depth - 1, shared) for v in value)
        return new
    if kind is set:
        new = set()
        memo[id(value)] = new
        new.update(_map(v, memo, depth - 1, shared) for v in value)
        return new
    if kind is tuple:
        if all(map(_ATOMS.__contains__, map(type, value))):  # (kernel sizes, strides, ...)
            return value
        items = tuple(_map(v, memo, depth - 1, shared) for v in value)
        return items if any(a is not b for a, b in zip(items, value)) else value
    if isinstance(value, _SHARED_KINDS):  # a subclass (defaultdict, ...): the user's own object
        shared.append((value, depth))
    return value


#: attribute values that hold nothing to map (most of a module's ``__dict__``: flags, sizes, names)
_ATOMS = frozenset({str, int, float, bool, type(None)})
#: the containers :class:`flowflops.runtime.guard.ModelState` saves (and puts back) by content
_SHARED_KINDS = (list, dict, set)
_EMPTY = (dict, OrderedDict, set)
#: a module's own tables (modules, parameters, buffers: mapped item by item, without a call each)
_TABLE_NAMES = frozenset({"_modules", "_parameters", "_buffers"})
_TABLES = (dict, OrderedDict)
#: what :func:`_map` does more with than look it up in the memo
_MAPPED = (dict, list, set, tuple, types.MethodType)


def _shadow(p: nn.Parameter) -> nn.Parameter:
    return nn.Parameter(p.detach(), requires_grad=p.requires_grad)


def model_view(model: nn.Module, new_params: bool = False, modules: Optional[List[nn.Module]] = None,
               shared: Optional[List[Tuple[Any, int]]] = None) -> Tuple[nn.Module, Dict[int, Any]]:
    """The view of ``model`` (see the module docstring) and the map ``id(user object) -> view
    object`` (modules, containers and, with ``new_params``, parameters). ``modules``:
    ``list(model.modules())`` where the caller has it. ``shared`` receives ``(container,
    depth)`` for each list, dict or set (of a subclass: the exact types are copied) that the
    view holds as the user's own object, ``depth`` 2 for an attribute's value, 1 for an item
    of one: what a count on the view must save and put back (the view's own containers, like
    its modules, are dropped with it)."""
    memo: Dict[int, Any] = {}
    if shared is None:
        shared = []
    if modules is None:
        modules = list(model.modules())
    for m in modules:
        view = object.__new__(type(m))
        memo[id(m)] = view
        _ORIGINS[view] = m
    if new_params:
        for m in modules:
            for p in m.__dict__.get("_parameters", {}).values():
                if isinstance(p, nn.Parameter) and id(p) not in memo:
                    memo[id(p)] = _shadow(p)
    atoms, empty, tables, get = _ATOMS, _EMPTY, _TABLES, memo.get
    for m in modules:
        mine = object.__getattribute__(memo[id(m)], "__dict__")
        mine.update(m.__dict__)  # (one copy, at C level: the atoms stay as they are)
        for k, v in mine.items():  # (only values are replaced: the view's dict keeps its size)
            kind = type(v)
            if kind in atoms or kind is tuple and all(map(atoms.__contains__, map(type, v))):
                continue  # (kernel sizes, strides, ...: as they are)
            key = id(v)
            got = get(key)
            if got is not None:  # a container or module already mapped
                mine[k] = got
            elif kind in empty and not v:  # most hook dicts, state dicts, buffer name sets
                mine[k] = memo[key] = kind()
            elif kind in tables and k in _TABLE_NAMES:  # _modules/_parameters/_buffers
                mine[k] = memo[key] = new = kind()
                for name, item in v.items():
                    got = get(id(item))
                    new[name] = got if got is not None else item if type(item) in atoms or not isinstance(
                        item, _MAPPED) else _map(item, memo, 1, shared)
            else:
                mine[k] = _map(v, memo, 2, shared)
    return memo[id(model)], memo


def optimizer_view(optimizer: flow.optim.Optimizer, memo: Dict[int, Any]) -> flow.optim.Optimizer:
    """A shallow copy of ``optimizer`` whose parameter groups name the view's parameters
    (``memo`` from :func:`model_view`); its options are copies, its state the user's (a
    compile only reads it)."""
    view = copy.copy(optimizer)
    groups = []
    for group in optimizer.param_groups:
        g = copy.copy(group)
        g._parameters = [memo.get(id(p), p) for p in group._parameters]
        g._options = dict(group._options)
        groups.append(g)
    view.param_groups = groups
    return view


def view_parameters(memo: Dict[int, Any]) -> Optional[List[nn.Parameter]]:
    """The view's new parameters (for tests and diagnostics)."""
    return [v for v in memo.values() if isinstance(v, nn.Parameter)]


#: the hook dicts a forward call runs (OneFlow 0.9's ``Module.__call__``)
_CALL_HOOKS = ("_forward_pre_hooks", "_forward_hooks")
_MISSING = object()


class UserHook:
    """A user's forward hook or pre-hook in a view's hook dict, for eager counts: called with
    the user's own module (the one it was registered on), never the view, so a hook keyed by
    module identity (``store[m] = out``, ``m is model.fc``, ``names[m]``) sees what it sees in
    a plain forward. What the hook writes on that module is taken off it right after the call
    (the module's ``__dict__`` and its containers one level down get their contents back); an
    attribute it binds or deletes is moved onto the view, where the rest of the forward reads
    it. So another thread sees the user's module changed only while the hook itself runs."""

    __slots__ = ("hook", "user", "__weakref__")

    def __init__(self, hook: Any, user: nn.Module) -> None:
        self.hook = hook
        self.user = user

    def __call__(self, module: Any, *rest: Any) -> Any:
        user = self.user
        d = user.__dict__
        before = dict(d)
        # the containers the hook may change in place: hook dicts, _modules, a list of outputs
        kept = [(v, list(v.items()) if isinstance(v, dict) else list(v))
                for v in before.values() if type(v) in (dict, OrderedDict, list, set)]
        try:
            return self.hook(user, *rest)
        finally:
            _take_back(user, module, before, kept)


def refill(container: Any, items: Any) -> None:
    """Give ``container`` back the contents ``items`` (the same objects), in place."""
    if not items:
        if container:
            container.clear()
        return
    if isinstance(container, dict):
        if len(container) == len(items):
            for k, v in items:
                if container.get(k, refill) is not v:
                    break
            else:
                return
        container.clear()
        container.update(items)
    elif isinstance(container, list):
        if len(container) != len(items) or any(a is not b for a, b in zip(container, items)):
            container[:] = items
    elif len(container) != len(items) or any(x not in container for x in items):
        container.clear()
        container.update(items)


def _take_back(user: nn.Module, view: Any, before: Dict[str, Any], kept: List[Tuple[Any, Any]]) -> None:
    d = user.__dict__
    if len(d) != len(before) or any(d.get(k, _MISSING) is not v for k, v in before.items()):
        mine = object.__getattribute__(view, "__dict__") if view is not user else None
        for k in [k for k in d if k not in before]:  # added by the hook
            if mine is not None:
                mine[k] = d[k]
            del d[k]
        for k, v in before.items():
            now = d.get(k, _MISSING)
            if now is not v:  # rebound or deleted by the hook
                if mine is not None:
                    if now is _MISSING:
                        mine.pop(k, None)
                    else:
                        mine[k] = now
                d[k] = v
    for container, items in kept:
        refill(container, items)


def call_hooks_of_users(memo: Dict[int, Any], modules: List[nn.Module]) -> None:
    """Give each view module (of ``modules``, the user's) forward hook dicts holding the
    user's own hooks as :class:`UserHook` (see there), under the user's keys, in the user's
    order. For eager counts, where the view's forward runs the hooks."""
    for m in modules:
        view = memo[id(m)]
        mine = object.__getattribute__(view, "__dict__")
        for name in _CALL_HOOKS:
            own = m.__dict__.get(name)
            if isinstance(own, dict) and own:
                mine[name] = OrderedDict((k, UserHook(h, m)) for k, h in list(own.items()))


# -- calls that reach the user's modules by another path than the view's attributes ---------
_local = threading.local()  # .to: id(user's module) -> its view, in an eager count's thread


@passes_through
def _to_view(call_next: CallNext, module: Any, args: tuple, kwargs: Dict[str, Any]) -> Any:
    to = getattr(_local, "to", None)
    return call_next(to.get(id(module), module) if to else module, args, kwargs)


@contextlib.contextmanager
def calls_to_view(memo: Dict[int, Any], modules: List[nn.Module]) -> Iterator[None]:
    """While the body runs, a call of one of the user's ``modules`` made in this thread runs
    its view instead (through :func:`flowflops.runtime.module_calls.intercepting`, as
    :mod:`flowflops.graph.scopes` wraps ``ProxyModule.__call__``; other threads' calls pass
    through). A forward that reaches a module through a closure, a ``functools.partial`` or a
    global (``self.fn = lambda x: self.fc(x)`` in ``__init__``) then still runs the count's
    module, with its flags and hooks, instead of the user's module uncounted."""
    previous = getattr(_local, "to", None)
    _local.to = to = {id(m): memo[id(m)] for m in modules}
    try:
        # ``to`` is what _to_view reads while the body runs (an inner body sets its own, with
        # a handler of its own: the chain then runs _to_view itself at both levels)
        with intercepting(_to_view, maps=to):
            yield
    finally:
        _local.to = previous
