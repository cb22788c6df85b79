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
and so shows among the report's unsupported ops.

The mechanism is safe with threads and with code that keeps references to functions:

- Each patched attribute is patched once for all counts using it at the same time (a
  reference count per attribute, under a lock) and put back when the last of them ends; it is
  then the very object it was before (one that someone else replaced meanwhile is left as they
  set it).
- A wrapper records a call only when the *calling thread* is running a ``count_functional``
  count (a thread-local); in every other thread, and after the count, it just calls the
  function. So another thread's ops never enter a report, and a wrapper that user code looked
  up during a count (``ACT2FN = {"gelu": F.gelu}``, built lazily in the first forward) stays
  harmless afterwards.
- The wrappers are made once per function (and emitter) and reused: a wrapper kept from an
  earlier count is the one installed again, and prices its op in every later count.

A reference to a primitive that no patch reaches (a default argument ``def f(x, act=F.gelu)``,
a dict built before the count) would be a silent zero. Below every Python reference, the
counting thread's profile hook (``sys.setprofile``: Python reports each call of a built-in
function, whatever name it was called by) sees such a call: it is recorded as op type
``unreached:<function>``, which has no formula, so the report lists it among the unsupported
ops and its coverage is below 100 %. (The hook is only set when the thread has none: a count
under a profiler of the user's leaves it alone.)
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from types import FrameType
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import oneflow as flow
import oneflow.nn.modules.math_ops as _math_ops  # flow.addmm's body: addmm(x, mat1, mat2, alpha, beta)

from ..conventions import FUNCTION_ATTR, VIA_ATTR
from ..errors import CountError
from ..records import AT, ITEM_BYTES, PARAMS, OpRecord
from ..runtime.interrupts import passes_through
from ..runtime.source import caller_outside
from .functional_table import Emit, patch_targets
from .layers import first_tensor, itemsize_of

__all__ = [
    "with_dtypes", "COMPOSITES", "ABORTS_ON_CPU", "abort_targets", "Record", "Target", "unreached_calls",
    "patched_attributes", "installed", "patched", "priced_as_one_op"
]


def with_dtypes(recs: List[OpRecord], args: tuple, out: Any, label: str = "", at: str = "",
                via: str = "") -> List[OpRecord]:
    """The records with ``_itemsize`` (the output's dtype), ``_fn`` (``label``, the function
    called, read by the peer conventions), ``_at`` (``at``: the user's calling line, when
    known), ``_via`` (``via``: the OneFlow composite that called it, when it is one of
    :data:`COMPOSITES`) and, on the first, ``_params``: the positions of the call's arguments
    that are parameters (read by the bytes rules)."""
    size = itemsize_of(first_tensor(out))
    params = tuple(i for i, a in enumerate(args) if isinstance(a, flow.nn.Parameter))
    done = []
    for n, r in enumerate(recs):
        extra: Dict[str, Any] = {ITEM_BYTES: size, FUNCTION_ATTR: label}
        if at:
            extra[AT] = at
        if via:
            extra[VIA_ATTR] = via
        if n == 0 and params:
            extra[PARAMS] = tuple(i for i in params if i < len(r.inputs))
        done.append(OpRecord(r.op_type, r.module, r.inputs, r.outputs, {**extra, **r.attrs}, r.name))
    return done


#: OneFlow 0.9 functions whose CPU kernel aborts the whole process (SIGABRT from
#: ``layer_norm_cpu_kernel.cpp:28 TODO``; checked 2026-12-01). In a counting thread a call on an
#: eager CPU tensor is refused with a CountError before OneFlow runs it; every eager count,
#: with or without ``count_functional``, installs these wrappers.
ABORTS_ON_CPU = frozenset({"layer_norm", "layer_norm_affine"})


def _refuse_abort(name: str, args: tuple, kwargs: Dict[str, Any]) -> None:
    x = args[0] if args else kwargs.get("x", kwargs.get("input"))
    if not isinstance(x, flow.Tensor) or x.is_lazy:
        return
    on_cpu = x.placement.type == "cpu" if x.is_global else x.device.type == "cpu"
    if on_cpu:
        raise CountError(
            f"the model calls flow._C.{name} on a CPU tensor, for which oneflow 0.9 has no CPU "
            "kernel (running it aborts the process), so the eager count stops before it: count "
            "with mode='graph', which compiles the model without running it"
        )


def abort_targets() -> List["Target"]:
    """The patch targets of :data:`ABORTS_ON_CPU` (what a count without
    ``count_functional`` installs: nothing is recorded through them, calls are only checked)."""
    return [t for t in patch_targets() if t[1] in ABORTS_ON_CPU]


#: OneFlow's Python composites that torch's trace keeps as one aten op, by their code object:
#: a primitive called straight from one is marked with its name (:data:`VIA_ATTR`)
COMPOSITES = {flow.nn.functional.linear.__code__: "linear", _math_ops.addmm.__code__: "addmm"}

Record = Callable[[List[OpRecord]], None]
Target = Tuple[Any, str, Emit]


class _Active:
    """The ``count_functional`` count running in one thread."""

    __slots__ = ("record", "should_count", "busy")

    def __init__(self, record: Record, should_count: Callable[[], bool]) -> None:
        self.record, self.should_count, self.busy = record, should_count, False


_tls = threading.local()  # .active: the _Active of this thread's count, if any
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A child made by ``os.fork()`` gets a new lock (another thread of the parent may have
    held it at the fork). Patches another thread's count installed stay in place there: they
    only pass calls through (no thread of the child counts with them)."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
# (id(owner), name) -> [owner, name, original, wrapper, counts using it]
_patches: Dict[Tuple[int, str], List[Any]] = {}
_wrappers: Dict[Any, Tuple[Any, Callable]] = {}  # (function, emitter) -> (original, wrapper)


def _record(active: _Active, emit: Emit, name: str, label: str, args: tuple, kwargs: Dict[str, Any], out: Any,
            caller: FrameType) -> None:
    """Record the call of ``name`` that returned ``out`` (its own function, so that a signal
    landing here is held until the count ends: :mod:`flowflops.runtime.interrupts`)."""
    try:
        recs = with_dtypes(emit(args, kwargs, out), args, out, label, caller_outside(caller),
                           COMPOSITES.get(caller.f_code, ""))
    except Exception:  # an unusual call signature: never break the user's forward, but
        # leave a record without a formula, so the report lists the call as unsupported
        recs = [OpRecord(f"call:{name}", "")]
    active.record(recs)


def _wrap(fn: Any, emit: Emit, name: str, label: str) -> Callable:
    @passes_through
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        active: Optional[_Active] = getattr(_tls, "active", None)
        if active is not None and name in ABORTS_ON_CPU:
            _refuse_abort(name, args, kwargs)
        if active is None or active.busy or not active.should_count():
            return fn(*args, **kwargs)
        active.busy = True
        try:
            out = fn(*args, **kwargs)
        finally:
            active.busy = False
        _record(active, emit, name, label, args, kwargs, out, sys._getframe(1))
        return out

    setattr(wrapper, "__wrapped__", fn)
    wrapper.__name__ = getattr(fn, "__name__", "wrapper")
    wrapper.__doc__ = getattr(fn, "__doc__", None)
    return wrapper


def priced_as_one_op(fn: Callable, emit: Emit, name: str) -> Callable:
    """``fn``, a Python function that stands for one op of OneFlow's graph (flowflops.torch_models'
    ``F.group_norm``), wrapped as the patched primitives are: a call the running count prices
    (``count_functional``, or inside a module that is descended into) is recorded as
    ``emit(args, kwargs, out)`` and the primitives ``fn`` calls are not counted again; every
    other call (no count, another thread, inside a priced module) just calls ``fn``. The
    wrapper is installed by its owner, not by :func:`patched` (a Python function is a
    composite there)."""
    return _wrap(fn, emit, name, name)


def _current(owner: Any, name: str) -> Any:
    return owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)


