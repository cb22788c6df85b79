"""What a count may touch on the user's model, saved before and put back after.

:func:`counting_state` wraps every count (eager, graph and training-step):

- **One count of a module at a time.** A count claims every module of the model; a second
  count of the same model (or of one sharing a module with it) in another thread waits until
  the first has put everything back, so the two never save each other's temporary state. A
  count of a model inside a count of the same model in the same thread is a
  :class:`~flowflops.CountError`.
- **The modules' ``__dict__``.** Every module's attributes are saved (by identity) before the
  forward, and so are the contents of the lists, dicts and sets they hold (two levels deep:
  hook dicts, ``_parameters``/``_buffers``/``_modules``, a KV cache list, a dict of caches).
  Afterwards attributes the forward added are deleted, rebound ones are bound back and the
  containers get their old contents back in place. Training flags are ``__dict__`` entries,
  so they come back the same way; so do hooks a forward registers (a lazily built model
  registers them again on its next forward, under the keys it would have had).
- **Tensor values (eager counts, which run the forward).** Buffers and tensor attributes of
  modules that are not OneFlow's own layers are copied before the forward (OneFlow's layers do
  not write their buffers in eval mode, which an eager count uses) and written back if the
  forward changed them (a step counter, a pre-allocated KV cache).
- **The RNG, where OneFlow can put it back.** The CPU default generator's state is saved
  before an eager forward and set back if the forward drew random numbers. OneFlow 0.9's
  state holds the seed and the Mersenne Twister's 624 words but not its position among them
  (5000 bytes = 8 + 624 * 8): set back, a generator continues from the start of its next
  block. So a generator seeded and not drawn from since is put back exactly; one that drew
  before the count continues elsewhere (reproduced without flowflops). Dropout draws nothing
  in a count (eager counts run in eval mode).

Compiled counts of an ``nn.Module`` (graph, training step) use :func:`counting_view`
instead: the count's flags, hooks and gradients are set on a private view of the model
(:mod:`flowflops.runtime.view`), never on the user's objects. An eager count whose model has
a training flag set by another thread meanwhile is a :class:`~flowflops.CountError` (its
number could mix training and eval behaviour), and that flag is left as the thread set it.

What is not undone: writes the forward makes outside the model (globals, files, other
objects), in-place writes to parameters, to tensors held in containers, or to containers
nested more than two levels deep, and anything another thread does to the model while a count
runs (its changes are undone with the count's; it sees the count's eval flags and hooks, which
do nothing for it). Random numbers another thread draws while an eager forward that draws them
runs are drawn again afterwards.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import oneflow as flow
import oneflow.nn as nn
from oneflow.nn.modules.batchnorm import _BatchNorm

from ..errors import CountError
from .interrupts import take_pending

__all__ = ["ModelState", "counting_state", "counting_view"]

_cond = threading.Condition()
_owners: Dict[int, int] = {}  # id(module) -> ident of the thread counting it
_forked = False  # this process was made by os.fork() after flowflops (and OneFlow) started


def forked_child() -> bool:
    """Whether this process was made by ``os.fork()`` after flowflops was imported (so after
    OneFlow started its runtime threads, which a forked child does not have)."""
    return _forked


def _after_fork_in_child() -> None:
    """Claims are per process: in a child made by ``os.fork()`` only the forking thread
    exists, so claims of the parent's other threads are dropped (they could never be
    released) and the lock is new (another thread may have held it at the fork)."""
    global _cond, _forked
    _forked = True
    me = threading.get_ident()
    for key in [k for k, owner in _owners.items() if owner != me]:
        del _owners[key]
    _cond = threading.Condition()


os.register_at_fork(after_in_child=_after_fork_in_child)
_CONTAINERS = (list, dict, set)
_DEPTH = 2


# -- one count of a module at a time ------------------------------------------------------
def _claim(modules: List[nn.Module]) -> None:
    me = threading.get_ident()
    with _cond:
        while True:
            owners = {_owners.get(id(m)) for m in modules} - {None}
            if me in owners:
                raise CountError(
                    "this model is already being counted in this thread (a count inside a "
                    "count of the same model): count it once the outer count has finished"
                )
            if not owners:
                break
            _cond.wait(0.05)
            if take_pending():  # Ctrl-C while waiting for another thread's count
                raise KeyboardInterrupt
        for m in modules:
            _owners[id(m)] = me


def _release(modules: List[nn.Module]) -> None:
    with _cond:
        for m in modules:
            _owners.pop(id(m), None)
        _cond.notify_all()


# -- saving and putting back ---------------------------------------------------------------
#: OneFlow's layers that write buffers in training mode (running statistics)
_NORMS = (_BatchNorm,)


def _is_flow_layer(m: nn.Module) -> bool:
    return type(m).__module__.startswith("oneflow.")


def _containers(value: Any, out: Dict[int, Tuple[Any, Any]], depth: int) -> None:
    if depth == 0 or id(value) in out:
        return
    if isinstance(value, dict):
        items: Any = list(value.items())
        children: Any = value.values()
    elif isinstance(value, (list, set)):
        items = children = list(value)
    else:
        return
    out[id(value)] = (value, items)
    if depth > 1:
        for v in children:
            if isinstance(v, _CONTAINERS):
                _containers(v, out, depth - 1)


def _refill(container: Any, items: Any) -> None:
    """Give ``container`` back the contents ``items`` (the same objects), in place."""
    if not items:
        if container:
            container.clear()
        return
    if isinstance(container, dict):
        if len(container) == len(items):
            for k, v in items:
                if container.get(k, _refill) is not v:
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


def _local(t: Any) -> bool:
    return isinstance(t, flow.Tensor) and not isinstance(t, nn.Parameter) and not t.is_global \
        and not t.is_lazy


def _saved(t: flow.Tensor) -> flow.Tensor:
    """A copy of ``t``'s value, queued after the work already queued on it (no wait)."""
    with flow.no_grad():
        return t.detach().clone()


