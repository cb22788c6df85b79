"""A drop-in for fvcore 0.1.5's flop counting (``from fvcore.nn import FlopCountAnalysis``)::

    from flowflops.fvcore import FlopCountAnalysis, parameter_count
    flops = FlopCountAnalysis(model, x)          # a tensor or a tuple of tensors
    flops.total(), flops.by_operator(), flops.by_module(), flops.unsupported_ops()

Code written for fvcore runs after the import swap (and ``torch`` -> ``oneflow``). Where fvcore
traces the model with TorchScript, flowflops runs it once with its eager engine under the
``"fvcore"`` convention (functional calls and tensor operators counted; the model as it is, in
training mode if it is in training mode, as fvcore's trace) and reads the aten ops
that trace would hold from the records (:mod:`flowflops.analysis.fvcore_view`): ``total``,
``by_module``, ``by_operator`` (fvcore's keys: ``conv``, ``linear``, ``batch_norm``...),
``by_module_and_operator``, ``unsupported_ops`` (fvcore's skipped ops, ``aten::max_pool2d``...),
``uncalled_modules``, ``set_op_handle``, the warning switches, ``flop_count``,
``parameter_count`` and the printouts ``flop_count_table``, ``flop_count_str`` and
``parameter_count_table`` (fvcore's layout, :mod:`flowflops.render.fvcore_text`).

What differs (see the README's fvcore table):

- an op handle set with ``set_op_handle`` is called as ``fn(inputs, outputs)`` with the op's
  input and output *shapes* (tuples), not TorchScript values;
- an op flowflops' records have no aten name for is listed as ``oneflow::<op type>``; ops
  OneFlow runs without a record (views, most tensor methods) are not listed;
- a module that ran without any op (``nn.Identity``) is called here; fvcore's trace, with no
  node in its scope, lists it as uncalled;
- ``ancestor_mode("caller")`` is refused (the eager engine attributes an op to the module that
  owns it by name, fvcore's default ``"owner"``); ``tracer_warnings`` has nothing to silence;
- ``flop_count_str`` prints OneFlow's module ``repr`` (e.g. OneFlow's ``BatchNorm2d`` has no
  ``bias=True`` where torch 2.x prints one). ``ActivationCountAnalysis`` / ``activation_count``
  are fvcore's (outputs of convolutions and products); the ``activations`` argument of the
  printouts takes one, or any object with fvcore's ``by_module`` and ``uncalled_modules``.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from math import prod
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import oneflow.nn as nn

from ..analysis.fvcore_view import IGNORED, SUPPORTED, AtenOp, aten_ops, op_count_name
from ..api import profile
from ..records import ancestors
from ..render import fvcore_text

__all__ = ["ActivationCountAnalysis", "FlopCountAnalysis", "activation_count", "flop_count", "flop_count_str",
           "flop_count_table", "parameter_count", "parameter_count_table"]

Handle = Callable[[List[Tuple[int, ...]], List[Tuple[int, ...]]], Any]
_logger = logging.getLogger(__name__)
_KEEP = object()  # the op keeps the "fvcore" convention's price


def _canonical(op: str) -> str:
    return op if "::" in op else "aten::" + op


def _activation_handle(op_name: Optional[str] = None) -> Handle:
    """fvcore's ``generic_activation_jit``: the number of elements of the op's first output
    (under ``op_name`` when given)."""

    def handle(inputs: List[Tuple[int, ...]], outputs: List[Tuple[int, ...]]) -> Any:
        n = prod(outputs[0]) if outputs else 0
        return Counter({op_name: n}) if op_name else n

    return handle


#: fvcore's ``activation_count._DEFAULT_SUPPORTED_OPS``: convolutions and products count their
#: output's elements
_ACTIVATION_HANDLES: Dict[str, Handle] = {
    "aten::_convolution": _activation_handle("conv"), "aten::addmm": _activation_handle(),
    "aten::bmm": _activation_handle(), "aten::einsum": _activation_handle(), "aten::matmul": _activation_handle(),
    "aten::linear": _activation_handle(),
}


class _OpAnalysis:
    """fvcore's ``JitModelAnalysis``: per-op handles over the aten ops of one run of the model;
    computed on the first request and again after the handles change."""

    def __init__(self, model: nn.Module, inputs: Any) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a oneflow.nn.Module, got {type(model).__name__}")
        self._model = model
        self._inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
        self._handles: Dict[str, Any] = self._default_handles()
        self._ops: Optional[List[AtenOp]] = None
        self._counts: Dict[str, Counter] = {}
        self._unsupported: Dict[str, Counter] = {}
        self._called: Set[str] = set()
        self._modules = [name for name, _ in model.named_modules()]
        self._warn_unsupported = True
        self._warn_uncalled = True
        self._ancestor_mode = "owner"

    def _default_handles(self) -> Dict[str, Any]:
        return {}

    # -- the count ----------------------------------------------------------------------------
    def _analyze(self) -> None:
        if self._ops is not None:
            return
        inputs = self._inputs
        report = profile(self._model, None, input_constructor=lambda _: inputs, mode="eager", convention="fvcore",
                         backend_specific_config={"keep_training": True})  # fvcore traces the model as it is
        ops = aten_ops(report)
        counts = {m: Counter() for m in self._modules}  # type: Dict[str, Counter]
        unsupported = {m: Counter() for m in self._modules}  # type: Dict[str, Counter]
        for op in ops:
            owners = [a for a in ancestors(op.module) if a in counts]
            handle = self._handles.get(op.name)
            if handle is None:
                if op.name not in IGNORED:
                    for a in owners:
                        unsupported[a][op.name] += 1
                continue
            result = op.macs if handle is _KEEP else handle(op.inputs, op.outputs)
            if not isinstance(result, Counter):
                result = Counter({op_count_name(op.name): result})
            for a in owners:
                counts[a] += result  # as fvcore: Counter addition keeps positive counts only
        called = set(report.module_outputs) | {rec.module for rec, _ in report.entries}
        self._called = {a for path in called for a in ancestors(path)}
        self._ops, self._counts, self._unsupported = ops, counts, unsupported
        if self._warn_unsupported:
            for name, n in unsupported.get("", Counter()).items():
                _logger.warning("Unsupported operator %s encountered %d time(s)", name, n)
        uncalled = self.uncalled_modules()
        if self._warn_uncalled and uncalled:
            _logger.warning("The following submodules of the model were never called during the run: %s",
                            ", ".join(sorted(uncalled)))

    def _module(self, module_name: str) -> str:
        if module_name not in self._counts:
            raise KeyError(f"{module_name!r} is not a submodule of the model (names as in model.named_modules())")
        return module_name

    # -- fvcore's accessors -------------------------------------------------------------------
    def total(self, module_name: str = "") -> int:
        """The count of ``module_name`` (the model: ``""``) and everything it owns."""
        self._analyze()
        return int(sum(self._counts[self._module(module_name)].values()))

    def by_operator(self, module_name: str = "") -> Counter:
        """Op name (fvcore's: ``conv``, ``linear``, ``batch_norm``...) -> count, for one module."""
        self._analyze()
        return Counter(self._counts[self._module(module_name)])

    def by_module(self) -> Counter:
        """Module name -> count, every module of the model (zeros included)."""
        self._analyze()
        return Counter({m: int(sum(c.values())) for m, c in self._counts.items()})

    def by_module_and_operator(self) -> Dict[str, Counter]:
        """Module name -> its :meth:`by_operator`."""
        self._analyze()
        return {m: Counter(c) for m, c in self._counts.items()}

    def unsupported_ops(self, module_name: str = "") -> Counter:
        """fvcore's skipped ops: aten name -> how many times one ran without a handle (ops fvcore
        ignores, such as ``aten::relu``, are not listed). fvcore raises before the count has been
        made; so does this."""
        if self._ops is None:
            raise RuntimeError("Analysis results should be computed before calling unsupported_ops()")
        return Counter(self._unsupported[self._module(module_name)])

    def uncalled_modules(self) -> Set[str]:
        """The submodules that never ran."""
        self._analyze()
        return {m for m in self._modules if m not in self._called}

    def set_op_handle(self, *args: Any, **kwargs: Optional[Handle]) -> "_OpAnalysis":
        """``set_op_handle("aten::addmm", fn, "aten::bmm", None, ...)`` or keywords: ``fn(inputs,
        outputs)`` gets the op's input and output shapes and returns a number or a Counter;
        ``None`` removes the handle (the op is then unsupported)."""
        if len(args) % 2:
            raise TypeError("set_op_handle takes (name, handle) pairs: set_op_handle('aten::linear', fn)")
        pairs = list(zip(args[::2], args[1::2])) + list(kwargs.items())
        for name, handle in pairs:
            self._handles[_canonical(str(name))] = handle
        self._ops = None
        return self

    def clear_op_handles(self) -> "_OpAnalysis":
        """No handle at all: every op is unsupported or ignored."""
        self._handles = {}
        self._ops = None
        return self

    def unsupported_ops_warnings(self, enabled: bool) -> "_OpAnalysis":
        self._warn_unsupported = bool(enabled)
        return self

    def uncalled_modules_warnings(self, enabled: bool) -> "_OpAnalysis":
        self._warn_uncalled = bool(enabled)
        return self

    def tracer_warnings(self, mode: str) -> "_OpAnalysis":
        """fvcore's switch for TorchScript's tracer warnings: no tracer here, nothing to silence."""
        if mode not in ("all", "no_tracer_warning", "none"):
            raise ValueError(f"Unrecognized tracer warning mode {mode!r}: use 'all', 'no_tracer_warning' or 'none'")
        return self

    def ancestor_mode(self, mode: str) -> "_OpAnalysis":
        """``"owner"`` (fvcore's default: an op counts for the module that owns it by name and its
        ancestors); ``"caller"`` is refused."""
        if mode != "owner":
            raise ValueError(f"ancestor_mode {mode!r} is not reproduced: flowflops.fvcore attributes each op to "
                             "the module that owns it ('owner', fvcore's default)")
        return self


class FlopCountAnalysis(_OpAnalysis):
    """fvcore's ``FlopCountAnalysis(model, inputs)``: one multiply-add counts 1, each op priced
    as fvcore's default handles price it (the ``"fvcore"`` convention)."""

    def _default_handles(self) -> Dict[str, Any]:
        return {name: _KEEP for name in SUPPORTED}


class ActivationCountAnalysis(_OpAnalysis):
    """fvcore's ``ActivationCountAnalysis(model, inputs)``: the elements of the outputs of
    convolutions and matrix products (``aten::_convolution`` under ``conv``; ``addmm``, ``bmm``,
    ``einsum``, ``matmul``, ``linear``); every other op is unsupported or ignored, as in fvcore.
    The same accessors, handles and switches as :class:`FlopCountAnalysis`."""

    def _default_handles(self) -> Dict[str, Any]:
        return dict(_ACTIVATION_HANDLES)


def activation_count(model: nn.Module, inputs: Any,
                     supported_ops: Optional[Dict[str, Handle]] = None) -> Tuple[Dict[str, float], Counter]:
    """fvcore's ``activation_count``: ``(op -> mega activations, unsupported ops)``."""
    counter = ActivationCountAnalysis(model, inputs).set_op_handle(**(supported_ops or {}))
    mega: Dict[str, float] = defaultdict(float)
    for op, act in counter.by_operator().items():
        mega[op] = act / 1e6
    return mega, counter.unsupported_ops()


def flop_count(model: nn.Module, inputs: Any,
               supported_ops: Optional[Dict[str, Handle]] = None) -> Tuple[Dict[str, float], Counter]:
    """fvcore's ``flop_count`` (flop_count.py:119-150): ``(op -> GFLOPs, unsupported ops)``;
    ``supported_ops`` are op handles as for :meth:`FlopCountAnalysis.set_op_handle`."""
    counter = FlopCountAnalysis(model, inputs).set_op_handle(**(supported_ops or {}))
    giga: Dict[str, float] = defaultdict(float)
    for op, flop in counter.by_operator().items():
        giga[op] = flop / 1e9
    return giga, counter.unsupported_ops()


def parameter_count(model: nn.Module) -> Dict[str, int]:
    """fvcore's ``parameter_count``: module or parameter name -> number of parameters under it
    (each shared parameter once; ``""`` the whole model)."""
    counts: Dict[str, int] = defaultdict(int)
    for name, p in model.named_parameters():
        parts = name.split(".")
        for k in range(len(parts) + 1):
            counts[".".join(parts[:k])] += p.numel()
    return counts




def _quiet(analysis: Any) -> None:
    """fvcore's printouts switch the analysis' warnings off before reading it."""
    for switch in ("unsupported_ops_warnings", "uncalled_modules_warnings"):
        if hasattr(analysis, switch):
            getattr(analysis, switch)(False)


def _checked(flops: Any) -> "FlopCountAnalysis":
    if not isinstance(flops, FlopCountAnalysis):
        raise TypeError(f"expected a flowflops.fvcore.FlopCountAnalysis, got {type(flops).__name__}: "
                        "build one with FlopCountAnalysis(model, inputs)")
    return flops


def _shapes(model: nn.Module) -> Dict[str, Tuple[int, ...]]:
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


def _activation_maps(activations: Any) -> Tuple[Optional[Dict[str, int]], Optional[Set[str]]]:
    """An activation analysis' counts per module and its uncalled modules (``None, None``
    without one): anything with fvcore's ``by_module()`` and ``uncalled_modules()``."""
    if activations is None:
        return None, None
    _quiet(activations)
    return dict(activations.by_module()), set(activations.uncalled_modules())


def flop_count_table(flops: FlopCountAnalysis, max_depth: int = 3, activations: Any = None,
                     show_param_shapes: bool = True) -> str:
    """fvcore's ``flop_count_table``: ``| module | #parameters or shape | #flops |`` to
    ``max_depth`` levels (tabulate's pipe layout)."""
    flops = _checked(flops)
    _quiet(flops)
    acts, acts_uncalled = _activation_maps(activations)
    model = flops._model
    return fvcore_text.flop_count_table(
        [n for n, _ in model.named_modules()], dict(parameter_count(model)), dict(flops.by_module()),
        flops.uncalled_modules(), _shapes(model), max_depth=max_depth, show_param_shapes=show_param_shapes,
        acts=acts, acts_uncalled=acts_uncalled)


def flop_count_str(flops: FlopCountAnalysis, activations: Any = None) -> str:
    """fvcore's ``flop_count_str``: the model's repr with ``#params`` and ``#flops`` per module."""
    flops = _checked(flops)
    _quiet(flops)
    acts, acts_uncalled = _activation_maps(activations)
    model = flops._model
    return fvcore_text.flop_count_str(model, dict(parameter_count(model)), dict(flops.by_module()),
                                      flops.uncalled_modules(), acts=acts, acts_uncalled=acts_uncalled)


def parameter_count_table(model: nn.Module, max_depth: int = 3) -> str:
    """fvcore's ``parameter_count_table``: ``| name | #elements or shape |``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a oneflow.nn.Module, got {type(model).__name__}")
    return fvcore_text.parameter_count_table(dict(parameter_count(model)), _shapes(model), max_depth=max_depth)
