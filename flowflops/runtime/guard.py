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
  forward changed them (a step counter, a pre-allocated KV cache; one rebound through ``.data``
  to another shape or dtype is bound back the same way). They are copied together, in flat
  chunks per dtype and device, and checked with one wait at the end.
- **The RNG, where OneFlow can put it back.** The CPU default generator's state is saved
  before an eager forward and set back if the forward drew random numbers. OneFlow 0.9's
  state holds the seed and the Mersenne Twister's 624 words but not its position among them
  (5000 bytes = 8 + 624 * 8): set back, a generator continues from the start of its next
  block. So a generator seeded and not drawn from since is put back exactly; one that drew
  before the count continues elsewhere (reproduced without flowflops). Dropout draws nothing
  in a count (eager counts run in eval mode).

Counts of an ``nn.Module`` (eager, graph, training step) and of a user's uncompiled
``nn.Graph`` use :func:`counting_view` instead: the count's flags, hooks, attributes and
gradients are set on a private view of the model (:mod:`flowflops.runtime.view`), never on
the user's objects, so another thread sees the user's modules as they are and keeps what it
sets. :func:`counting_state` is left for what still runs the user's own modules (the one
eager run :mod:`flowflops.graph.values` takes numbers from; ``tools/measure.py``'s training
steps, on its own copy): there a training flag another thread sets meanwhile is a
:class:`~flowflops.CountError` (the number could mix training and eval behaviour), and that
flag is left as the thread set it.

What is not undone: writes the forward makes outside the model (globals, files, other
objects), in-place writes to parameters, to tensors held in containers, or to containers
nested more than two levels deep. Tensor values put back are put back whoever wrote them (an
in-place write another thread makes meanwhile to such a buffer is undone too), and random
numbers another thread draws while an eager forward that draws them runs are drawn again
afterwards.
"""
from __future__ import annotations

import contextlib
import os
import threading
from operator import is_
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import oneflow as flow
import oneflow.nn as nn
from oneflow.nn.modules.batchnorm import _BatchNorm

from ..errors import CountError
from .interrupts import take_pending
from .view import refill

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
#: a module's own tables, which hold modules, parameters or tensors (or None), never containers
_TABLES = frozenset({"_modules", "_parameters", "_buffers"})
_DEPTH = 2


# -- one count of a module at a time ------------------------------------------------------
def _keys(modules: List[nn.Module]) -> List[int]:
    """The claim of each module: the user's module's, also for a count's view of it (a count
    started in a view's forward is a count of the user's model)."""
    from .view import origin

    return [id(origin(m)) for m in modules]


def _claim(modules: List[nn.Module]) -> List[int]:
    """Claim ``modules`` for this thread's count; the keys to give :func:`_release`."""
    me = threading.get_ident()
    keys = _keys(modules)
    with _cond:
        while True:
            owners = {_owners.get(k) for k in keys} - {None}
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
        for k in keys:
            _owners[k] = me
    return keys


def _release(keys: List[int]) -> None:
    with _cond:
        for k in keys:
            _owners.pop(k, None)
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


def _local(t: Any) -> bool:
    return isinstance(t, flow.Tensor) and not isinstance(t, nn.Parameter) and not t.is_global \
        and not t.is_lazy


#: tensors of at most this many elements are saved and checked together, packed into flat
#: chunks of at most this many elements (one copy each: a few ops for a model's few hundred
#: BatchNorm buffers instead of several per buffer); a bigger tensor is saved on its own
_CHUNK = 1 << 22
_FLOATS = (flow.float16, flow.float32, flow.float64, flow.bfloat16)


def _differ(now: flow.Tensor, saved: flow.Tensor) -> flow.Tensor:
    """Where ``now`` no longer holds ``saved``'s value, elementwise (NaN where both hold NaN
    counts as the same, as ``numpy.array_equal(equal_nan=True)``)."""
    differ = now != saved
    if now.dtype in _FLOATS:
        differ = differ & ~(flow.isnan(now) & flow.isnan(saved))
    return differ


