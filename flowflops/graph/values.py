"""Numbers a model reads from its tensors in Python while it is traced, taken from one eager run.

OneFlow 0.9's ``nn.Graph`` traces a forward on lazy tensors, which have shapes and no values, so
a forward that reads a tensor as a Python number does not compile, although it runs eagerly:

- ``.item()``, ``int()``, ``float()``, ``bool()`` or ``operator.index()`` of a lazy tensor
  (XLM's and FlauBERT's ``assert lengths.max().item() <= slen``): "Only eager scalar tensor
  support GetItem";
- a tensor where a function takes a Python number (:data:`SCALAR_ARGS`): eager OneFlow's
  argument parser reads the tensor's value, the lazy one refuses any tensor, lazy or not
  (GPT-NeoX's ``baddbmm(..., alpha=tensor(1.0) / self.norm_factor)``, DistilBERT's
  ``masked_fill(mask, tensor(finfo.min))``): "argument 'alpha' must be double, not
  <class 'oneflow.Tensor'>".

When a graph count's compile fails on one of these (:func:`reads_values`), the graph engine runs
the forward once eagerly on the same inputs (eval mode, no gradients, the model's state guarded
as for an eager count; the calls that would abort the process on the CPU refused as there) and
records each such read made by the model's code: the line that made it and the number eager
OneFlow reads (``.item()``). It then compiles again, and each read gets, in the same order, the
number recorded; a read made from another line than the eager run's next one, or one more than
it made, stops that compile (the first error stands). No op is added, removed or resized by
this: the numbers are the ones the eager run computed on the same inputs, the ops that compute
them stay in the job, and an op given such a number (``baddbmm``'s ``alpha``, ``masked_fill``'s
``value``) is the op the eager run called with it.

The patches are in place only while the recording run and the second compile run, and act only
in the thread that runs them (every other call passes through unchanged); a read made by
OneFlow's own code (not the model's) is left alone.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from types import FrameType
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import oneflow as flow

__all__ = ["READS", "SCALAR_ARGS", "Reads", "reads_values", "reading", "recorded_reads"]

#: methods of ``flow.Tensor`` that read the tensor's value as a Python number
READS = ("item", "__float__", "__int__", "__index__", "__bool__")
#: ``(owner, function, {argument: position})``: functions whose arguments take a Python number
#: that eager OneFlow also accepts as a one-element tensor (position counts ``self`` of a
#: ``flow.Tensor`` method)
SCALAR_ARGS: List[Tuple[Any, str, Dict[str, int]]] = [
    (flow, "baddbmm", {"beta": 3, "alpha": 4}),
    (flow.Tensor, "baddbmm", {"beta": 3, "alpha": 4}),
    (flow, "masked_fill", {"value": 2}),
    (flow.Tensor, "masked_fill", {"value": 2}),
    (flow.Tensor, "masked_fill_", {"value": 2}),
    # Funnel's relative positions: torch.arange(max_dist, min_dist - 1, -stride), the ends 0-d tensors
    (flow, "arange", {"start": 0, "end": 1, "step": 2}),
]

_NEEDS_VALUE = re.compile(r"Only eager scalar tensor support GetItem|"
                          r"argument '\w+' must be [\w ]+, not <class 'oneflow\.Tensor'>")


def reads_values(err: BaseException) -> bool:
    """Whether ``err`` (a compile's error or what it wraps) is a forward reading a lazy
    tensor's value, or giving a tensor where OneFlow takes a number."""
    seen = 0
    e: Optional[BaseException] = err
    while e is not None and seen < 8:
        if _NEEDS_VALUE.search(str(e)):
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


class _Diverged(RuntimeError):
    """The compile made a read the eager run did not make at that point."""


class Reads:
    """The numbers read in one eager run, in order, each with the line that read it; replayed
    by a compile (``replay=True``)."""

    def __init__(self) -> None:
        self.values: List[Tuple[str, Any]] = []
        self.replay = False
        self.at = 0

    def record(self, site: str, value: Any) -> None:
        self.values.append((site, value))

    def next(self, site: str) -> Any:
        if self.at >= len(self.values) or self.values[self.at][0] != site:
            expected = self.values[self.at][0] if self.at < len(self.values) else "no more reads"
            raise _Diverged(f"the compile read a tensor's value at {site}, where the eager run read "
                            f"it at {expected} (the two took different paths)")
        value = self.values[self.at][1]
        self.at += 1
        return value


_tls = threading.local()  # .reads: the Reads of this thread's recording run or compile


#: flowflops' files whose frames stand between a model's code and the function it calls: the
#: mocked ``torch`` names' late-bound stand-ins and ``count_functional``'s wrappers
_BETWEEN = (os.path.join("torch_models", "shims.py"), os.path.join("eager", "functional.py"))


def _site(frame: Optional[FrameType]) -> Optional[str]:
    """``file:line`` of the model's code that made a call (the first frame from ``frame`` that is
    neither OneFlow's nor flowflops'); ``None`` when OneFlow's or flowflops' own code made it
    (a read this module leaves alone)."""
    from ..runtime.source import _skipped

    oneflow_dir, ours = _skipped()
    f = frame
    while f is not None:
        name = f.f_code.co_filename
        if name.startswith(oneflow_dir):
            return None
        if not name.startswith(ours):
            return f"{name}:{f.f_lineno}"
        if not name.endswith(_BETWEEN):
            return None
        f = f.f_back
    return None


def _read_wrapper(fn: Callable) -> Callable:
    def wrapper(self: Any, *args: Any) -> Any:
        reads: Optional[Reads] = getattr(_tls, "reads", None)
        site = _site(sys._getframe(1)) if reads is not None else None
        if reads is None or site is None:
            return fn(self, *args)
        if not reads.replay:
            value = fn(self, *args)
            reads.record(site, value)
            return value
        value = reads.next(site)
        return value if self.is_lazy else fn(self, *args)

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    wrapper.__name__ = getattr(fn, "__name__", "wrapper")
    return wrapper


def _arg_wrapper(fn: Callable, params: Dict[str, int]) -> Callable:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        reads: Optional[Reads] = getattr(_tls, "reads", None)
        if reads is None:
            return fn(*args, **kwargs)
        spots = [(name, pos) for name, pos in params.items()
                 if isinstance(kwargs.get(name), flow.Tensor) or (
                     name not in kwargs and pos < len(args) and isinstance(args[pos], flow.Tensor))]
        site = _site(sys._getframe(1)) if spots else None
        if site is None:
            return fn(*args, **kwargs)
        if not reads.replay:  # eager: the value the argument parser reads, the call as it was
            for name, pos in spots:
                reads.record(site, _ORIGINAL_ITEM((kwargs[name] if name in kwargs else args[pos])))
            return fn(*args, **kwargs)
        new_args, new_kwargs = list(args), dict(kwargs)
        for name, pos in spots:
            if name in new_kwargs:
                new_kwargs[name] = reads.next(site)
            else:
                new_args[pos] = reads.next(site)
        return fn(*new_args, **new_kwargs)

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    wrapper.__name__ = getattr(fn, "__name__", "wrapper")
    return wrapper


_ORIGINAL_ITEM: Callable[[Any], Any] = flow.Tensor.item


def _current(owner: Any, name: str) -> Any:
    return owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)


