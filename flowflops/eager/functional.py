"""``count_functional``: price the functional calls that module hooks cannot see.

While a count runs, the primitive functions of oneflow (``flow._C.*``, their aliases in
``flow`` and ``flow.nn.functional``, and ``flow.Tensor`` methods and operators such as
``x + y``, ``x @ w``, ``x.mean()``) are replaced by wrappers that record each call as the op
records OneFlow's graph shows for it. Composite Python functions (``F.linear``,
``F.layer_norm``, ``F.interpolate``...) are left alone: they decompose into patched primitives,
exactly as they do when OneFlow compiles them.

A call is recorded only when no priced module (one with a module hook) and no other patched
call is running, so nothing is counted twice. Ops that move data (reshape, cat, transpose,
slicing, expand...) are not patched: they cost nothing. A call whose record cannot be made
(an unusual signature) is recorded as op type ``call:<function name>``, which has no formula
and so shows among the report's unsupported ops. Every patch is removed in a
``finally``; the patched attributes are then the very objects they were before.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import oneflow as flow

from ..conventions import FUNCTION_ATTR
from ..records import ITEM_BYTES, PARAMS, OpRecord
from .functional_table import Emit, patch_targets
from .layers import first_tensor, itemsize_of


def with_dtypes(recs: List[OpRecord], args: tuple, out: Any, label: str = "") -> List[OpRecord]:
    """The records with ``_itemsize`` (the output's dtype), ``_fn`` (``label``, the function
    called, read by the peer conventions) and, on the first, ``_params``: the positions of the
    call's arguments that are parameters (read by the bytes rules)."""
    size = itemsize_of(first_tensor(out))
    params = tuple(i for i, a in enumerate(args) if isinstance(a, flow.nn.Parameter))
    done = []
    for n, r in enumerate(recs):
        extra: Dict[str, Any] = {ITEM_BYTES: size, FUNCTION_ATTR: label}
        if n == 0 and params:
            extra[PARAMS] = tuple(i for i in params if i < len(r.inputs))
        done.append(OpRecord(r.op_type, r.module, r.inputs, r.outputs, {**extra, **r.attrs}, r.name))
    return done


class FunctionalPatcher:
    """Installs the wrappers; ``record(records)`` receives what each counted call stands for.
    ``should_count()`` says whether a call made now is to be counted (no priced module running)."""

    def __init__(self, record: Callable[[List[OpRecord]], None], should_count: Callable[[], bool]) -> None:
        self._record = record
        self._should_count = should_count
        self._depth = 0
        self._saved: List[Tuple[Any, str, Any]] = []

    def _wrap(self, fn: Any, emit: Emit, name: str, label: str) -> Callable:
        patcher = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if patcher._depth > 0 or not patcher._should_count():
                return fn(*args, **kwargs)
            patcher._depth += 1
            try:
                out = fn(*args, **kwargs)
            finally:
                patcher._depth -= 1
            try:
                recs = with_dtypes(emit(args, kwargs, out), args, out, label)
            except Exception:  # an unusual call signature: never break the user's forward, but
                # leave a record without a formula, so the report lists the call as unsupported
                recs = [OpRecord(f"call:{name}", "")]
            patcher._record(recs)
            return out

        setattr(wrapper, "__wrapped__", fn)
        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        return wrapper

    def _patch(self, owner: Any, name: str, emit: Emit, done: Dict[int, Callable]) -> None:
        fn = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        if fn is None:
            return
        label = f"Tensor.{name}" if owner is flow.Tensor else name  # the call, for conventions
        wrapper = done.get(id(fn)) or self._wrap(fn, emit, name, label)
        done[id(fn)] = wrapper
        self._saved.append((owner, name, fn))
        setattr(owner, name, wrapper)

    def install(self, extra: Sequence[Tuple[Any, str, Emit]] = ()) -> None:
        """Patch every target of :func:`patch_targets`, then ``extra`` ones (references to the
        same functions held elsewhere: :func:`captured_targets`), which share the wrappers."""
        done: Dict[int, Callable] = {}
        for owner, name, emit in list(patch_targets()) + list(extra):
            self._patch(owner, name, emit, done if owner is not flow.Tensor else {})

    def remove(self) -> None:
        for owner, name, fn in reversed(self._saved):
            setattr(owner, name, fn)
        self._saved.clear()


def patched_attributes() -> List[Tuple[Any, str]]:
    """Every ``(owner, name)`` a functional count may patch (for state checks in tests)."""
    return [(owner, name) for owner, name, _ in patch_targets()]


@contextlib.contextmanager
def patched(record: Callable[[List[OpRecord]], None], should_count: Callable[[], bool],
            extra: Sequence[Tuple[Any, str, Emit]] = ()) -> Iterator[None]:
    p = FunctionalPatcher(record, should_count)
    try:
        p.install(extra)
        yield
    finally:
        p.remove()
