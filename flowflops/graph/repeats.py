"""Repeated blocks traced once (``profile(..., mode="graph", repeats="once")``, the default).

A graph count costs what tracing every op of every layer costs. Deep models call the same block
many times: a decoder's 48 layers, a ResNet stage's identical bottlenecks. While the counting
graph traces the model, each module call is given a *key*: the module's class and, for every
module inside it, its class, training flag, parameter and buffer shapes/dtypes/devices, the values of
its non-tensor attributes (on the module and on its graph proxy), the simple class attributes,
and the values of the globals and closure cells its methods read; then the call's arguments
(tensor shapes, dtypes and devices; other values as they are). The first call of each
key is traced as usual; a later call with the same key is not traced, and after compiling,
the first call's op records are copied under the later call's module path, with its own
tensor and variable names. At the first copy, one ``identity`` op ("mark") per input and
output of the first call tells their names; marks are made in scopes of their own and
removed from the records.

A copy makes no op of its own where it can (it *lends*): each output is a ``detach`` of the
first call's (no op; the same shape, dtype and SBP) or the input the first call passed
through; an input lent by an earlier copy is known without a mark, other inputs get a mark; a
copy made with no op since the last copy (the job's bytes unchanged) follows that copy's
records, otherwise one mark places it. A lent tensor given to a module or returned by the
graph is rebound in place to a mark of it first (:meth:`Repeats.give_back`). After compiling,
an op other than a mark that read a lent tensor's name (made after the first copy) cannot be
told from one that read the first call's own output: the count is compiled again with a mark
for every input and output of every copy (:class:`Relend`), and that class lends no more in
this process (a mixture of experts: each expert's output is multiplied in the caller).

A call is traced, not copied, when identity cannot be shown:

- the module has no submodules (tracing a leaf costs less than copying it);
- a method of a class in the block (or a function it calls) assigns a global or a closure
  variable, or reads Python's ``random`` / ``numpy.random``;
- an attribute, argument or global holds a value the key cannot describe (a mutable container
  among the arguments, an object nested too deep, a module passed as an argument);
- the first call changed an attribute of a module in the block (its forward keeps state);
- the first call returned something other than tensors, tuples, lists, dicts and plain values,
  or had no tensor input or output;
- module-type ``ignore_modules`` / ``custom_modules_hooks`` rules are in use (their hooks run
  per call while tracing);
- the module has forward pre-hooks (they run before the call, on the proxy; what they set
  there, weight_norm's weight, is not seen by the first call's check of its attributes);
- a tensor of the call or the block is global (placed over ranks). Copying such blocks is not
  exact: in a pipeline, the transfer into a stage's first block (a ``boxing`` record in that
  block) was copied into each copy of it (tried in
  ``tests/test_distributed.py::test_pipeline_repeats_once_is_the_full_trace``).

An eval ``nn.Dropout`` (OneFlow's own class) is described without its ``generator``: each
dropout holds a generator of its own, and in eval the op returns its input (no record).

If the first call's module is traced again later (a shared module called twice with other
shapes), its records cannot be told apart, and if it changed an input tensor in place, the
tensor it was given is not known: then the count is traced again in full (:class:`Retrace`).
``repeats="trace"`` always traces everything.

What is proved, not assumed: ``tests/test_repeats.py`` compares the deduplicated count with
``repeats="trace"`` record by record (op type, module path, shapes, every attribute but tensor
names, OneFlow's op location ``_at`` included), each record's MACs, FLOPs and bytes, the totals
and ``memory()`` (which follows the tensor names), and asserts which calls were copied, on:
models built to defeat it; resnet18 and, slow, resnet50, vit_tiny, swin_tiny,
mobilenet_v3_large and densenet121 (flowvision); both reference decoders at small width (prefill,
decode step, with and without a cache); and, slow, the suite's timm and Hugging Face models at
small sizes (timm resnet18, convnext_atto, resnext50_32x4d, efficientnet_b0,
mobilenetv3_large_100, regnety_002, vit_tiny, vit_relpos_small, levit_128s, edgenext_xx_small;
Hugging Face bert, gpt2, bart, vit, xlnet, whisper, clip, segformer, wav2vec2, t5).
``tests/test_distributed.py`` does the same on a pipeline over 2 ranks, where nothing is copied
(global tensors, above). Not covered by a comparison: the other timm and Hugging Face models
(counted with ``repeats="once"`` by the sweeps, not compared), a count that falls back to
running the forward for values (:mod:`flowflops.graph.values`, which traces everything).
"""
from __future__ import annotations

import dataclasses
import dis
import enum
import functools
import itertools
import operator
import threading
import types
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple

import oneflow as flow
import oneflow.nn as nn

from ..records import IN_TENSORS, OUT_TENSORS, PARAMS, TWIN, OpRecord
from ..runtime.inputs import tensors_in

__all__ = [
    "REPEATS", "Unprovable", "Retrace", "Relend", "check_repeats", "returned", "tensor_key", "module_key",
    "Repeats", "RepeatCall", "active", "current",
]

REPEATS = ("once", "trace")
_MARK = "__flowflops_repeat_"
_local = threading.local()


class Unprovable(Exception):
    """A value the key cannot describe: the call is traced."""