def _acquire(targets: Sequence[Target], held: List[Tuple[int, str]]) -> None:
    """Patch each target not patched yet, count one more user of each; ``held`` receives the
    keys as they are taken (so a failure half way releases exactly those)."""
    for owner, name, emit in targets:
        key = (id(owner), name)
        entry = _patches.get(key)
        if entry is None:
            fn = _current(owner, name)
            if fn is None:
                continue
            label = f"Tensor.{name}" if owner is flow.Tensor else name  # the call, for conventions
            # aliases (flow.relu is flow._C.relu) share one wrapper; Tensor methods have their own
            cache = (name if owner is flow.Tensor else id(fn), emit)
            cached = _wrappers.get(cache)
            if cached is None or cached[0] is not fn:
                cached = _wrappers[cache] = (fn, _wrap(fn, emit, name, label))
            entry = _patches[key] = [owner, name, fn, cached[1], 0]
            setattr(owner, name, cached[1])
        entry[4] += 1
        held.append(key)


def _release(held: List[Tuple[int, str]]) -> None:
    while held:
        entry = _patches[held[-1]]
        entry[4] -= 1
        if entry[4] == 0:
            owner, name, fn, wrapper, _ = entry
            if _current(owner, name) is wrapper:
                setattr(owner, name, fn)
            del _patches[held[-1]]
        held.pop()