def _flat(pieces: List[flow.Tensor]) -> flow.Tensor:
    """The values of ``pieces`` (one dtype and device; all of them 0-d, or none) one after
    another, in a new 1-d tensor."""
    if len(pieces) == 1:
        return pieces[0].reshape(-1).clone()
    if pieces[0].ndim == 0:
        return flow.stack(pieces)
    return flow.cat([t if t.ndim == 1 else t.reshape(-1) for t in pieces])


class _Values:
    """Copies of tensors' values, queued after the work already queued on them (no wait);
    :meth:`check` queues their comparison with the values at the end and :meth:`put_back`
    writes back the ones that changed, after one wait for them all.

    Tensors of one dtype and device are copied together into flat chunks (0-d ones apart), so
    a model's few hundred BatchNorm buffers cost a few ops at each end, not several each."""

    def __init__(self, tensors: List[flow.Tensor]) -> None:
        self.shapes = {id(t): (tuple(t.shape), t.dtype) for t in tensors}
        #: (tensors, the offset of each in the chunk, their sizes, the chunk: a flat copy)
        self.chunks: List[Tuple[List[flow.Tensor], List[int], List[int], flow.Tensor]] = []
        self.moved: set = set()  # (check) ids of the tensors whose shape or dtype changed
        self.differs: List[flow.Tensor] = []  # (check) per chunk: where its values changed
        groups: Dict[Tuple[Any, str, bool], Tuple[List[flow.Tensor], List[int], List[int]]] = {}
        filled: Dict[Tuple[Any, str, bool], int] = {}
        with flow.no_grad():
            for t in tensors:
                n = t.numel()
                if n == 0:  # no value to lose
                    continue
                if n > _CHUNK:
                    self.chunks.append(([t], [0], [n], _flat([t])))
                    continue
                key = (t.dtype, str(t.device), t.ndim == 0)
                at = filled.get(key, 0)
                if at + n > _CHUNK:
                    full = groups.pop(key)
                    self.chunks.append((*full, _flat(full[0])))
                    at = 0
                group = groups.setdefault(key, ([], [], []))
                group[0].append(t)
                group[1].append(at)
                group[2].append(n)
                filled[key] = at + n
            for group in groups.values():
                self.chunks.append((*group, _flat(group[0])))

    def check(self) -> List[flow.Tensor]:
        """Queue the comparison of every chunk with the tensors' values now (no wait): one
        1-element bool tensor per chunk, on the CPU, true where some tensor of it changed.
        Read them with one ``numpy()`` and give them to :meth:`put_back`."""
        with flow.no_grad():
            shapes = self.shapes
            self.moved = {id(t) for c in self.chunks for t in c[0] if (tuple(t.shape), t.dtype) != shapes[id(t)]}
            self.differs = []
            for tensors, starts, sizes, saved in self.chunks:
                # a tensor whose shape or dtype changed is written back anyway: its place in the
                # chunk is compared with itself
                pieces = tensors if not self.moved else [
                    saved[s:s + n].reshape(shapes[id(t)][0]) if id(t) in self.moved else t
                    for t, s, n in zip(tensors, starts, sizes)]
                self.differs.append(_differ(_flat(pieces), saved))
            anys = [d.any().reshape(1) for d in self.differs]
            return [a if a.device.type == "cpu" else a.to("cpu") for a in anys]

    def put_back(self, changed: Sequence[bool]) -> None:
        """Write back every tensor whose value, shape or dtype changed since the copy
        (``changed``: the flags of :meth:`check`, read)."""
        moved = self.moved
        with flow.no_grad():
            for (tensors, starts, sizes, _), d, any_changed in zip(self.chunks, self.differs, changed):
                if any_changed:
                    flags = d.numpy()
                    moved.update(id(t) for t, s, n in zip(tensors, starts, sizes) if flags[s:s + n].any())
            self.differs = []
            if not moved:
                return
            for tensors, starts, sizes, saved in self.chunks:
                for t, s, n in zip(tensors, starts, sizes):
                    if id(t) in moved:
                        shape, dtype = self.shapes[id(t)]
                        value = saved[s:s + n].reshape(shape)
                        if tuple(t.shape) == shape and t.dtype == dtype:
                            t.copy_(value)
                        else:  # rebound through ``.data``: bound back the same way
                            t.data = value.clone()