def _changed(t: flow.Tensor, saved: flow.Tensor) -> flow.Tensor:
    """A one-element int64 tensor: 1 when ``t`` no longer holds ``saved``'s value (NaN where
    both hold NaN counts as the same, as ``numpy.array_equal(equal_nan=True)``), else 0."""
    if tuple(t.shape) != tuple(saved.shape) or t.dtype != saved.dtype:
        return flow.ones((), dtype=flow.int64)
    if t.numel() == 0:
        return flow.zeros((), dtype=flow.int64)
    differ = t != saved
    if t.dtype in (flow.float16, flow.float32, flow.float64, flow.bfloat16):
        differ = differ & ~(flow.isnan(t) & flow.isnan(saved))
    return differ.to(flow.int64).sum().to("cpu")


class ModelState:
    """A snapshot of ``modules`` (see the module docstring); :meth:`restore` puts it back."""

    def __init__(self, modules: List[nn.Module], values: bool, layer_values: bool = False) -> None:
        self.dicts = [(m, dict(m.__dict__)) for m in modules]
        self.containers: Dict[int, Tuple[Any, Any]] = {}
        self.tensors: List[Tuple[flow.Tensor, flow.Tensor]] = []
        out = self.containers
        for m, d in self.dicts:
            for v in d.values():
                if isinstance(v, _CONTAINERS):
                    if not v:  # most hook and state dicts: nothing to look into
                        out[id(v)] = (v, ())
                    else:
                        _containers(v, out, _DEPTH)
        self.rng = None
        if values:
            seen = set()
            for m, d in self.dicts:
                if _is_flow_layer(m) and not layer_values:  # in eval mode they change nothing
                    if isinstance(m, _NORMS):
                        # eval mode writes nothing, but another thread may call train() on the
                        # model while the count runs: its statistics would move for good
                        for t in d.get("_buffers", {}).values():
                            if _local(t) and id(t) not in seen:
                                seen.add(id(t))
                                self.tensors.append((t, _saved(t)))
                    continue
                for t in list(d.get("_buffers", {}).values()) + list(d.values()):
                    if _local(t) and id(t) not in seen:
                        seen.add(id(t))
                        self.tensors.append((t, _saved(t)))
            self.rng = flow.get_rng_state().numpy()

    def restore(self, keep_flags: Optional[set] = None) -> None:
        """Put everything back, but the training flag of the modules in ``keep_flags`` (ids:
        another thread set it during the count), which is left as that thread set it."""
        for m, saved in self.dicts:
            now = m.__dict__
            for k, v in saved.items():
                if now.get(k, now) is not v and not (keep_flags and k == "training"
                                                     and id(m) in keep_flags):
                    now[k] = v
            if len(now) != len(saved):  # now holds every saved key: the rest were added
                for k in [k for k in now if k not in saved]:
                    del now[k]
        for container, items in self.containers.values():
            _refill(container, items)
        if self.tensors:
            with flow.no_grad():
                # one wait for the queued work for all the tensors, not one per tensor (each
                # ``numpy()`` waits for OneFlow's queue: milliseconds per buffer, a few hundred
                # buffers in a CNN made the eager count cost several forwards)
                changed = flow.stack([_changed(t, value) for t, value in self.tensors]).numpy()
                for (t, value), moved in zip(self.tensors, changed):
                    if moved:
                        t.copy_(value)
        if self.rng is not None and not np.array_equal(flow.get_rng_state().numpy(), self.rng):
            flow.set_rng_state(flow.tensor(self.rng, dtype=flow.uint8))