class Retrace(Exception):
    """The deduplicated records cannot be assembled exactly: trace the whole model again."""


class Relend(Exception):
    """An op other than a mark may have read a lent tensor (see :class:`Repeats`): compile
    again with every copy's tensors marked. The classes of the templates whose outputs were
    read lend no more in this process (:data:`_NO_LEND`)."""


_NO_LEND: Set[type] = set()  # template classes whose copies' outputs an op read: marked, not lent


def _no_lend(classes: Iterable[Any]) -> None:
    if len(_NO_LEND) > 1000:
        _NO_LEND.clear()
    _NO_LEND.update(classes)


def _current_job() -> bytes:
    """The job built so far (about 0.1 µs per op): equal bytes, no op made in between."""
    job: bytes = flow._oneflow_internal.GetSerializedCurrentJob()
    return job


def check_repeats(repeats: str) -> str:
    if repeats not in REPEATS:
        raise ValueError(f"repeats must be one of {REPEATS} ('once': repeated blocks traced once; "
                         f"'trace': every call traced), got {repeats!r}")
    return repeats


# -- keys ---------------------------------------------------------------------------------------

_SIMPLE = (type(None), bool, int, float, complex, str, bytes)
_MODULE_INTERNALS = frozenset({
    "training", "_parameters", "_buffers", "_modules", "_non_persistent_buffers_set", "_backward_hooks",
    "_is_full_backward_hook", "_forward_hooks", "_state_dict_hooks",
    "_load_state_dict_pre_hooks", "_is_ddp_module", "_oneflow_internal_module_tensor_applied_dict__",
})
_PROXY_INTERNALS = frozenset({
    "_oneflow_internal_graphblock__", "_oneflow_internal_origin__", "_modules", "_parameters", "_buffers",
})
# OneFlow's nn.Dropout holds a flow.Generator of its own (a new object per module) and hands it
# to ``flow._C.dropout`` only; in eval the op returns its input (no op in the job), so the
# generator cannot change a record and is left out of the key of an eval Dropout (otherwise
# every block holding a dropout would differ from its siblings and none would be copied)
_EVAL_DROPOUT_INTERNALS = _MODULE_INTERNALS | {"generator"}
_RANDOM_MODULES = frozenset({"random", "numpy.random", "secrets"})
_MAX_DEPTH = 6


def tensor_key(t: Any) -> tuple:
    if t.is_global:  # not deduplicated yet: every rank must build the same job, and copies of
        raise Unprovable  # blocks over several ranks are not shown exact (see the module doc)
    # OneFlow's dtype and device objects compare (and hash) by value: no strings made
    return ("local", tuple(t.shape), t.dtype, t.device)


def _value(v: Any, depth: int = 0, loose: bool = False) -> Any:
    """A hashable description of ``v`` that is equal for values a forward cannot tell apart.
    ``loose`` (attributes and globals): unknown objects by identity and their plain
    attributes; otherwise (call arguments) they are :class:`Unprovable`."""
    if depth > _MAX_DEPTH:
        raise Unprovable
    t = type(v)
    if t in _SIMPLE:
        return (t.__name__, v)
    if isinstance(v, flow.Tensor):
        return tensor_key(v)
    if isinstance(v, (flow.dtype, flow.device)):
        return ("flow", str(v))
    if t is tuple or (isinstance(v, tuple) and hasattr(v, "_fields")):
        return (t, tuple(_value(x, depth + 1, loose) for x in v))
    if isinstance(v, (list, dict, set)) and not loose:
        raise Unprovable  # a mutable container passed in: the forward may change it
    if t in (list, set, frozenset):
        items = sorted(v, key=repr) if t is not list else v
        return (t.__name__, tuple(_value(x, depth + 1, loose) for x in items))
    if isinstance(v, dict):  # forward pre-hooks (an OrderedDict) too: the same hooks or traced
        return ("dict", tuple((_value(k, depth + 1, loose), _value(x, depth + 1, loose)) for k, x in v.items()))
    if isinstance(v, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, types.ModuleType,
                      functools.partial, enum.Enum, types.MethodWrapperType)):
        if isinstance(v, types.ModuleType) and v.__name__ in _RANDOM_MODULES:
            raise Unprovable
        return ("id", id(v))
    if not loose:
        raise Unprovable
    if isinstance(v, nn.Module):
        return ("module", id(v))
    attrs = getattr(v, "__dict__", None)
    plain = tuple((k, x) for k, x in attrs.items() if type(x) in _SIMPLE) if isinstance(attrs, dict) else ()
    return ("obj", id(v), t, plain)


def _code_reads(code: types.CodeType, found: Set[str]) -> None:
    """Global names ``code`` (and the functions defined in it) reads; :class:`Unprovable` if
    it assigns a global or a closure variable."""
    for ins in dis.get_instructions(code):
        if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL", "STORE_DEREF", "DELETE_DEREF"):
            raise Unprovable
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            found.add(ins.argval)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_reads(c, found)


_ENV: Dict[Any, Optional[List[Tuple[str, Any]]]] = {}


