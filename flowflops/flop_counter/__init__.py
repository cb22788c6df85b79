"""torch.utils.flop_counter's ``FlopCounterMode`` for OneFlow (torch 2.x's shape)::

    from flowflops import FlopCounterMode        # torch: from torch.utils.flop_counter import ...
    with FlopCounterMode(depth=2, display=True) as fc:
        model(x)
    fc.get_total_flops(), fc.get_flop_counts()

Inside the context every outermost module call is counted once by flowflops' eager engine under
the ``"torch"`` convention (the matrix products and convolutions torch's formulas price, 2 FLOPs
per multiply-add), then run as usual: the call returns the model's own output. Counts are kept
per module as torch names them (the called module's class name, then attribute paths:
``SmallCNN.conv1``) and under ``"Global"``, per op under torch's aten names
(``aten.convolution``, ``aten.addmm``, ``aten.mm``, ``aten.bmm``). On exit with ``display`` the
table ``get_table`` returns is printed, as torch prints it.

Ops run outside any module in the ``with`` body (``x @ w``, ``F.linear``, ``F.conv2d``,
``flow.bmm``...) are counted too, under ``"Global"`` only, as torch counts them: the functions
flowflops' eager engine prices are patched while the context is active (and restored on exit),
and a call made while no module call is being counted is priced under ``"torch"``.

``loss.backward()`` (``Tensor.backward``, ``flow.autograd.backward``) in the body counts the
gradients torch counts for the ``nn.Linear``, ``nn.ConvNd`` and ``nn.ConvTransposeNd`` calls the
loss depends on (``aten.mm``, ``aten.convolution_backward``), under the modules torch's
ModuleTracker puts them under (see :mod:`flowflops.flop_counter.backward`).

What differs from torch 2.14 (no dispatcher to intercept in OneFlow 0.9):

- the gradients of other priced ops (functional products and convolutions, recurrent layers)
  are not counted: the backward warns, naming them; ``flow.autograd.grad`` counts nothing and
  warns; where torch's ModuleTracker may count a gradient under a module left open around it
  too and the count cannot tell, the backward warns, naming the module (totals are torch's);
- a context in which nothing was counted warns;
- ``custom_mapping`` (aten op -> formula) is refused: give OneFlow op formulas through
  ``flowflops.profile(..., custom_modules_hooks={"matmul": fn})``;
- a call whose module raises while being counted is run as usual and not counted, with a
  warning naming it.
"""
from __future__ import annotations

import functools
import threading
import warnings
from collections import Counter, defaultdict
from typing import Any, Callable, ContextManager, Dict, List, Optional, Tuple

import oneflow as flow
import oneflow.nn as nn
from oneflow._oneflow_internal import lazy_mode

from ..api import profile
from ..conventions import MODULE_ATTR, VIA_ATTR, base_type_name
from ..eager.functional import patched
from ..eager.functional_table import patch_targets
from ..records import OpRecord, ancestors
from ..registry import price
from ..render.flop_counter_text import flop_table
from ..runtime.interrupts import from_signal, passes_through
from ..runtime.module_calls import CallNext, intercepting
from ..runtime.backward_calls import watching
from ..report import Aggregate
from .backward import Op, Tape

__all__ = ["FlopCounterMode"]

_CONV = ("conv1d", "conv2d", "conv3d", "deconv1d", "deconv2d", "deconv3d")
_BIAS = ("bias_add", "broadcast_add")


def _aten_name(rec: OpRecord) -> str:
    """torch's aten op for a priced record that is not a ``Linear``'s product. OneFlow's
    ``flow.addmm`` is ``aten.addmm``; ``F.linear``'s product ``aten.mm``, any rank (its bias add
    makes it ``aten.addmm``)."""
    via = rec.attrs.get(VIA_ATTR)
    if via == "addmm":
        return "aten.addmm"
    if via == "linear":
        return "aten.mm"
    if rec.op_type in _CONV:
        return "aten.convolution"
    if rec.op_type == "matmul":
        return "aten.mm"
    if rec.op_type in ("batch_matmul", "broadcast_matmul"):
        return "aten.bmm"
    return "oneflow." + rec.op_type