#: the wrappers in place: ``(owner, name, original, wrapper)``, and how many runs use them
_installed: List[Tuple[Any, str, Any, Any]] = []
_users = [0]


def _targets() -> List[Tuple[Any, str, Callable[[Callable], Callable]]]:
    out: List[Tuple[Any, str, Callable[[Callable], Callable]]] = [
        (flow.Tensor, name, _read_wrapper) for name in READS]
    out += [(owner, name, (lambda p: lambda fn: _arg_wrapper(fn, p))(params)) for owner, name, params in SCALAR_ARGS]
    return out


@contextlib.contextmanager
def _patched() -> Iterator[None]:
    """The wrappers in place while the body runs (they act only in a thread with ``_tls.reads``):
    installed by the first run that needs them, removed by the last (runs in several threads
    share them). A ``count_functional`` wrapper another count installed over one of them
    meanwhile is told to put back the original (not this wrapper) when its count ends."""
    from ..eager import functional

    with functional._lock:
        if _users[0] == 0:
            for owner, name, make in _targets():
                fn = _current(owner, name)
                if fn is not None:
                    wrapper = make(fn)
                    setattr(owner, name, wrapper)
                    _installed.append((owner, name, fn, wrapper))
        _users[0] += 1
    try:
        yield
    finally:
        with functional._lock:
            _users[0] -= 1
            if _users[0] == 0:
                while _installed:
                    owner, name, fn, wrapper = _installed.pop()
                    if _current(owner, name) is wrapper:
                        setattr(owner, name, fn)
                        continue
                    entry = functional._patches.get((id(owner), name))
                    if entry is not None and entry[2] is wrapper:  # a count's wrapper over ours
                        entry[2] = fn


@contextlib.contextmanager
def reading(reads: Reads) -> Iterator[None]:
    """Record (``reads.replay`` False) or replay the reads of this thread while the body runs."""
    previous = getattr(_tls, "reads", None)
    with _patched():
        _tls.reads = reads
        try:
            yield
        finally:
            _tls.reads = previous


def _fits(args: tuple, kwargs: Dict[str, Any]) -> bool:
    """Whether each input, allocated, fits the memory available (graph mode's inputs may be
    broadcast views of one element: an eager run would allocate what it computes from them)."""
    from ..graph.compile import input_tensors
    from ..runtime.inputs import check_input_size

    try:
        for _, t in list(input_tensors(args, "args")) + list(input_tensors(kwargs, "kwargs")):
            check_input_size(tuple(t.shape), t.element_size(), t.device, True)
    except Exception:  # noqa: BLE001 - InputError: too large to run eagerly
        return False
    return True


def recorded_reads(model: Any, args: tuple, kwargs: Dict[str, Any]) -> Optional[Reads]:
    """The reads of one eager run of ``model`` on the inputs (its state guarded as an eager
    count's, the calls that abort the process on the CPU refused); ``None`` when the run fails
    or makes none."""
    from ..eager.functional import abort_targets, patched
    from ..runtime.guard import counting_state
    from ..runtime.interrupts import call_user, from_signal

    if not _fits(args, kwargs):
        return None
    reads = Reads()
    try:
        with counting_state(model, run=True), patched(lambda recs: None, lambda: False, targets=abort_targets()), \
                reading(reads):
            call_user(model, *args, **kwargs)
    except Exception as err:  # noqa: BLE001 - the run is only a source of numbers; the compile's error stands
        if from_signal(err):  # the user's signal handler's own exception, raised in the forward
            raise
        return None
    reads.replay = True
    return reads if reads.values else None