def _function_env(fn: types.FunctionType, out: List[Tuple[str, Any]], seen: Set[int]) -> None:
    """(description, value getter) for what ``fn`` reads outside its arguments: globals and
    closure cells, and, transitively, what the user's plain functions it reads read."""
    if id(fn) in seen:
        return
    seen.add(id(fn))
    names: Set[str] = set()
    _code_reads(fn.__code__, names)
    g = fn.__globals__
    for name in sorted(names):
        if name in g:
            out.append((name, g))
            value = g[name]
            if isinstance(value, types.FunctionType) and not _library(value):
                _function_env(value, out, seen)
    for i, cell in enumerate(fn.__closure__ or ()):
        out.append((f"<cell {i}>", cell))


def _library(obj: Any) -> bool:
    mod = getattr(obj, "__module__", None) or ""
    return mod.split(".", 1)[0] in ("oneflow", "flowflops", "builtins", "functools", "typing", "math")


def _class_env(cls: type) -> Optional[List[Tuple[str, Any]]]:
    """What the methods of ``cls`` (outside OneFlow) read besides their arguments (see
    :func:`_function_env`); ``None`` when they assign globals or closure variables."""
    if cls in _ENV:
        return _ENV[cls]
    out: List[Tuple[str, Any]] = []
    seen: Set[int] = set()
    try:
        for klass in cls.__mro__:
            if _library(klass) or klass is object:
                continue
            for attr in vars(klass).values():
                fn = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
                if isinstance(fn, property):
                    for f in (fn.fget, fn.fset):
                        if isinstance(f, types.FunctionType):
                            _function_env(f, out, seen)
                if isinstance(fn, types.FunctionType):
                    _function_env(fn, out, seen)
        env: Optional[List[Tuple[str, Any]]] = out
    except Unprovable:
        env = None
    _ENV[cls] = env
    return env


def _read_env(env: List[Tuple[str, Any]]) -> tuple:
    values = []
    for name, holder in env:
        if isinstance(holder, dict):
            values.append((name, _value(holder.get(name), 0, True)))
        else:  # a closure cell
            try:
                values.append((name, _value(holder.cell_contents, 0, True)))
            except ValueError:  # an empty cell
                values.append((name, None))
    return tuple(values)


_OWN: Dict[type, Tuple[type, ...]] = {}


def _own_classes(cls: type) -> Tuple[type, ...]:
    """The classes of ``cls.__mro__`` outside OneFlow and the standard library (once per class)."""
    got = _OWN.get(cls)
    if got is None:
        got = _OWN[cls] = tuple(k for k in cls.__mro__ if not (_library(k) or k is object))
    return got


def _class_state(cls: type) -> tuple:
    out: List[tuple] = []
    for klass in _own_classes(cls):
        out.extend((klass.__qualname__, k, v) for k, v in vars(klass).items()
                   if type(v) in _SIMPLE and not k.startswith("__"))
    return tuple(out)


def _attrs(d: Dict[str, Any], skip: frozenset) -> tuple:
    out = []
    for k, v in d.items():
        if k in skip:
            continue
        t = type(v)
        if t in _SIMPLE:
            out.append((k, (t.__name__, v)))
        elif not _is_proxy_value(v):
            out.append((k, _value(v, 0, True)))
    return tuple(out)


_PROXY: List[type] = []  # OneFlow's graph Proxy class, imported at the first key


def _is_proxy_value(v: Any) -> bool:
    if not _PROXY:
        from oneflow.nn.graph.proxy import Proxy

        _PROXY.append(Proxy)
    proxy = _PROXY[0]
    if isinstance(v, proxy):
        return True
    return type(v) in (list, tuple) and any(isinstance(x, proxy) for x in v)


def module_key(proxy: Any) -> tuple:
    """What a module's forward can see of itself (see the module docstring), for the block
    behind ``proxy`` and every module inside it."""
    parts = []
    todo: List[Tuple[str, Any]] = [("", proxy)]
    while todo:
        rel, p = todo.pop()
        m = p.__dict__["_oneflow_internal_origin__"]
        cls = type(m)
        env = _class_env(cls)
        if env is None:
            raise Unprovable
        params = tuple((n, None if t is None else tensor_key(t)) for n, t in m._parameters.items())
        buffers = tuple((n, None if t is None else tensor_key(t)) for n, t in m._buffers.items())
        skip = _EVAL_DROPOUT_INTERNALS if cls is nn.Dropout and not m.training else _MODULE_INTERNALS
        parts.append((rel, cls, m.training, params, buffers, _attrs(m.__dict__, skip),
                      _attrs(p.__dict__, _PROXY_INTERNALS), _class_state(cls), _read_env(env)))
        for name, child in p.__dict__.get("_modules", {}).items():
            todo.append((f"{rel}.{name}", child))
    return tuple(parts)


#: A block of more modules than this with no structural twin in the model is not keyed at its
#: first call (:func:`_alone_blocks`): its key, a walk of all of them, could match nothing.
_ALONE_SIZE = 32