def _bias_follows(rec: OpRecord, nxt: Optional[OpRecord]) -> bool:
    """Whether ``nxt`` is the bias add of the ``Linear`` (or ``F.linear``) call whose product
    is ``rec``."""
    if nxt is None or nxt.op_type not in _BIAS:
        return False
    if base_type_name(rec.attrs.get(MODULE_ATTR)) == "Linear":
        return nxt.module == rec.module and base_type_name(nxt.attrs.get(MODULE_ATTR)) == "Linear"
    return nxt.attrs.get(VIA_ATTR) == "linear" and tuple(nxt.inputs[:1]) == tuple(rec.outputs[:1])


def _torch_ops(report: Aggregate) -> List[Tuple[OpRecord, str, int]]:
    """``(record, aten op, FLOPs)`` of each op torch's formulas price, from an eager count
    under ``"torch"`` (MACs x 2). A ``Linear``'s or ``F.linear``'s product is ``aten.addmm``
    when its bias add follows, else ``aten.mm``; a functional batched product is ``aten.bmm``."""
    entries = list(report.entries)
    out: List[Tuple[OpRecord, str, int]] = []
    for i, (rec, cost) in enumerate(entries):
        if cost is None or not cost.macs:
            continue
        if rec.op_type in _CONV:
            name = "aten.convolution"
        elif rec.op_type == "fused_matmul_bias":
            name = "aten.addmm"
        elif base_type_name(rec.attrs.get(MODULE_ATTR)) == "Linear" or rec.attrs.get(VIA_ATTR) == "linear":
            nxt = entries[i + 1][0] if i + 1 < len(entries) else None
            name = "aten.addmm" if _bias_follows(rec, nxt) else "aten.mm"
        else:
            name = _aten_name(rec)
        out.append((rec, name, 2 * cost.macs))
    return out


