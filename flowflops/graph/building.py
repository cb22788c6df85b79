"""Compiling an ``nn.Graph`` for a count without touching anything the user owns.

- :func:`build_job` compiles under one process-wide lock (OneFlow's job-build context is
  global: two compiles at once in two threads break each other) and stops right after
  OneFlow's compile passes, once ``_full_job_proto`` exists: OneFlow's next step allocates the
  graph's output tensors (``flow.empty`` of the full output shape, twice for its output buffer),
  which can abort the process for a huge input, and which a count never reads. Leaving by an
  exception at that point unwinds OneFlow's own context managers (the job-build context is
  closed, the scope stack popped, lazy mode switched off), as any failing ``build`` does.
- While a count compiles, ``nn.Graph._compile`` (what a graph's first call runs) takes the
  same lock, so the user's own graph whose first call starts meanwhile in another thread waits
  for the count's compile instead of failing in OneFlow ("cur job not leave before you enter
  this job_name"). The wrapper is only a wait in front of OneFlow's own method, installed for
  the count's compile and taken out after it (:func:`_users_compiles_wait`).
- :func:`copy_graph` makes a fresh graph with the user's graph's configuration and views of
  its modules, optimizers and schedulers, so the user's ``nn.Graph`` is never compiled in
  place (a graph compiles only once: after ``build_graph`` the user's own first call would
  fail with "job name already exist") and none of its objects is written.
- A Ctrl-C during a compile is held until the compile has ended and everything is put back
  (:mod:`flowflops.interrupts`), also while the model's forward is being traced: OneFlow keeps
  global state for a build (its scope stack, the job being built) that a ``KeyboardInterrupt``
  raised at an arbitrary point of its tracing code can leave half updated, after which the
  next compile in the process can crash. Compiles take seconds, not minutes.
- After every compile, stopped or failed, :func:`~flowflops.graph.free_tensors.forget_build`
  clears what OneFlow keeps of an unfinished build (its tensor-name table, the session's
  references to captured tensors), which would otherwise abort a later compile.
"""
from __future__ import annotations

import contextlib
import copy as copy_module
import itertools
import os
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional

import oneflow as flow

from .free_tensors import KeepsVariableTable

__all__ = ["COMPILE_LOCK", "CountGraphMixin", "build_job", "copy_graph", "optimizers_view"]


#: One compile at a time in this process (the job-build context is global).
COMPILE_LOCK = threading.RLock()


def _after_fork_in_child() -> None:
    global COMPILE_LOCK
    if not COMPILE_LOCK._is_owned():  # type: ignore[attr-defined]  # held by a thread now gone
        COMPILE_LOCK = threading.RLock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _waiting(compile_fn: Callable[..., Any]) -> Callable[..., Any]:
    def _compile(self: Any, *args: Any, **kwargs: Any) -> Any:
        with COMPILE_LOCK:  # a count's compile holds it: wait for it (the same thread re-enters)
            return compile_fn(self, *args, **kwargs)

    setattr(_compile, "__wrapped__", compile_fn)
    return _compile


@contextlib.contextmanager
def _users_compiles_wait() -> Iterator[None]:
    """For the count's compile (entered with :data:`COMPILE_LOCK` held): ``nn.Graph._compile``
    waits for the lock, so a graph whose first call starts in another thread meanwhile compiles
    after the count's, instead of breaking both (OneFlow 0.9 has one job-build context per
    process). OneFlow's method (or whatever the class held) is put back afterwards, unless
    something else replaced the wrapper meanwhile."""
    cls = flow.nn.Graph
    previous = cls.__dict__["_compile"]
    wrapper = _waiting(previous)
    cls._compile = wrapper
    try:
        yield
    finally:
        if cls.__dict__.get("_compile") is wrapper:
            cls._compile = previous


def check_no_other_build() -> None:
    """Refuse to compile while another ``nn.Graph`` is being built in this process (the user's
    own, in another thread, or the one whose ``build`` called this count): OneFlow 0.9 has one
    job-build context per process, and a second build breaks both ("cur job not leave before
    you enter this job_name")."""
    try:
        name = flow._oneflow_internal.JobBuildAndInferCtx_GetCurrentJobName()
    except Exception:  # no job, or the last one closed: nothing is being built
        return
    from ..errors import CountError

    raise CountError(
        f"another nn.Graph ({name!r}) is being compiled in this process, and OneFlow 0.9 builds "
        "one graph at a time (two at once break each other): count once it is built, or hold "
        "flowflops.graph.building.COMPILE_LOCK around your own graph's first call so that it "
        "and the counts take turns"
    )


def check_process() -> None:
    """Refuse a compile in a child made by ``os.fork()`` (a DataLoader worker, multiprocessing's
    fork start method): OneFlow 0.9 cannot complete a graph compile there (it waits for its
    runtime threads, which the child does not have: it hangs for good, counted or not), and a
    count's compile must complete one to leave OneFlow clean
    (:func:`~flowflops.graph.free_tensors.forget_build`)."""
    from ..runtime.guard import forked_child

    if forked_child():
        from ..errors import CountError

        raise CountError(
            "this process was made by os.fork() after OneFlow started, and OneFlow 0.9 cannot "
            "complete a graph compile in such a process (it hangs waiting for the parent's "
            "runtime threads, with or without flowflops): count with mode='eager' here, or "
            "count in the parent process (or start workers with multiprocessing's 'spawn')"
        )
_ids = itertools.count()


class _JobReady(Exception):
    """Raised by :class:`CountGraphMixin` once the compiled job exists."""


