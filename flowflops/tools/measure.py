"""Measured time joined with counted FLOPs: :func:`measure` (a model's forward, or training
steps, per module and in total) and :class:`MFUMeter` (a training loop's MFU).

Timing: OneFlow queues eager work asynchronously, so every clock reading here is taken after
``flow._oneflow_internal.eager.Sync()`` (which waits for all queued instructions) and
``time.perf_counter()``. (``oneflow.profiler`` is not used: on the project's CPU machines its
CUDA build aborts the process when the profiler stops.)

Achieved FLOP/s = counted FLOPs (2 per multiply-accumulate, :class:`flowflops.Cost`) / measured
seconds; *share of peak* divides by the device profile's peak for the dtype
(:mod:`flowflops.hardware`; ``"cpu"`` is this machine, measured). A figure that cannot be
true (time zero or negative, achieved above peak) is not given as a number: it is listed in
``flags`` with the reason.
"""
from __future__ import annotations

import contextlib
import copy
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional

import oneflow as flow
import oneflow.nn as nn

from ..analysis.hardware import Device, get_device

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = ["sync", "clock", "check_placement", "flags_for", "Measurement", "measure", "MFUSummary", "MFUMeter"]


def sync() -> None:
    """Wait for every queued eager instruction."""
    flow._oneflow_internal.eager.Sync()


def clock() -> float:
    """A synchronised clock reading (seconds)."""
    sync()
    return time.perf_counter()


def _model_device(model: nn.Module) -> Optional[str]:
    for p in model.parameters():
        if p.is_global:
            return str(p.placement.type)
        return str(p.device.type)
    return None


def check_placement(model: nn.Module, device: Device) -> None:
    """Refuse a model whose parameters live on another kind of device than the profile's."""
    where = _model_device(model)
    if where is None:
        return
    if (device.kind == "cpu") != (where == "cpu"):
        raise ValueError(
            f"the model is on {where} but the profile is {device.name} ({device.kind}): measure "
            f"with device='cpu' for a model on the CPU, or move the model to the profiled device")


def flags_for(flops: float, seconds: float, peak: float) -> List[str]:
    """Reasons a measured figure cannot be true (empty when it can)."""
    out = []
    if seconds <= 0:
        out.append(f"measured time {seconds!r} s is not positive")
    if flops < 0:
        out.append(f"FLOPs {flops!r} are negative")
    if seconds > 0 and peak > 0 and flops / seconds > peak:
        out.append(f"achieved {flops / seconds:.4g} FLOP/s is above the device's peak {peak:.4g} FLOP/s")
    return out


@dataclass
class Measurement:
    """One :func:`measure` run. ``time``: median (or min) seconds of the whole call (forward, or
    training step) without hooks; ``module_times``: module path -> seconds of that module's call
    (inclusive of its children, synchronised at entry and exit; a module called several times
    sums its calls); ``flops``: counted FLOPs of one call; ``peak``: the profile's FLOP/s."""

    device: Device
    dtype: str
    mode: str
    flops: int
    time: float
    times: List[float]
    module_times: Dict[str, float]
    module_flops: Dict[str, int]
    peak: float
    flags: List[str] = field(default_factory=list)
    statistic: str = "median"

    @property
    def achieved(self) -> Optional[float]:
        """Achieved FLOP/s of the whole call (None when flagged)."""
        return None if self.flags else self.flops / self.time

    @property
    def share_of_peak(self) -> Optional[float]:
        a = self.achieved
        return None if a is None else a / self.peak

    def module_achieved(self) -> Dict[str, Optional[float]]:
        """Module path -> achieved FLOP/s (None where the figure would be impossible)."""
        out: Dict[str, Optional[float]] = {}
        for p, t in self.module_times.items():
            f = self.module_flops.get(p, 0)
            out[p] = None if flags_for(f, t, self.peak) else f / t
        return out

    def to_text(self, depth: int = 2) -> str:
        """The measured times per module down to ``depth`` (what ``str()`` gives)."""
        from ..render.export import measurement_text

        return measurement_text(self, depth)

    table = to_text  # the name before to_text(), kept for one release

    def __str__(self) -> str:
        return self.to_text()