def unreached_calls(active: "_Active") -> Callable[[Any, str, Any], None]:
    """The profile hook of a ``count_functional`` count: a call of a primitive's original
    function (a built-in) made while the count would price it, but not through a wrapper (no
    wrapper is running), is recorded as ``unreached:<name>``."""
    names: Dict[int, str] = {}
    for owner, name, _ in patch_targets():
        if owner is not flow.Tensor:
            fn = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
            entry = _patches.get((id(owner), name))
            original = entry[2] if entry else fn
            names.setdefault(id(original), getattr(original, "__name__", name))

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "c_call" or active.busy:
            return
        name = names.get(id(arg))
        if name is not None and active.should_count():
            active.record([OpRecord(f"unreached:{name}", "", attrs={FUNCTION_ATTR: name})])

    return profile


def patched_attributes() -> List[Tuple[Any, str]]:
    """Every ``(owner, name)`` a functional count may patch (for state checks in tests)."""
    return [(owner, name) for owner, name, _ in patch_targets()]


def installed() -> bool:
    """Whether any wrapper is in place now (some count is using it)."""
    return bool(_patches)


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """No functional call of the calling thread is counted while the body runs: a compile
    nested in an eager count's forward (a graph count of another model) traces its model's
    calls through the same patched functions, and they are not the outer count's."""
    previous = getattr(_tls, "active", None)
    _tls.active = None
    try:
        yield
    finally:
        _tls.active = previous


@contextlib.contextmanager
def patched(record: Record, should_count: Callable[[], bool], extra: Sequence[Target] = (),
            targets: Optional[Sequence[Target]] = None) -> Iterator[None]:
    """Price the calling thread's functional calls while the body runs: ``record(records)``
    receives what each counted call stands for; ``should_count()`` says whether a call made
    now is to be counted (no priced module running). Patches every target of
    :func:`patch_targets`, then ``extra`` ones (references to the same functions held
    elsewhere: :func:`captured_targets`), which share the wrappers. ``targets`` replaces
    :func:`patch_targets` (a count without ``count_functional``: :func:`abort_targets`)."""
    previous = getattr(_tls, "active", None)
    held: List[Tuple[int, str]] = []
    hook: Optional[Callable] = None
    try:
        with _lock:
            _acquire(list(patch_targets() if targets is None else targets) + list(extra), held)
        active = _tls.active = _Active(record, should_count)
        if targets is None and sys.getprofile() is None:
            hook = unreached_calls(active)
            sys.setprofile(hook)
        yield
    finally:
        if hook is not None and sys.getprofile() is hook:
            sys.setprofile(None)
        _tls.active = previous
        with _lock:
            _release(held)