class CountGraphMixin(KeepsVariableTable):
    """For graphs flowflops compiles: stop after the compile passes (no output tensors are
    allocated) and print nothing."""

    def _Graph__rebuild_outputs(self, out2name: Any = None) -> None:  # noqa: N802 (OneFlow's name)
        raise _JobReady

    def _Graph__print(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        return None


def build_job(graph: flow.nn.Graph, args: tuple, kwargs: Dict[str, Any]) -> Any:
    """Compile ``graph`` on the inputs, under :data:`COMPILE_LOCK`; returns the compiled job
    (``_full_job_proto``). A :class:`CountGraphMixin` graph stops once the job exists. Errors
    of the build propagate as they are."""
    from ..eager.functional import suspended
    from .free_tensors import forget_build

    with COMPILE_LOCK, _users_compiles_wait(), suspended():
        check_no_other_build()  # under the lock: a user's compile holding it has finished
        try:
            graph.build_graph(*args, **kwargs)
        except _JobReady:
            pass
        finally:
            forget_build(graph)
            # the variables the compile put in OneFlow's table (what the graph's __del__ would
            # drop whenever it runs: see KeepsVariableTable), dropped now, under the lock, when
            # no other compile is under way (checked above; later ones wait for the lock)
            flow._oneflow_internal.ResetVariableTensorMgr()
    return graph._full_job_proto


_subclasses: Dict[type, type] = {}


def _count_class(cls: type) -> type:
    sub = _subclasses.get(cls)
    if sub is None:
        sub = _subclasses[cls] = type(cls.__name__, (CountGraphMixin, cls), {})
    return sub


def copy_graph(graph: flow.nn.Graph, memo: Optional[Dict[int, Any]] = None) -> flow.nn.Graph:
    """A fresh, uncompiled graph that builds like ``graph``: the same class and ``build``, the
    same modules (the very objects), optimizers, learning-rate schedulers, grad scaler, job
    configuration, per-module stage/activation-checkpointing settings and user attributes.
    ``graph`` itself is only read; OneFlow's per-class graph counter is left as it was.

    With ``memo`` (``id(user's object) -> view object``, from
    :func:`flowflops.runtime.view.model_view` with ``new_params=True``), the copy holds the
    views of the graph's modules instead, and views of its optimizers and learning-rate
    schedulers (:func:`optimizers_view`): compiling it touches nothing the user owns."""
    counters = dict(flow.nn.Graph._child_init_cnt)
    copy: Any = object.__new__(_count_class(type(graph)))
    try:
        flow.nn.Graph.__init__(copy)
    finally:
        flow.nn.Graph._child_init_cnt.clear()
        flow.nn.Graph._child_init_cnt.update(counters)
    object.__setattr__(copy, "_name", f"{graph._name}_flowflops_{next(_ids)}")
    fresh = set(copy.__dict__)
    for key, value in graph.__dict__.items():
        if key not in fresh:
            object.__setattr__(copy, key, value)
    for name, proxy in graph._blocks.items():
        origin = proxy._oneflow_internal_origin__
        setattr(copy, name, memo.get(id(origin), origin) if memo is not None else origin)
        _copy_block_config(proxy, copy._blocks[name])
    copy.config.proto.CopyFrom(graph.config.proto)
    copy.config._outputs_buffer_size = graph.config._outputs_buffer_size
    copy._opts = optimizers_view(graph._opts, memo) if memo is not None else list(graph._opts)
    copy._grad_scaler = graph._grad_scaler
    copy._verbose = graph._verbose
    return copy


def optimizers_view(opts: List[Dict[str, Any]], memo: Dict[int, Any]) -> List[Dict[str, Any]]:
    """A graph's optimizer entries (``nn.Graph._opts``: dicts of ``"optim"``, ``"is_sparse"``
    and ``"lr_sch"``, as ``add_optimizer`` stores them) naming views instead of the user's
    objects: each optimizer an :func:`~flowflops.runtime.view.optimizer_view` over the
    parameters in ``memo`` (one view per optimizer, however many entries name it), each
    scheduler a shallow copy whose ``optimizer`` is the view of its own (OneFlow checks
    ``lr_sch.optimizer is optim``). A compile only reads them (their options, the
    schedulers' settings); the user's optimizers and schedulers are never written."""
    from ..runtime.view import optimizer_view

    views: Dict[int, Any] = {}

    def view_of(optimizer: Any) -> Any:
        got = views.get(id(optimizer))
        if got is None:
            got = views[id(optimizer)] = optimizer_view(optimizer, memo)
        return got

    out = []
    for entry in opts:
        new = dict(entry)
        new["optim"] = view_of(entry["optim"])
        sch = entry.get("lr_sch")
        if sch is not None:
            sch = copy_module.copy(sch)
            sch.optimizer = view_of(entry["lr_sch"].optimizer)
            new["lr_sch"] = sch
        out.append(new)
    return out


_BLOCK_SETTINGS = ("_stage_id", "_stage_placement", "_activation_checkpointing")


def _copy_block_config(src: Any, dst: Any) -> None:
    from oneflow.nn.graph.graph_block import GraphModule

    s_block: Optional[Any] = src.to(GraphModule) if hasattr(src, "to") else None
    d_block: Optional[Any] = dst.to(GraphModule) if hasattr(dst, "to") else None
    if isinstance(s_block, GraphModule) and isinstance(d_block, GraphModule):
        for attr in _BLOCK_SETTINGS:
            setattr(d_block, attr, getattr(s_block, attr))
    for name, child in getattr(src, "_modules", {}).items():
        other = getattr(dst, "_modules", {}).get(name)
        if other is not None:
            _copy_block_config(child, other)