def _alone_blocks(model: nn.Module) -> Set[int]:
    """The ids of the modules of ``model`` (counted at every path they sit) of more than
    :data:`_ALONE_SIZE` modules whose structure (class, submodule names and structures,
    parameter and buffer names and shapes) no other module of the model has. Equal keys
    need equal structures, so such a module's first call cannot be a copy of an earlier call,
    nor the template of another module's call (a forward that reshapes a parameter meanwhile
    only costs a copy: the call is traced)."""
    ids: Dict[tuple, int] = {}  # structure -> a small number (children hash by it)
    count: Dict[int, int] = {}
    seen: List[Tuple[int, int, int]] = []  # (module id, structure, size)

    def visit(m: nn.Module, depth: int) -> Tuple[int, int]:
        if depth > 200:
            raise RecursionError
        kids = []
        size = 1
        for name, c in m._modules.items():
            if c is not None:
                sig, n = visit(c, depth + 1)
                kids.append((name, sig))
                size += n
        shape = tuple((n, None if t is None else tuple(t.shape)) for n, t in m._parameters.items())
        shape_b = tuple((n, None if t is None else tuple(t.shape)) for n, t in m._buffers.items())
        sig = ids.setdefault((type(m), tuple(kids), shape, shape_b), len(ids))
        count[sig] = count.get(sig, 0) + 1
        seen.append((id(m), sig, size))
        return sig, size

    try:
        visit(model, 0)
    except RecursionError:  # a module inside itself: every call keyed
        return set()
    return {i for i, sig, size in seen if size > _ALONE_SIZE and count[sig] == 1}


def _snapshot(proxy: Any) -> List[Tuple[Any, Dict[str, Any]]]:
    """A copy of each attribute dict of the block's modules and proxies and of their parameter,
    buffer and submodule tables (a copy holds the values themselves: none can be freed and its
    address reused meanwhile)."""
    out = []
    todo = [proxy]
    while todo:
        p = todo.pop()
        pd = p.__dict__
        m = pd["_oneflow_internal_origin__"]
        out.append((m, dict(m.__dict__)))
        out.append((p, dict(pd)))
        for d in (m._parameters, m._buffers, m._modules):
            out.append((d, dict(d)))
        todo.extend(pd.get("_modules", {}).values())
    return out


def _unchanged(snap: List[Tuple[Any, Dict[str, Any]]]) -> bool:
    """Whether every dict of :func:`_snapshot` holds the same keys, in the same order, bound to
    the very same objects."""
    same = operator.is_
    for holder, before in snap:
        d = holder if isinstance(holder, dict) else holder.__dict__
        if len(d) != len(before) or tuple(d) != tuple(before) or not all(map(same, d.values(), before.values())):
            return False
    return True


def _plain_output(value: Any) -> bool:
    if isinstance(value, flow.Tensor) or type(value) in _SIMPLE:
        return True
    if type(value) in (list, tuple) or (isinstance(value, tuple) and hasattr(value, "_fields")):
        return all(_plain_output(v) for v in value)
    if type(value) is dict:
        return all(_plain_output(v) for v in value.values())
    return False