class ModelState:
    """A snapshot of ``modules`` (see the module docstring); :meth:`restore` puts it back."""

    def __init__(self, modules: List[nn.Module], values: bool, layer_values: bool = False,
                 norms: bool = True, shared: Optional[List[Tuple[Any, int]]] = None) -> None:
        """``shared`` (a count's view, see :func:`counting_view`): ``modules`` are the view's,
        whose ``__dict__`` and own containers nobody else sees, so only ``shared``, the user's
        containers the view holds (``(container, depth)``, from
        :func:`flowflops.runtime.view.model_view`), are saved, not the modules' attributes."""
        self.containers: Dict[int, Tuple[Any, Any]] = {}
        tensors: List[flow.Tensor] = []
        out = self.containers
        if shared is not None:
            self.dicts: List[Tuple[nn.Module, Dict[str, Any]]] = []
            for container, depth in shared:
                _containers(container, out, depth)
            dicts = [(m, m.__dict__) for m in modules] if values else []
        else:
            self.dicts = dicts = [(m, dict(m.__dict__)) for m in modules]
        for m, d in self.dicts:
            for k, v in d.items():
                if isinstance(v, _CONTAINERS):
                    if not v:  # most hook and state dicts: nothing to look into
                        out[id(v)] = (v, ())
                    elif k in _TABLES and isinstance(v, dict):  # modules, tensors or None in them
                        out[id(v)] = (v, list(v.items()))
                    else:
                        _containers(v, out, _DEPTH)
        self.rng: Optional[flow.Tensor] = None
        self.values: Optional[_Values] = None
        if values:
            seen = set()
            for m, d in dicts:
                if _is_flow_layer(m) and not layer_values:  # in eval mode they change nothing
                    if norms and isinstance(m, _NORMS):
                        # eval mode writes nothing, but another thread may call train() on the
                        # model while the count runs: its statistics would move for good
                        for t in d.get("_buffers", {}).values():
                            if _local(t) and id(t) not in seen:
                                seen.add(id(t))
                                tensors.append(t)
                    continue
                for t in (*d.get("_buffers", {}).values(), *d.values()):
                    if isinstance(t, flow.Tensor) and _local(t) and id(t) not in seen:
                        seen.add(id(t))
                        tensors.append(t)
            self.values = _Values(tensors) if tensors else None
            self.rng = flow.get_rng_state()  # (it waits for the work queued before)

    def restore(self, keep_flags: Optional[set] = None) -> None:
        """Put everything back, but the training flag of the modules in ``keep_flags`` (ids:
        another thread set it during the count), which is left as that thread set it."""
        for m, saved in self.dicts:
            now = m.__dict__
            # most modules hold the very same objects under the same names (C-level checks)
            if len(now) == len(saved) and all(map(is_, now.values(), saved.values())) \
                    and now.keys() == saved.keys():
                continue
            for k, v in saved.items():
                if now.get(k, now) is not v and not (keep_flags and k == "training"
                                                     and id(m) in keep_flags):
                    now[k] = v
            if len(now) != len(saved):  # now holds every saved key: the rest were added
                for k in [k for k in now if k not in saved]:
                    del now[k]
        for container, items in self.containers.values():
            if items or container:  # (most are hook dicts, empty before and after)
                refill(container, items)
        if self.values is None and self.rng is None:
            return
        # one wait for the queued work for all the tensors and the RNG, not one per tensor
        # (each ``numpy()`` waits for OneFlow's queue: milliseconds per buffer, a few hundred
        # buffers in a CNN made the eager count cost several forwards)
        with flow.no_grad():
            flags = self.values.check() if self.values is not None else []
            if self.rng is not None:
                now = flow.get_rng_state()  # it waits for the forward's work, its draws included
                flags.append(flow.ones(1, dtype=flow.bool) if tuple(now.shape) != tuple(self.rng.shape)
                             else (now != self.rng).any().reshape(1))
            changed = (flags[0] if len(flags) == 1 else flow.cat(flags)).numpy().tolist() if flags else []
        if self.values is not None:
            self.values.put_back(changed[:len(self.values.chunks)])
        if self.rng is not None and changed[-1]:
            flow.set_rng_state(self.rng)


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
    keys = _claim(modules)
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
            state.restore(keep_flags={id(m) for m in _flipped(modules, training)}, )
    finally:
        _release(keys)