class _ModuleTimer:
    """Synchronised pre/post hooks on every module, under a private key (the user's hooks and
    their keys are left as they are, and ours are removed in a ``finally``)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.key = object()
        self.start: Dict[int, List[float]] = {}
        self.total: Dict[str, float] = {}
        self.paths = {id(m): p for p, m in model.named_modules()}

    def __enter__(self) -> "_ModuleTimer":
        for m in self.model.modules():
            m._forward_pre_hooks[self.key] = self._pre
            m._forward_hooks[self.key] = self._post
        return self

    def __exit__(self, *exc: Any) -> None:
        for m in self.model.modules():
            m._forward_pre_hooks.pop(self.key, None)
            m._forward_hooks.pop(self.key, None)

    def _pre(self, m: nn.Module, args: tuple) -> None:
        self.start.setdefault(id(m), []).append(clock())

    def _post(self, m: nn.Module, args: tuple, out: Any) -> None:
        t = clock() - self.start[id(m)].pop()
        p = self.paths.get(id(m), "")
        self.total[p] = self.total.get(p, 0.0) + t


def _train_step(model: nn.Module, args: tuple, kwargs: dict, loss_fn: Optional[Callable],
                optimizer: Any) -> None:
    from ..graph.train import default_labels

    out = model(*args, **kwargs)
    loss = loss_fn(out, None) if loss_fn is not None else flow.nn.functional.cross_entropy(out, default_labels(out))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def measure(
    model: nn.Module,
    input_res: Any = None,
    *,
    input_constructor: Optional[Callable[[Any], Any]] = None,
    mode: str = "eager",
    device: Any = "cpu",
    dtype: str = "fp32",
    warmup: int = 2,
    repeats: int = 5,
    per_module: bool = True,
    report: Optional["Aggregate"] = None,
    loss_fn: Optional[Callable[[Any, Any], Any]] = None,
    statistic: str = "median",
) -> Measurement:
    """Time ``model`` on the input ``input_res`` (batch included) or ``input_constructor(input_res)``.

    ``mode="eager"``: the forward in eval mode without gradients, ``warmup`` calls then
    ``repeats`` timed ones (the median is kept), then (``per_module``) ``repeats`` more with
    synchronised hooks on every module. FLOPs come from ``report`` or an eager count with
    functional calls priced. ``mode="train"``: whole training steps (forward, ``loss_fn(out,
    None)`` or cross-entropy on random labels, backward, an SGD step) of a *copy* of the model
    (the user's parameters are not updated), FLOPs from a ``mode="train"`` count.
    ``statistic``: how the repeats are summarised, ``"median"`` (default) or ``"min"`` (the
    least disturbed run, for a machine shared with other work).
    The model's training flags and grad mode are as before afterwards.
    """
    from ..api import profile
    from ..runtime.guard import counting_state, counting_view
    from ..runtime.inputs import call_inputs

    if mode not in ("eager", "train"):
        raise ValueError(f"measure's mode must be 'eager' (forward) or 'train' (training steps), got {mode!r}")
    if statistic not in ("median", "min"):
        raise ValueError(f"statistic must be 'median' or 'min', got {statistic!r}")
    pick = statistics.median if statistic == "median" else min
    if warmup < 1 or repeats < 1:
        raise ValueError(f"warmup and repeats must be at least 1, got warmup={warmup}, repeats={repeats}")
    dev = get_device(device)
    peak = dev.peak(dtype)
    check_placement(model, dev)
    if report is None:
        if mode == "train":
            report = profile(model, input_res, input_constructor=input_constructor, mode="train",
                             loss_fn=loss_fn)
        else:
            report = profile(model, input_res, input_constructor=input_constructor,
                             backend_specific_config={"count_functional": True})
    args, kwargs = call_inputs(model, input_res, input_constructor)

    times: List[float] = []
    module_times: Dict[str, float] = {}
    if mode == "train":  # training steps update the weights: they run on measure's own copy
        target = copy.deepcopy(model)
        optimizer = flow.optim.SGD([p for p in target.parameters() if p.requires_grad], lr=1e-3)
        run = lambda: _train_step(target, args, kwargs, loss_fn, optimizer)  # noqa: E731
        guard: Any = counting_state(target, training=True)
    else:  # the forwards run on a view of the model (its eval flags and timing hooks the
        # view's own, never set on the user's modules), as an eager count's forward does
        guard = counting_view(model, training=False, run=True)
    with guard as got:
        if mode != "train":
            target = got[0]
            run = lambda: target(*args, **kwargs)  # noqa: E731
        for _ in range(warmup):
            run()
        for _ in range(repeats):
            t0 = clock()
            run()
            times.append(clock() - t0)
        if per_module:
            runs: List[Dict[str, float]] = []
            for _ in range(repeats):
                with _ModuleTimer(target) as timer:
                    run()
                    sync()
                runs.append(timer.total)
            for p, _ in target.named_modules():
                if p in runs[0]:
                    module_times[p] = pick([r.get(p, 0.0) for r in runs])
    t = pick(times)
    flops = report.flops
    module_flops = {p: c.flops for p, c in report.by_module().items()}
    return Measurement(dev, dtype, mode, flops, t, times, module_times, module_flops, peak,
                       flags_for(flops, t, peak), statistic)


# -- the training-loop meter ------------------------------------------------------------------

@dataclass
class MFUSummary:
    """What :meth:`MFUMeter.summary` returns. Rates are per second of measured step time;
    ``mfu`` = model FLOPs per second / peak, ``hfu`` = hardware FLOPs (model FLOPs plus the
    recomputed ones) per second / peak; ``phases``: phase -> (seconds per step, FLOP/s or None).
    Figures that cannot be true are None and explained in ``flags``."""

    device: str
    dtype: str
    rank: int
    world_size: int
    steps: int
    seconds_per_step: float
    samples_per_s: float
    tokens_per_s: Optional[float]
    achieved_flops: Optional[float]
    mfu: Optional[float]
    hfu: Optional[float]
    peak: float
    phases: Dict[str, Any] = field(default_factory=dict)
    flags: List[str] = field(default_factory=list)

    def to_text(self) -> str:
        """The utilisation figures as text (what ``str()`` gives)."""
        from ..render.export import mfu_text

        return mfu_text(self)

    def __str__(self) -> str:
        return self.to_text()


class MFUMeter:
    """Model FLOPs utilisation of a training loop.

    ``model_or_report``: a :class:`flowflops.Report` of one training step (``mode="train"``),
    or the model, counted here with ``input_res`` / ``input_constructor`` (and ``optimizer``,
    ``loss_fn``, ``target`` as :func:`flowflops.profile` takes them). The count is for the
    batch in its input; ``step(batch_size=B)`` scales it to ``B`` samples (FLOPs of a step are
    proportional to the batch). ``tokens_per_sample`` makes ``tokens/s`` available.
    ``recompute_flops``: FLOPs per sample a step recomputes (activation checkpointing), which
    count towards HFU and not MFU. The first ``warmup`` steps are not timed.

    ``model_or_report`` may also be a formula of :func:`flowflops.symbolic` (a training step's
    ``Symbolic``, or one of its ``flops`` formulas): each ``step(batch_size, **sizes)`` is then
    charged the formula at ``sizes`` (``B=batch_size`` when the formula has a ``B`` and
    ``sizes`` leaves it out), or with ``shapes=[{...}, ...]`` (packed sequences) the sum of the
    formula over the shapes; no count per step. Phases then get times but no FLOP/s.

    Call ``meter.step(batch_size=...)`` once per iteration; optionally wrap phases in
    ``with meter.phase("forward"): ...``. Each ``step`` costs one synchronisation and a clock
    reading (see benchmarks/RESULTS.md for the measured overhead).
    """

    def __init__(self, model_or_report: Any, input_res: Any = None, *, input_constructor: Any = None,
                 optimizer: Any = None, loss_fn: Any = None, target: Any = None, device: Any = "cpu",
                 dtype: str = "fp32", warmup: int = 2, tokens_per_sample: Optional[int] = None,
                 recompute_flops: int = 0, batch_size: Optional[int] = None, synchronize: bool = True) -> None:
        from ..api import profile
        from ..report import Aggregate

        self.device = get_device(device)
        self.dtype = dtype
        self.peak = self.device.peak(dtype)
        if warmup < 0:
            raise ValueError(f"warmup must be 0 or more, got {warmup}")
        self._formula = _flops_formula(model_or_report)
        self._flops = 0
        if self._formula is not None:
            report = None
        elif isinstance(model_or_report, Aggregate):
            report = model_or_report
        elif isinstance(model_or_report, nn.Module):
            check_placement(model_or_report, self.device)
            report = profile(model_or_report, input_res, input_constructor=input_constructor, mode="train",
                             optimizer=optimizer, loss_fn=loss_fn, target=target)
        else:
            raise TypeError("MFUMeter takes a model (with input_res), a flowflops Report of a training step or "
                            f"a formula of flowflops.symbolic, got {type(model_or_report).__name__}")
        if report is None:
            self.flops_per_sample = 0.0
            self.phase_flops_per_sample: Dict[str, float] = {}
        else:
            counted_batch = batch_size or _batch_of(report)
            self.flops_per_sample = report.flops / counted_batch
            self.phase_flops_per_sample = {k: c.flops / counted_batch for k, c in report.by_phase().items()}
        self.recompute_flops = recompute_flops
        self.tokens_per_sample = tokens_per_sample
        self.warmup = warmup
        self.synchronize = synchronize
        self.rank = flow.env.get_rank()
        self.world_size = flow.env.get_world_size()
        self._steps = 0
        self._timed_steps = 0
        self._samples = 0
        self._seconds = 0.0
        self._last: Optional[float] = None
        self._phase_seconds: Dict[str, float] = {}
        self._phase_now: Dict[str, float] = {}

    def _now(self) -> float:
        return clock() if self.synchronize else time.perf_counter()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the body as phase ``name`` (``forward``, ``backward``, ``optimizer`` or any)."""
        t0 = self._now()
        try:
            yield
        finally:
            self._phase_now[name] = self._phase_now.get(name, 0.0) + self._now() - t0

    def step(self, batch_size: int, shapes: Optional[List[Dict[str, int]]] = None, **sizes: int) -> None:
        """Mark the end of one training step of ``batch_size`` samples (with a formula: at
        ``sizes``, or summed over ``shapes``)."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        flops = self._step_flops(batch_size, shapes, sizes)
        now = self._now()
        self._steps += 1
        if self._last is not None and self._steps > self.warmup:
            self._timed_steps += 1
            self._samples += batch_size
            self._flops += flops
            self._seconds += now - self._last
            for k, v in self._phase_now.items():
                self._phase_seconds[k] = self._phase_seconds.get(k, 0.0) + v
        self._phase_now = {}
        self._last = now

    def summary(self) -> MFUSummary:
        """Rates over the timed steps so far (raises before the first timed step)."""
        if self._timed_steps == 0:
            raise RuntimeError(
                f"no timed steps yet ({self._steps} step(s) so far): the meter skips the first "
                f"{max(self.warmup, 1)} step(s) as warm-up; call step() after each of at least "
                f"{max(self.warmup, 1) + 1} training steps before summary()")
        secs, n = self._seconds, self._timed_steps
        flops = self._flops if self._formula is not None else self.flops_per_sample * self._samples
        hw = flops + self.recompute_flops * self._samples
        flags = flags_for(flops, secs, self.peak)
        bad = bool(flags)
        if not bad:
            flags = [f"HFU: {f}" for f in flags_for(hw, secs, self.peak)]
        achieved = None if bad else flops / secs
        hfu_ok = not bad and hw / secs <= self.peak
        phases = {}
        for k, v in self._phase_seconds.items():
            f = self.phase_flops_per_sample.get(k)
            rate = None if f is None or flags_for(f * self._samples, v, self.peak) else f * self._samples / v
            phases[k] = (v / n, rate)
        return MFUSummary(
            self.device.name, self.dtype, self.rank, self.world_size, n, secs / n,
            self._samples / secs if secs > 0 else 0.0,
            None if self.tokens_per_sample is None or secs <= 0 else self._samples * self.tokens_per_sample / secs,
            achieved, None if achieved is None else achieved / self.peak,
            (hw / secs / self.peak) if hfu_ok else None, self.peak, phases, flags)


    def _step_flops(self, batch_size: int, shapes: Optional[List[Dict[str, int]]], sizes: Dict[str, int]) -> int:
        """The formula's FLOPs of one step (0 without a formula)."""
        f = self._formula
        if f is None:
            if shapes is not None or sizes:
                raise TypeError("step() takes sizes or shapes only with a formula (flowflops.symbolic); this "
                                "meter scales one count by batch_size")
            return 0
        if shapes is not None and sizes:
            raise TypeError("give either sizes (one shape) or shapes (a packed step), not both")
        out = 0
        for shape in (shapes if shapes is not None else [sizes]):
            shape = dict(shape)
            if "B" in f.dims and "B" not in shape:
                shape["B"] = batch_size
            out += f(**shape)
        return out


def _flops_formula(obj: Any) -> Any:
    """The FLOPs formula of a :func:`flowflops.symbolic` result (or the formula itself), else None."""
    from .symbolic import Costs, Formula, Piecewise, PiecewiseCosts

    if isinstance(obj, (Costs, PiecewiseCosts)):
        return obj.flops
    return obj if isinstance(obj, (Formula, Piecewise)) else None


def _batch_of(report: "Aggregate") -> int:
    """The batch size of a count: the first dimension of its first input."""
    for shape in report.inputs or []:
        if isinstance(shape, (tuple, list)) and shape and isinstance(shape[0], int):
            return int(shape[0])
    raise ValueError("cannot tell the batch size of this count: pass batch_size= (samples in the counted input)")