class FlopCounterMode:
    """torch's ``FlopCounterMode(mods=None, depth=2, display=True, custom_mapping=None)``."""

    def __init__(self, mods: Any = None, depth: Optional[int] = 2, display: bool = True,
                 custom_mapping: Optional[Dict[Any, Any]] = None) -> None:
        if mods is not None:
            warnings.warn("mods argument is not needed anymore, you can stop passing it", stacklevel=2)
        if custom_mapping:
            raise ValueError("custom_mapping takes torch aten ops, which OneFlow has not: give formulas for "
                             "OneFlow op types with flowflops.profile(model, shape, convention='torch', "
                             "custom_modules_hooks={'matmul': fn})")
        self.depth = depth
        self.display = display
        self.flop_counts: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._calls_hook: Optional[ContextManager[None]] = None  # module calls seen in the body's thread
        self._busy = False
        self._thread = 0
        self._calls = 0
        self._names: Dict[int, str] = {}  # id(module) -> torch's name for it (ModuleTracker's)
        self._patches: Any = None  # the functional patches of the with body (a context manager)
        self._last_mm: Optional[Tuple[Any, int, bool]] = None  # (record, FLOPs, made the key) of a
        # top-level matmul a bias add may still turn into F.linear's aten.addmm
        self._warned: set = set()  # the warnings given in this context (each once)
        self._backward: Optional[ContextManager[None]] = None  # backward calls seen in the body's thread
        self._tape = Tape()  # what the body ran, for its backward passes
        self._taping = False  # the outermost call's real run (not flowflops' count of it) is running

    # -- reading ------------------------------------------------------------------------------
    def get_total_flops(self) -> int:
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self) -> Dict[str, Dict[str, int]]:
        """Module name (and ``"Global"``) -> op -> FLOPs."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth: Optional[int] = None) -> str:
        return flop_table(self.get_flop_counts(), self.depth if depth is None else depth)

    # -- counting -----------------------------------------------------------------------------
    def _name_of(self, module: nn.Module) -> str:
        """ModuleTracker._get_mod_name: a module first met is named by its class; its children,
        the first time it is met, by its name and their attribute names."""
        name = self._names.setdefault(id(module), type(module).__name__)
        for path, sub in module.named_modules():
            if path:
                self._names.setdefault(id(sub), f"{name}.{path}")
        return name

    def _count(self, module: nn.Module, args: tuple, kwargs: Dict[str, Any]) -> Optional[List[Op]]:
        """Count one outermost call's forward; its priced ops, for the backward (None: not counted)."""
        if args and kwargs:
            warnings.warn(f"FlopCounterMode: a call of {type(module).__name__} with both positional and keyword "
                          "inputs is not counted (count it with flowflops.profile and an input_constructor)",
                          stacklevel=3)
            return None
        made: Any = dict(kwargs) if kwargs else tuple(args)
        try:
            report = profile(module, None, input_constructor=lambda _: made, mode="eager", convention="torch")
        except Exception as err:  # the user's call still runs; the count says what it missed
            if from_signal(err):  # the user's signal handler's own exception (a SIGTERM's
                raise             # Preempted): never turned into a warning
            warnings.warn(f"FlopCounterMode: the call of {type(module).__name__} is not counted: "
                          f"{type(err).__name__}: {err}", stacklevel=3)
            return None
        self._calls += 1
        root = self._name_of(module)
        paths = {path: self._names.get(id(sub), f"{root}.{path}" if path else root)
                 for path, sub in module.named_modules()}
        ops = []
        for rec, op, flops in _torch_ops(report):
            owners = {paths.get(a, root) for a in ancestors(rec.module)} | {"Global"}
            for owner in owners:
                self.flop_counts[owner][op] += flops
            ops.append(Op(rec, op, flops, owners))
        return ops

    def _record_top(self, records: List[Any]) -> None:
        """Records of a function called in the ``with`` body outside any module, priced as torch
        prices them, under ``"Global"``. OneFlow's ``F.linear`` is a matmul then an in-place bias
        add, both marked as called from it: torch's ``aten.addmm`` (without the add: ``aten.mm``)."""
        glob = self.flop_counts["Global"]
        for rec in records:
            if rec.op_type in _BIAS and self._last_mm is not None:
                mm, flops, made = self._last_mm
                if (rec.attrs.get(VIA_ATTR) == mm.attrs.get(VIA_ATTR) == "linear"
                        and tuple(rec.inputs[:1]) == tuple(mm.outputs[:1])):
                    glob["aten.mm"] -= flops
                    if made and not glob["aten.mm"]:
                        del glob["aten.mm"]  # torch never saw an aten.mm here: keep its key order
                    glob["aten.addmm"] += flops
                    self._calls += 1
                    self._last_mm = None
                    continue
            self._last_mm = None
            cost = price(rec, "torch")
            if cost is None or not cost.macs:
                continue
            name = _aten_name(rec)
            made = name not in glob
            glob[name] += 2 * cost.macs
            self._calls += 1
            if flow.is_grad_enabled():
                self._tape.functional(Op(rec, name, 2 * cost.macs, {"Global"}))
            if name == "aten.mm":
                self._last_mm = (rec, 2 * cost.macs, made)

    def _top_level(self) -> bool:
        return not self._busy and not lazy_mode.is_enabled()

    def _warn_once(self, message: str, stacklevel: int) -> None:
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, stacklevel=stacklevel + 1)

    def _before_backward(self, name: str, args: tuple, kwargs: Dict[str, Any]) -> Any:
        """A backward pass called in the body's thread, before it runs: what it will count
        (read before, as the graph may be freed by it; added by :meth:`_after_backward`)."""
        if name == "grad":
            self._warn_once("FlopCounterMode does not count flow.autograd.grad (torch counts the gradient ops it "
                            "runs): call loss.backward() inside the context to count them", 5)
            return None
        names = ("self", "gradient", "retain_graph", "create_graph") if name == "Tensor.backward" else (
            "tensors", "grad_tensors", "retain_graph", "create_graph")
        given = dict(zip(names, args), **kwargs)
        roots = given.get(names[0])
        roots = list(roots) if isinstance(roots, (list, tuple)) else [roots]
        create = bool(given.get("create_graph"))
        retain = create if given.get("retain_graph") is None else bool(given.get("retain_graph"))
        if create:
            self._warn_once("FlopCounterMode: a backward with create_graph=True is counted, a later backward "
                            "through the gradients it makes is not (torch counts that too)", 5)
        try:
            return self._tape.backward(roots, retain)
        except Exception as err:  # flowflops' own reading of the graph: the user's backward still runs
            if from_signal(err):
                raise
            self._warn_once(f"FlopCounterMode: this backward is not counted: {type(err).__name__}: {err}", 5)
            return None

    def _after_backward(self, prepared: Any) -> None:
        """The backward has run: add its gradients and warn about what is not counted."""
        if prepared is None:
            return
        grads, missed, stray = prepared
        for owners, op, flops in grads:
            for owner in owners:
                self.flop_counts[owner][op] += flops
        if missed:
            ops = ", ".join(f"{op} x{n}" for op, n in sorted(Counter(op.name for op in missed).items()))
            self._warn_once(f"FlopCounterMode does not count the backward of {ops}: only the gradients of "
                            "nn.Linear, nn.ConvNd and nn.ConvTransposeNd calls are derived (torch counts the "
                            "others too: functional products and convolutions, recurrent layers)", 5)
        if stray:
            pairs = sorted({(mod, op.call.name if op.call else "?") for mod, op in stray})
            shown = "; ".join(f"{layer}'s under {mod}" for mod, layer in pairs[:3])
            self._warn_once("FlopCounterMode: torch's ModuleTracker may also count gradients under a module it "
                            f"keeps open around them ({shown}{'; ...' if len(pairs) > 3 else ''}), which cannot be "
                            "told here (an input made by a function or a leaf tensor needing a gradient): these "
                            "per-module backward counts may differ from torch's; the totals are the same", 5)

    def _on_backward(self, name: str, args: tuple, kwargs: Dict[str, Any]) -> Optional[Callable[[], None]]:
        """A ``Tensor.backward`` / ``autograd.backward`` / ``autograd.grad`` call in the ``with``
        body's thread (:func:`flowflops.runtime.backward_calls.watching`): read what it will
        count now, add it once the call has returned."""
        if lazy_mode.is_enabled():  # an nn.Graph's loss.backward() while it is built
            return None
        prepared = self._before_backward(name, args, kwargs)
        return None if prepared is None else lambda: self._after_backward(prepared)

    def __enter__(self) -> "FlopCounterMode":
        if self._calls_hook is not None:
            raise RuntimeError("FlopCounterMode is not reentrant")
        self.flop_counts.clear()
        self._calls = 0
        self._last_mm = None
        self._warned.clear()
        self._tape = Tape()
        self._thread = threading.get_ident()
        self._calls_hook = intercepting(self._on_call)
        self._calls_hook.__enter__()
        try:
            # no profile hook (targets given): a module call counted inside keeps its own
            self._patches = patched(self._record_top, self._top_level, targets=patch_targets())
            self._patches.__enter__()
            # one wrapper of the backward functions, shared by every mode in every thread
            self._backward = watching(self._on_backward)
            self._backward.__enter__()
        except BaseException:
            self._restore()
            raise
        return self

    @passes_through
    def _on_call(self, call_next: CallNext, module: Any, args: tuple, kwargs: Dict[str, Any]) -> Any:
        """A module call in the ``with`` body's thread: the outermost one is counted (its
        submodules' calls are inside its count), then run."""
        if self._busy or lazy_mode.is_enabled():  # (an nn.Graph being built: never run eagerly)
            if self._taping and not lazy_mode.is_enabled():  # a call inside the outermost one's real run
                name = self._names.get(id(module), type(module).__name__)
                return self._tape.call(name, module, args, kwargs,
                                       functools.partial(call_next, module, args, kwargs))
            return call_next(module, args, kwargs)
        self._busy = True
        try:
            ops = self._count(module, args, kwargs)
            if ops is None or not flow.is_grad_enabled():
                return call_next(module, args, kwargs)
            self._tape.begin()
            self._taping = True
            try:
                out = self._tape.call(self._names.get(id(module), type(module).__name__), module, args, kwargs,
                                      functools.partial(call_next, module, args, kwargs))
            finally:
                self._taping = False
            self._tape.attach(module, self._tape.calls[-1], ops)
            return out
        finally:
            self._busy = False

    def _restore(self) -> None:
        if self._backward is not None:
            backward, self._backward = self._backward, None
            backward.__exit__(None, None, None)
        if self._patches is not None:
            patches, self._patches = self._patches, None
            patches.__exit__(None, None, None)
        if self._calls_hook is not None:
            calls_hook, self._calls_hook = self._calls_hook, None
            calls_hook.__exit__(None, None, None)

    def __exit__(self, *exc: Any) -> None:
        self._restore()
        self._tape = Tape()  # the autograd nodes it held go
        if exc[0] is None and not self._calls:
            warnings.warn("FlopCounterMode counted nothing: no module call and no priced op ran inside the context "
                          "(count an nn.Graph with flowflops.profile(graph))", stacklevel=2)
        if self.display:
            print(self.get_table(self.depth))