def _unique_modules(models: Sequence[nn.Module]) -> List[nn.Module]:
    seen: Dict[int, nn.Module] = {}
    for model in models:
        for m in model.modules():
            seen.setdefault(id(m), m)
    return list(seen.values())


@contextlib.contextmanager
def counting_state(model: Union[nn.Module, Sequence[nn.Module]], training: Optional[bool] = False,
                   *, run: bool = False) -> Iterator[None]:
    """Run the body with every module of ``model`` (a module or several) in eval mode and
    gradients off (``training=True``: training mode and gradients on; ``None``: flags and grad
    mode as they are), the modules claimed for this count and their state saved; afterwards
    they are as before (see the module docstring), also when the body raises. ``run=True``
    (the body runs the forward eagerly) also saves tensor values and the RNG."""
    modules = _unique_modules([model] if isinstance(model, nn.Module) else model)
    _claim(modules)
    try:
        # flags as they are: a layer in training mode (BatchNorm) updates its buffers
        state = ModelState(modules, values=run, layer_values=training is None)
        try:
            if training is None:
                yield
                return
            for m in modules:
                m.training = training
            for m in modules:  # a module whose train()/eval() does work (EfficientFormer's attention
                if type(m).train is not nn.Module.train:  # caches its biases in train(False)):
                    m.train(training)  # as model.eval() runs it; restored with the rest
            with (flow.enable_grad() if training else flow.no_grad()):
                yield
            flipped = _flipped(modules, training)
            if flipped:
                names = sorted({type(m).__name__ for m in flipped})
                raise CountError(
                    f"another thread set the training flag of {len(flipped)} module(s) "
                    f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}) (model.train() / "
                    "model.eval()) while this count ran the model, so the count would mix "
                    "training and eval behaviour: count when no other thread uses the model "
                    "(or count a copy: copy.deepcopy(model)); the flags are left as that "
                    "thread set them"
                )
        finally:
            state.restore(keep_flags={id(m) for m in _flipped(modules, training)})
    finally:
        _release(modules)


def _flipped(modules: List[nn.Module], training: Optional[bool]) -> List[nn.Module]:
    """The modules whose training flag is no longer what the count set (another thread's)."""
    if training is None:
        return []
    return [m for m in modules if m.__dict__.get("training", training) != training]


@contextlib.contextmanager
def counting_view(model: nn.Module, training: bool = False, *, new_params: bool = False
                  ) -> Iterator[Tuple[nn.Module, Dict[int, Any]]]:
    """For compiled counts: claim ``model``'s modules (as :func:`counting_state` does) and give
    the body a private view of the model (:func:`flowflops.runtime.view.model_view`) in eval
    mode with gradients off (``training=True``: training mode, gradients on), and the map from
    the user's objects to the view's. The user's modules, flags, hooks and (``new_params``)
    parameters are never touched, so another thread using the model meanwhile sees nothing of
    the count and keeps whatever it sets; what the body changes in containers the view shares
    with the model (two levels down, as :func:`counting_state`) is put back."""
    from .view import model_view

    modules = _unique_modules([model])
    _claim(modules)
    try:
        view, memo = model_view(model, new_params=new_params)
        views = [memo[id(m)] for m in modules]
        state = ModelState(views, values=False)
        try:
            for v in views:
                v.training = training
            for v in views:  # a module whose train()/eval() does work, as in counting_state
                if type(v).train is not nn.Module.train:
                    v.train(training)
            with (flow.enable_grad() if training else flow.no_grad()):
                yield view, memo
        finally:
            state.restore()
    finally:
        _release(modules)
