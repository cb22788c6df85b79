"""Run the model once with hooks that turn module calls into op records (priced afterwards,
by the face, with the registry).

For the count, each hooked module's hook dicts are replaced by copies holding flowflops' hooks
under a private key, and the user's own dicts are bound back in a ``finally``: the user's
hooks (and their keys) are never touched, also when the forward raises, a forward running in
another thread never sees a dict change size while it iterates, and a hook the model registers
during the count's forward goes away with the copy (with the rest of the forward's side effects,
see :mod:`flowflops.guard`) instead of taking a key OneFlow hands out again later (oneflow 0.9
keys hooks by ``len(dict)`` and has no removable handles, which is why
``register_forward_hook`` is not used).

flowflops' forward hook runs *first*, before the user's, so it prices the module's own output
even when a user hook replaces it (with another tensor or a tuple). Its pre-hook runs last,
after any user pre-hook that replaces the inputs: what is priced is the call the forward got.
The hooks do nothing in threads other than the counting one.
"""
from __future__ import annotations

import sys
import threading
from collections import Counter, OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import oneflow.nn as nn

from ..conventions import FUNCTIONAL_ON_ATTR, INSIDE_ATTR, MODULE_ATTR, peer_type_name
from ..runtime.interrupts import call_user
from ..runtime.module_hooks import call_module_hook, matching_type
from ..records import GIVEN_COST, ITEM_BYTES, OpRecord
from ..runtime.source import caller_outside
from .layers import EMITTERS, emitter_for, first_tensor, forward_differs, itemsize_of, op_record, shape_of

__all__ = ["CustomHook", "ZERO_MODULES", "CONTAINERS", "ZERO_MODULE_NAMES", "EagerCounter"]

CustomHook = Callable[[nn.Module, tuple, Any], Any]

#: Module types that do no arithmetic at inference; they are neither counted nor reported.
ZERO_MODULES: Tuple[type, ...] = tuple(
    getattr(nn, n) for n in (
        "Identity", "Dropout", "Dropout2d", "Dropout3d", "AlphaDropout", "Flatten", "Unflatten",
        "Embedding", "Sequential", "ModuleList", "ModuleDict", "ZeroPad2d", "ConstantPad1d",
        "ConstantPad2d", "ConstantPad3d", "ReflectionPad2d", "ReplicationPad2d", "PixelShuffle",
    ) if hasattr(nn, n)
)


#: Containers: a subclass that overrides ``forward`` is a custom module like any other.
CONTAINERS = tuple(getattr(nn, n) for n in ("Sequential", "ModuleList", "ModuleDict") if hasattr(nn, n))


#: Regularisers from model zoos that are identities at inference, matched by class name.
ZERO_MODULE_NAMES = frozenset({"DropPath", "StochasticDepth", "DropBlock2d"})


class _Key:
    """A hook-dict key nobody else can hold."""

    def __repr__(self) -> str:
        return "<flowflops hook>"