def _rebuild(value: Any, new: Iterator[Any]) -> Any:
    """``value`` with each tensor replaced by the next of ``new`` (fresh containers)."""
    if isinstance(value, flow.Tensor):
        return next(new)
    if type(value) is list:
        return [_rebuild(v, new) for v in value]
    if type(value) is dict:
        return {k: _rebuild(v, new) for k, v in value.items()}
    if isinstance(value, tuple):
        items = [_rebuild(v, new) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return value


# -- while tracing ------------------------------------------------------------------------------

@dataclasses.dataclass
class _Call:
    """A traced first call (a template: ``copy_of`` is ``None``) or a deduplicated one."""

    ident: int
    scope: str
    ins: List[Any]
    result: Any = None
    copy_of: Optional["_Call"] = None
    marked: bool = False
    cls: Any = None
    # a template: its output tensors as returned (private aliases: an in-place op on what the
    # caller got does not move them), and for each, the input it is (by identity) or None
    private: List[Any] = dataclasses.field(default_factory=list)
    through: List[Optional[int]] = dataclasses.field(default_factory=list)
    # a copy: per input, the copy and output position of the lent tensor it was given (None:
    # marked); per output, "mark", "lent" or "in" (an input passed through); the copy made just
    # before it with no op in between (its records follow that copy's), when it made no mark
    in_src: List[Optional[Tuple["_Call", int]]] = dataclasses.field(default_factory=list)
    out_kind: List[str] = dataclasses.field(default_factory=list)
    after: Optional["_Call"] = None


class Repeats:
    """The bookkeeping of one graph count with ``repeats="once"``. ``lend``: copies' outputs
    are lent (see :class:`Relend`); otherwise every copy marks each of its tensors."""

    def __init__(self, lend: bool = True) -> None:
        self.lend = lend
        self.templates: Dict[Any, _Call] = {}
        self.calls: Dict[int, _Call] = {}  # the marked templates and every copy
        self.traced: Dict[str, int] = {}  # scope -> traced calls
        self._ids = itertools.count()
        self._scopes: Dict[int, Tuple[Any, Any, int]] = {}  # id(scope) -> (scope, mark scope, k)
        self._log: Dict[int, List[Tuple[int, tuple]]] = {}  # mark scope k -> (call, role) per mark, in order
        self.lent: Dict[int, Tuple[Any, _Call, int]] = {}  # id(lent tensor) -> (it, its copy, output position)
        self._last: Optional[_Call] = None  # the last copy made, and the job as it was just after
        self._job: Optional[bytes] = None
        self._alone: Optional[Set[int]] = None  # big blocks with no structural twin (_alone_blocks)
        self._called: Set[int] = set()  # the modules called so far (ids; the model holds them)

    def _marks(self, scope: str, made: List[Tuple[int, tuple, Any]]) -> List[Any]:
        """``identity`` of each tensor of ``made`` (``(call, role, tensor)``) in a mark scope (one
        per scope they are made from: making a scope costs milliseconds). Their records tell the
        tensors' names, in the order they were made; they are removed from the records."""
        from oneflow.framework import graph_build_util as gbu

        prev = flow._oneflow_internal.GetCurrentScope()
        entry = self._scopes.get(id(prev))
        if entry is None or entry[0] is not prev:
            k = len(self._log)
            root = scope.split(".", 1)[0]
            entry = self._scopes[id(prev)] = (prev, gbu.make_new_name_scope(prev, f"{root}.{_MARK}{k}"), k)
            self._log[k] = []
        # A mark is also a consumer that keeps OneFlow from fusing ops across a copy.
        with gbu.BlockScopeContext(prev, entry[1]):
            out = [flow._C.identity(t) for _, _, t in made]
        self._log[entry[2]].extend((ident, role) for ident, role, _ in made)
        return out

    def _mark_template(self, call: _Call) -> None:
        """The template's inputs and outputs as they are now (at its first copy: an output
        changed in place since it returned is found by :class:`_Plan`)."""
        outs = list(tensors_in(call.result))
        self._marks(call.scope, [(call.ident, ("in", i), t) for i, t in enumerate(call.ins)]
                    + [(call.ident, ("out", j), t) for j, t in enumerate(outs)])
        call.marked = True
        self.calls[call.ident] = call

    def _copy(self, tpl: _Call, scope: str, ins: List[Any]) -> Any:
        """The outputs of a copy of ``tpl`` called on ``ins``. Not lending: one mark per input
        and output. Lending: an input lent by an earlier copy is known without a mark; each
        output is a lent tensor (a ``detach`` of the template's, no op) or the input the template
        passed through; one mark (the first input's) places the copy's records when the job
        changed since the last copy."""
        fresh = not tpl.marked
        if fresh:
            self._mark_template(tpl)
        copy = _Call(next(self._ids), scope, ins, copy_of=tpl)
        self.calls[copy.ident] = copy
        outs = list(tensors_in(tpl.result))
        lend = self.lend and tpl.cls not in _NO_LEND
        made: List[Tuple[int, tuple, Any]] = []
        for i, t in enumerate(ins):
            src = self.lent.get(id(t)) if lend else None
            if src is not None and src[0] is t:
                copy.in_src.append((src[1], src[2]))
            else:
                copy.in_src.append(None)
                made.append((copy.ident, ("in", i), t))
        if not lend:
            made.extend((copy.ident, ("out", j), t) for j, t in enumerate(outs))
            marks = self._marks(scope, made)
            copy.out_kind = ["mark"] * len(outs)
            self._last = None
            return _rebuild(tpl.result, iter(marks[len(ins):]))
        new: List[Any] = []
        lent: Dict[int, Any] = {}
        for j, (t, k) in enumerate(zip(tpl.private, tpl.through)):
            if k is not None:
                copy.out_kind.append("in")
                new.append(ins[k])
                continue
            copy.out_kind.append("lent")
            a = lent.get(id(t))
            if a is None:
                a = lent[id(t)] = t.detach()
                if t.requires_grad:
                    a.requires_grad_(True)
                self.lent[id(a)] = (a, copy, j)
            new.append(a)
        job = _current_job()
        if not made and self._last is not None and not fresh and job == self._job:
            copy.after = self._last  # no op since the last copy: its records follow that one's
        else:
            if not made:
                made.append((copy.ident, ("anchor",), ins[0]))
            self._marks(scope, made)
            job = _current_job()
        self._last, self._job = copy, job
        return _rebuild(tpl.result, iter(new))

    def give_back(self, value: Any) -> None:
        """Each lent tensor in ``value`` (a module call's arguments, the graph's outputs; in
        tuples, lists and dicts) rebound, in place, to a mark of it (``t.data = identity(t)``,
        an op, once): the module, the graph's output and every later reader of that very
        object then read the copy's own tensor, and an in-place op on it is seen by all who
        hold it, as in the full trace. An op reading a lent tensor that was not given back is
        found after compiling (:class:`Relend`)."""
        for t in tensors_in(value):
            hit = self.lent.get(id(t))
            if hit is not None and hit[0] is t:
                del self.lent[id(t)]
                _, copy, j = hit
                t.data = self._marks(copy.scope, [(copy.ident, ("late", j), t)])[0]

    def _split_marks(self, records: List[OpRecord]) -> Tuple[Dict[int, Dict[tuple, OpRecord]], Dict[str, int]]:
        """Call -> its mark records by role, and mark record name -> call (the marks that place
        a copy: not the ones made when a module or the output read a lent tensor)."""
        groups: Dict[int, List[OpRecord]] = {}
        for rec in records:
            k = _mark_of(rec.module)
            if k is not None:
                groups.setdefault(k, []).append(rec)
        marks: Dict[int, Dict[tuple, OpRecord]] = {}
        owner: Dict[str, int] = {}
        for k, log in self._log.items():
            group = sorted(groups.pop(k, []), key=_op_index)
            if len(group) != len(log):
                raise Retrace
            for (ident, role), rec in zip(log, group):
                marks.setdefault(ident, {})[role] = rec
                owner[rec.name] = ident if role[0] != "late" else -1
        if groups:
            raise Retrace
        return marks, owner

    def call(self, proxy: Any, original: Any, args: tuple, kwargs: Dict[str, Any]) -> Any:
        from oneflow.nn.graph.graph_block import GraphModule

        block = proxy.to(GraphModule)
        scope = block.name_prefix + block.name
        # a leaf (tracing it costs less than copying it), the counted model itself (called
        # once by the counting graph: its key, a walk of the whole model, would buy nothing), or
        # a module with forward pre-hooks (they ran before this call, in the proxy's __call__:
        # what they set on the proxy, weight_norm's weight, is not seen changing by the snapshot)
        origin = proxy.__dict__["_oneflow_internal_origin__"]
        if "." not in scope and self._alone is None:
            self._alone = _alone_blocks(origin)
        if (not proxy.__dict__.get("_modules") or "." not in scope
                or getattr(origin, "_forward_pre_hooks", None)):
            self.traced[scope] = self.traced.get(scope, 0) + 1
            if self.lent:
                self.give_back((args, kwargs))
            return original(proxy, *args, **kwargs)
        key: Any = None
        # a big block with no structural twin in the model, at its first call: nothing before
        # it can be its template, and only this very module called again could be its copy
        # (its second call is keyed, and a template for the calls after it): traced, no key
        if id(origin) in self._called or id(origin) not in (self._alone or ()):
            try:
                key = (module_key(proxy), _value(args), _value(tuple(sorted(kwargs.items()))))
                hash(key)
            except Exception:  # Unprovable, or a value that cannot be described or hashed: traced
                key = None
        self._called.add(id(origin))
        ins = list(tensors_in((args, kwargs))) if key is not None else []
        hit = self.templates.get(key) if ins else None
        if hit is not None:
            return self._copy(hit, scope, ins)
        if self.lent:
            self.give_back((args, kwargs))
        snap = _snapshot(proxy) if ins else None
        self.traced[scope] = self.traced.get(scope, 0) + 1
        result = original(proxy, *args, **kwargs)
        if snap is not None and any(True for _ in tensors_in(result)) and _plain_output(result) and _unchanged(snap):
            outs = list(tensors_in(result))
            at = {id(t): i for i, t in reversed(list(enumerate(ins)))}
            self.templates[key] = _Call(
                next(self._ids), scope, ins, result, cls=type(proxy.__dict__["_oneflow_internal_origin__"]),
                private=[t.detach() for t in outs], through=[at.get(id(t)) for t in outs])
        return result

    # -- after compiling ----------------------------------------------------------------------
    def expand(self, records: List[OpRecord], root: str) -> List[OpRecord]:
        """The records of the compiled job with each deduplicated call's records in place of its
        marks: its template's records under its own module path and tensor names."""
        if any(self.traced.get(c.scope, 0) > 1 for c in self.calls.values() if c.copy_of is None):
            raise Retrace
        marks, owner = self._split_marks(records)
        self._check_lent(records, marks, owner)
        kept: List[Any] = []  # records, or the ident of a copy at the place of its first mark
        placed: Set[int] = set()
        follows: Dict[int, List[int]] = {}
        for c in self.calls.values():
            if c.after is not None:
                follows.setdefault(c.after.ident, []).append(c.ident)

        def place(ident: int) -> None:
            placed.add(ident)
            kept.append(ident)
            for nxt in follows.get(ident, ()):
                place(nxt)

        for rec in records:
            ident = owner.get(rec.name)
            if ident is None:
                kept.append(rec)
            elif ident >= 0 and ident not in placed and self.calls[ident].copy_of is not None:
                place(ident)
        if len(placed) != sum(1 for c in self.calls.values() if c.copy_of is not None):
            raise Retrace
        rel = functools.partial(_relative, root=root)
        out: List[OpRecord] = []
        plans: Dict[int, _Plan] = {}
        redirect: Dict[str, str] = {}
        names: Dict[int, List[str]] = {}  # copy -> the name each of its outputs is read by
        for item in kept:
            if isinstance(item, OpRecord):
                out.append(item)
                continue
            call = self.calls[item]
            tpl = call.copy_of
            assert tpl is not None
            if tpl.ident not in plans:
                prefix = rel(tpl.scope)
                plans[tpl.ident] = _Plan([r for r in out if _under(r.module, prefix)], tpl, _names(tpl, marks), rel)
            own = marks.get(call.ident, {})
            c_ins = [names[src[0].ident][src[1]] if src is not None else own[("in", i)].attrs[IN_TENSORS][0]
                     for i, src in enumerate(call.in_src)]
            c_outs: List[Optional[str]] = []
            for j, kind in enumerate(call.out_kind):
                m = own.get(("out", j) if kind == "mark" else ("late", j))
                c_outs.append(None if kind == "in" or m is None else m.attrs[OUT_TENSORS][0])
            recs, names[call.ident] = plans[tpl.ident].copy(call, c_ins, c_outs, rel, redirect)
            out.extend(recs)
        if not redirect:
            return out

        def follow(n: str) -> str:
            while n in redirect:
                n = redirect[n]
            return n

        return [_renamed(r, follow) if any(n in redirect for n in r.attrs.get(IN_TENSORS) or ()) else r
                for r in out]

    def _check_lent(self, records: List[OpRecord], marks: Dict[int, Dict[tuple, OpRecord]],
                    owner: Dict[str, int]) -> None:
        """:class:`Relend` when an op (other than a mark) may have read a lent tensor: a lent
        tensor has its template's output's name, so such an op, made after the template's marks
        (the first copy: before it, no tensor was lent), cannot be told from one that read the
        template's own output."""
        since: Dict[str, Tuple[int, _Call]] = {}  # a lent name -> its template's first mark's index, template
        for tpl in {id(c.copy_of): c.copy_of for c in self.calls.values()
                    if c.copy_of is not None and "lent" in c.out_kind}.values():
            assert tpl is not None
            own = marks.get(tpl.ident, {})
            first = min((_op_index(r, -1) for r in own.values()), default=-1)
            for j, k in enumerate(tpl.through):
                rec = own.get(("out", j))
                if rec is None:
                    raise Retrace
                if k is None:
                    since[rec.attrs[IN_TENSORS][0]] = (first, tpl)
        if not since:
            return
        read: Dict[int, Any] = {}
        for rec in records:
            if rec.name in owner:
                continue
            for n in rec.attrs.get(IN_TENSORS) or ():
                hit = since.get(n)
                if hit is not None and (hit[0] < 0 or not hit[0] > _op_index(rec, -1) >= 0):
                    read[id(hit[1])] = hit[1].cls
        if read:
            _no_lend(read.values())
            raise Relend


def _renamed(rec: OpRecord, follow: Any) -> OpRecord:
    """``rec`` reading each input by the name ``follow`` gives; still the twin of its template."""
    new = dataclasses.replace(rec, attrs={**rec.attrs, IN_TENSORS: tuple(follow(n) for n in rec.attrs[IN_TENSORS])})
    tpl = rec.__dict__.get(TWIN)
    if tpl is not None:
        new.__dict__[TWIN] = tpl
    return new


def _op_index(rec: OpRecord, default: int = 0) -> int:
    tail = rec.name.rpartition("-")[2]
    return int(tail) if tail.isdigit() else default


def _names(call: _Call, marks: Dict[int, Dict[tuple, OpRecord]]) -> Tuple[List[str], List[str]]:
    """The tensor names of a template's inputs and of its output marks' inputs and outputs
    (``(ins, outs)``; ``outs`` as pairs flattened: what the call returned, what the mark made)."""
    own = marks.get(call.ident, {})
    try:
        ins = [own[("in", i)].attrs[IN_TENSORS][0] for i in range(len(call.ins))]
        outs = [n for j in range(len(call.through))
                for n in (own[("out", j)].attrs[IN_TENSORS][0], own[("out", j)].attrs[OUT_TENSORS][0])]
    except KeyError:
        raise Retrace from None
    return ins, outs


def _mark_of(module: str) -> Optional[int]:
    last = module.rpartition(".")[2]
    if not last.startswith(_MARK):
        return None
    return int(last[len(_MARK):])


def _relative(scope: str, root: str) -> str:
    if not root:
        return scope
    if scope == root:
        return ""
    return scope[len(root) + 1:] if scope.startswith(root + ".") else scope


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(prefix + ".")


class _Plan:
    """A template's records, prepared once for all its copies: each tensor and op name as an
    input of the call (by position), an output the block makes (by its output mark's position),
    a name under the template's scope (by its tail) or a name kept as it is."""

    def __init__(self, block: List[OpRecord], tpl: _Call, t_lbns: Tuple[List[str], List[str]], rel: Any) -> None:
        made = {n for r in block for n in (r.attrs.get(OUT_TENSORS) or ())}
        # The copy's dataflow is not known, and the block is traced again in full, when the
        # template's marks do not name what the block read and made: when the block changed an
        # input in place (the mark names the changed tensor, made inside), or when a tensor it
        # took or returned was changed in place after the call and before its marks were made,
        # at its first copy (efficientnet's ``out += x`` on a block's output): then the block
        # reads a tensor that is neither made inside it, nor a marked input, nor a parameter, or
        # returns one made outside it that is not one of its inputs.
        ins = set(t_lbns[0])
        reads = {n for r in block for i, n in enumerate(r.attrs.get(IN_TENSORS) or ())
                 if i not in (r.attrs.get(PARAMS) or ())}
        t_outs = self.t_outs = t_lbns[1][0::2]
        if ins & made or reads - made - ins or any(n not in made and n not in ins for n in t_outs):
            raise Retrace
        self.scope = old = tpl.scope
        self.path = rel(old)
        where: Dict[str, Tuple[int, Any]] = {n: (0, i) for i, n in enumerate(t_lbns[0])}  # the last one wins
        self.produced: List[Tuple[int, Optional[str]]] = []  # per output mark: (own, what else it is)
        first: Dict[str, int] = {}
        for j, n in enumerate(t_outs):
            if n in made and n not in first:
                first[n] = j
                self.produced.append((j, None))
            else:  # passed through, made outside, or returned twice: what the full trace returns
                self.produced.append((-1, n))
        where.update((n, (1, j)) for n, j in first.items())
        self._where = where
        self._first = first

        def spec(n: str) -> Tuple[int, Any]:
            hit = where.get(n)
            if hit is not None:
                return hit
            if n.startswith(old + ".") or n.startswith(old + "-"):
                return (2, n[len(old):])
            return (3, n)

        self.spec = spec
        self.records = []
        for r in block:
            attrs = r.attrs
            names = {k: tuple(spec(n) for n in attrs[k]) for k in (IN_TENSORS, OUT_TENSORS)
                     if attrs.get(k) is not None}
            tail = r.module[len(self.path):] if self.path else (f".{r.module}" if r.module else "")
            # the record a copy is marked a twin of: a record copied in turn is marked with its own
            self.records.append((r, attrs, names, tail, spec(r.name), r.__dict__.get(TWIN, r)))

    def copy(self, call: _Call, c_ins: List[str], c_outs: List[Optional[str]], rel: Any,
             redirect: Dict[str, str]) -> Tuple[List[OpRecord], List[str]]:
        """The template's records under ``call``'s module path, op and variable names moved
        from the template's scope to the call's, the template's input tensors replaced by the
        call's (``c_ins``), its output tensors by the names later ops read them by (``c_outs``:
        a mark's output; ``None`` for a lent output nothing read, named under the call's scope).
        An output the block does not make, such as an input passed through, is redirected to
        what the call would have returned. Also the name of each output."""
        new_scope = call.scope
        outs: List[str] = [""] * len(c_outs)
        for j, ((_, other), c_name) in enumerate(zip(self.produced, c_outs)):
            if other is None:
                outs[j] = c_name if c_name is not None else self._unread(j, new_scope)
        for j, ((_, other), c_name) in enumerate(zip(self.produced, c_outs)):
            if other is not None:
                hit = self._first.get(other)
                target = outs[hit] if hit is not None else self._name(other, c_ins, outs, new_scope)
                if c_name is not None:
                    redirect[c_name] = target
                outs[j] = target
        tables = (c_ins, outs)
        new_path = rel(new_scope)
        out = []
        new = OpRecord.__new__
        # each name by its spec (see __init__), inline: an input's or output's name from the
        # tables, a name under the template's scope moved to the call's, other names kept
        for r, attrs, names, tail, (kind, v), tpl in self.records:
            a = dict(attrs)
            for k, specs in names.items():
                a[k] = tuple([str(tables[i][w]) if i < 2 else new_scope + w if i == 2 else w for i, w in specs])
            rec = new(OpRecord)
            d = rec.__dict__
            d.update(r.__dict__)
            d["module"] = new_path + tail if new_path else tail[1:]
            d["attrs"] = a
            d["name"] = str(tables[kind][v]) if kind < 2 else new_scope + v if kind == 2 else v
            d[TWIN] = tpl
            out.append(rec)
        return out, outs

    def _unread(self, j: int, new_scope: str) -> str:
        """The name of output ``j`` of a copy under its scope, as the full trace would name it
        (the template's, moved): a lent output that no op read has no mark to name it."""
        n = self.t_outs[j]
        if not (n.startswith(self.scope + ".") or n.startswith(self.scope + "-")):
            raise Relend
        return new_scope + n[len(self.scope):]

    def _name(self, n: str, c_ins: List[str], outs: List[str], new_scope: str) -> str:
        kind, v = self.spec(n)
        if kind < 2:
            return str((c_ins, outs)[kind][v])
        return str(new_scope + v if kind == 2 else v)


# -- the proxies' __call__ ----------------------------------------------------------------------

class RepeatCall:
    """Mixed into the counting graph's proxy types (a marker). Their ``__call__``
    (:mod:`flowflops.graph.proxies`) runs the module's forward pre-hooks and then goes through
    the active :class:`Repeats` of this thread (:func:`current`), if any, from the same frames
    as a full trace: OneFlow's op locations (the records' ``_at``) are then the same."""


def current() -> Optional[Repeats]:
    """The :class:`Repeats` of the count this thread traces (``None``: trace every call)."""
    state: Optional[Repeats] = getattr(_local, "state", None)
    return state


def returned(value: Any) -> Any:
    """The counting graph's outputs, each lent tensor among them replaced by its mark
    (:meth:`Repeats.give_back`): the graph's outputs then read each copy's own tensor."""
    state: Optional[Repeats] = getattr(_local, "state", None)
    if state is not None and state.lent:
        state.give_back(value)
    return value


class active:
    """``with active(state):`` module calls of counting graphs built in this thread consult
    ``state`` (``None``: trace every call)."""

    def __init__(self, state: Optional[Repeats]) -> None:
        self.state = state

    def __enter__(self) -> None:
        self.previous = getattr(_local, "state", None)
        _local.state = self.state

    def __exit__(self, *exc: Any) -> None:
        _local.state = self.previous