def _flipped(modules: List[nn.Module], training: Optional[bool]) -> List[nn.Module]:
    """The modules whose training flag is no longer what the count set (another thread's)."""
    if training is None:
        return []
    return [m for m in modules if m.__dict__.get("training", training) != training]


@contextlib.contextmanager
def counting_view(model: nn.Module, training: Optional[bool] = False, *, new_params: bool = False,
                  run: bool = False,
                  modules: Optional[List[nn.Module]] = None) -> Iterator[Tuple[nn.Module, Dict[int, Any]]]:
    """Claim ``model``'s modules (as :func:`counting_state` does) and give the body a private
    view of the model (:func:`flowflops.runtime.view.model_view`) in eval mode with gradients
    off (``training=True``: training mode, gradients on; ``None``: the flags and grad mode as
    they are when the view is taken), and the map from the user's objects to the view's. The
    user's modules, flags, hooks and (``new_params``) parameters are never touched, so another
    thread using the model meanwhile sees nothing of the count and keeps whatever it sets; what
    the body changes in containers the view shares with the model (two levels down, as
    :func:`counting_state`) is put back.

    ``run=True`` (an eager count: the body runs the view's forward) also saves the tensor
    values a forward may write in place and the RNG, as :func:`counting_state` does, and the
    view's forward hook dicts call the user's hooks with the user's own modules
    (:class:`flowflops.runtime.view.UserHook`). OneFlow's BatchNorm buffers are saved only with
    ``training=None``: in eval mode they are not written, and no other thread can put the
    view's layers in training mode (saving them would undo the statistics another thread's
    training writes meanwhile). ``modules``: the model's modules, each once, in
    ``model.modules()`` order, where the caller has them."""
    from .view import call_hooks_of_users, calls_to_view, model_view

    if modules is None:
        modules = _unique_modules([model])
    keys = _claim(modules)
    try:
        shared: List[Tuple[Any, int]] = []
        view, memo = model_view(model, new_params=new_params, modules=modules, shared=shared)
        views = [memo[id(m)] for m in modules]
        if run:
            call_hooks_of_users(memo, modules)
        state = ModelState(views, values=run, layer_values=training is None, norms=False, shared=shared)
        try:
            redirect = calls_to_view(memo, modules) if run else contextlib.nullcontext()
            if training is None:
                with redirect:
                    yield view, memo
                return
            _set_training(views, training)
            for v in views:  # a module whose train()/eval() does work, as in counting_state
                if type(v).train is not nn.Module.train:
                    v.train(training)
            with (flow.enable_grad() if training else flow.no_grad()), redirect:
                yield view, memo
        finally:
            state.restore()
    finally:
        _release(keys)


def _plain_flag(kind: type) -> bool:
    """Whether ``module.training = flag`` on a module of ``kind`` only binds the attribute
    (OneFlow's ``Module.__setattr__``, no ``training`` on the class: a property, a slot)."""
    plain = _PLAIN_FLAG.get(kind)
    if plain is None:
        plain = _PLAIN_FLAG[kind] = (kind.__setattr__ is nn.Module.__setattr__
                                     and all("training" not in vars(c) for c in kind.__mro__))
    return plain


_PLAIN_FLAG: Dict[type, bool] = {}


def _set_training(views: List[nn.Module], training: bool) -> None:
    """``v.training = training`` for each of the count's ``views`` (their ``__dict__`` is
    the count's own): written into the ``__dict__`` where that is all the assignment does."""
    for v in views:
        d = object.__getattribute__(v, "__dict__")
        if _plain_flag(type(v)) and not ("training" in d.get("_parameters", ()) or "training" in d.get(
                "_buffers", ()) or "training" in d.get("_modules", ())):
            d["training"] = training
        else:
            v.training = training