class EagerCounter:
    """Counts one forward call of ``model`` through module hooks.

    ``ignore_modules``: module types counted as zero (their children too).
    ``custom_modules_hooks``: module type -> ``fn(module, args, output)`` giving that call's
    MACs (FLOPs are taken as 2 per MAC) in any style :mod:`flowflops.hooks` accepts.
    ``table``: module type -> emitter (default: :data:`flowflops.eager.layers.EMITTERS`).
    ``count_functional``: also price functional calls made outside priced modules (see
    :mod:`flowflops.eager.functional`), attributed to the innermost module running.

    A module whose class derives from a priced (or zero-cost) type but overrides ``forward``
    is not priced as its base: it is descended into, its children priced by their hooks and
    its own functional calls priced as with ``count_functional`` (also when that is off).
    """

    def __init__(
        self,
        model: nn.Module,
        paths: Dict[int, str],
        ignore_modules: Sequence[type] = (),
        custom_modules_hooks: Optional[Dict[type, CustomHook]] = None,
        table: Optional[Dict[type, Any]] = None,
        count_functional: bool = False,
        ignore_hook_only: bool = False,
        modules: Optional[List[nn.Module]] = None,
    ) -> None:
        self.model = model
        #: ``list(model.modules())`` where the caller has it (one walk of the tree fewer)
        self.modules = modules
        self.paths = paths
        self.ignore = tuple(ignore_modules)
        self.custom = dict(custom_modules_hooks or {})
        self.table = EMITTERS if table is None else table
        #: the types whose subclasses are descended into when they override ``forward``
        self._bases = frozenset(list(self.table) + [t for t in ZERO_MODULES if t not in CONTAINERS])
        self.records: List[OpRecord] = []
        self.unsupported: Counter = Counter()
        self.unpriced: Dict[str, str] = {}  # path -> type of each module counted as zero
        self._priced_depth = 0
        self._descend_depth = 0  # modules running now that are descended into (see above)
        self.descended: List[str] = []  # their paths
        self._key = _Key()
        self._hooked: List[Tuple[nn.Module, Any, Any]] = []  # module, its own pre/post dicts
        self._thread = threading.get_ident()
        self.count_functional = count_functional
        #: ptflops' ``ignore_modules``: only the listed exact types lose their own hook; their
        #: children keep theirs and the functionals they call are counted as if unlisted
        self.ignore_hook_only = ignore_hook_only
        self._stack: List[str] = []  # paths of the modules running now (count_functional)
        self._types: List[str] = []  # their class names (for the peer conventions)
        self.outputs: Dict[str, Tuple[int, ...]] = {}  # module path -> shape of its first output
        self.called_at: Dict[str, str] = {}  # module path -> "file:line" of its first call

    # -- which handler a module gets ---------------------------------------------------------
    def _handler(self, m: nn.Module, by_type: Optional[Dict[type, Any]] = None) -> Optional[Tuple[str, Any]]:
        """``by_type``: the part of the answer that depends on the module's type alone, kept
        per type across one :meth:`install` (most of a model's modules share a few types)."""
        t = type(m)
        got = by_type.get(t) if by_type is not None else None
        if got is None:
            got = self._type_handler(m)
            if by_type is not None:
                by_type[t] = got
        if got[0] == "descend":
            self.descended.append(self.paths.get(id(m), ""))
        elif got[0] == "leaf?":
            return ("unknown", None) if not m._modules else None
        return got if got[0] else None

    def _type_handler(self, m: nn.Module) -> Tuple[Any, Any]:
        """:meth:`_handler` from ``type(m)`` alone: ``("", None)`` for no hook, ``("leaf?",
        None)`` for "unknown" when the module has no children."""
        if self.ignore_hook_only:
            if type(m) in self.ignore:
                return ("track", None)
        elif matching_type(m, self.ignore):
            return ("ignore", None)
        t = matching_type(m, self.custom) if self.custom else None
        if t is not None:
            return ("custom", self.custom[t])
        if forward_differs(m, self._bases):
            return ("descend", None)
        emitter = emitter_for(m, self.table)
        if emitter is not None:
            return ("emit", emitter)
        if self.count_functional:
            return ("track", None)
        if not isinstance(m, ZERO_MODULES) and type(m).__name__ not in ZERO_MODULE_NAMES:
            return ("leaf?", None)
        return ("", None)

    # -- hooks ----------------------------------------------------------------------------------
    def _hook_pair(self) -> Tuple[Dict[int, Tuple[str, Any, str, str, bool, bool]], Callable, Callable]:
        """``(calls, pre, post)``: the one pre-hook and the one forward hook every hooked module
        of this count gets, and the table they read, ``id(module) -> (kind, fn, path,
        type_name, descend, priced)`` (:meth:`install` fills it in; ``path``: the module's,
        ``type_name``: its :func:`peer_type_name`). One pair per count, not a pair of closures
        per module: fewer objects for the garbage collector to walk while the forward runs. A
        module missing from the table (a hook dict some forward handed to another module) is
        passed over by both hooks."""
        me = self._thread
        key = self._key
        stack, types, called_at, outputs = self._stack, self._types, self.called_at, self.outputs
        get_ident = threading.get_ident
        counter = self
        calls: Dict[int, Tuple[str, Any, str, str, bool, bool]] = {}
        look = calls.get

        def pre(m: nn.Module, args: tuple) -> None:
            if get_ident() != me:
                return
            call = look(id(m))
            if call is None:
                return
            hooks = m.__dict__.get("_forward_hooks")
            if isinstance(hooks, dict) and key not in hooks:
                # a user's pre-hook (run before this one) cleared or replaced the module's
                # forward hooks: the counting hook goes back in front for this call
                rest = list(hooks.items())
                hooks.clear()
                hooks[key] = post
                hooks.update(rest)
            path = call[2]
            if path not in called_at:
                called_at[path] = caller_outside(sys._getframe(1))
            stack.append(path)
            types.append(call[3])
            if call[4]:
                counter._descend_depth += 1
            elif call[5]:
                counter._priced_depth += 1

        def post(m: nn.Module, args: tuple, out: Any) -> None:
            if get_ident() != me:
                return
            call = look(id(m))
            if call is None:
                return
            kind, fn, path, type_name, descend, priced = call
            if stack:
                stack.pop()
                types.pop()
            first = first_tensor(out) if isinstance(out, (tuple, list)) else out
            if path not in outputs and hasattr(first, "shape"):
                outputs[path] = shape_of(first)
            if priced:
                counter._priced_depth -= 1
                if counter._priced_depth == 0:
                    counter._record(kind, fn, m, args, out, path, type_name, first)
            elif descend:
                counter._descend_depth -= 1
            elif kind == "unknown":  # (inside a descended module its functional calls counted)
                if counter._priced_depth == 0 and counter._descend_depth == 0:
                    counter.unsupported[type(m).__name__] += 1
                    counter.unpriced[path] = type(m).__name__

        return calls, pre, post

    def _record(self, kind: str, fn: Any, m: nn.Module, args: tuple, out: Any, path: str = "",
                type_name: str = "", first: Any = None) -> None:
        if kind == "ignore":
            return
        if kind == "custom":
            cost = call_module_hook(fn, m, args, out, path)
            self.records.append(OpRecord(f"custom:{type(m).__name__}", path, attrs={GIVEN_COST: cost}))
            return
        marks = {ITEM_BYTES: itemsize_of(first), MODULE_ATTR: type_name}
        if self.count_functional:  # for peer conventions (ptflops' double count)
            marks[FUNCTIONAL_ON_ATTR] = True
        self._add(fn(m, args, out), path, marks)

    def _add(self, records: List[OpRecord], path: str, extra: Optional[Dict[str, Any]] = None) -> None:
        """Keep ``records`` as made by ``path``'s module (with ``extra`` attrs under their own)."""
        keep = self.records.append
        for rec in records:
            attrs = {**extra, **rec.attrs} if extra else rec.attrs
            keep(op_record(rec.op_type, path, rec.inputs, rec.outputs, attrs, rec.name))

    def install(self) -> None:
        self._thread = threading.get_ident()
        by_type: Dict[type, Any] = {}
        names: Dict[type, str] = {}
        calls, pre, post = self._hook_pair()
        for m in (self.model.modules() if self.modules is None else self.modules):
            h = self._handler(m, by_type)
            if h is None:
                continue
            name = names.get(type(m))
            if name is None:
                name = names[type(m)] = peer_type_name(type(m))
            kind, fn = h
            calls[id(m)] = (kind, fn, self.paths.get(id(m), ""), name, kind == "descend",
                            kind not in ("unknown", "track", "descend"))
            d = m.__dict__
            own_pre, own_post = d["_forward_pre_hooks"], d["_forward_hooks"]
            self._hooked.append((m, own_pre, own_post))
            pre_hooks = OrderedDict(own_pre)
            pre_hooks[self._key] = pre
            post_hooks = OrderedDict([(self._key, post)])
            post_hooks.update(own_post)
            d["_forward_pre_hooks"], d["_forward_hooks"] = pre_hooks, post_hooks

    def remove(self) -> None:
        while self._hooked:
            m, own_pre, own_post = self._hooked.pop()
            m.__dict__["_forward_pre_hooks"], m.__dict__["_forward_hooks"] = own_pre, own_post

    def _record_functional(self, records: List[OpRecord]) -> None:
        inside = {INSIDE_ATTR: self._types[-1]} if self._types else None
        self._add(records, self._stack[-1] if self._stack else "", inside)

    def run(self, args: tuple, kwargs: Dict[str, Any]) -> Any:
        """Call the model once with the hooks (and, with ``count_functional``, the functional
        patches) installed; all of them are removed afterwards, also when the call raises."""
        from .functional import abort_targets, patched
        from .functional_table import captured_targets

        try:
            self.install()
            if not self.count_functional and not self.descended:
                # no functional pricing: only the calls that would abort the process are checked
                with patched(self._record_functional, lambda: False, targets=abort_targets()):
                    return call_user(self.model, *args, **kwargs)

            def should_count() -> bool:
                return self._priced_depth == 0 and (self.count_functional or self._descend_depth > 0)

            with patched(self._record_functional, should_count, captured_targets(self.model)):
                return call_user(self.model, *args, **kwargs)
        finally:
            self.remove()
            self._descend_depth = 0
            self._stack.clear()
            self._types.clear()
