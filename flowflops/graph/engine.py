"""Count a model through OneFlow's compiler: wrap it in a fresh ``nn.Graph``, compile it with
``build_graph`` (shape inference, optimisation passes, no execution) and read the job's op
records."""
from __future__ import annotations

import contextlib
import dataclasses
import types
from collections import OrderedDict
from typing import Any, Dict, List, Optional

import oneflow as flow
import oneflow.nn as nn

from ..errors import CountError
from ..runtime.guard import counting_view
from ..runtime.inputs import describe_inputs
from ..runtime.modules import alias_paths, canonical_path, count_params, module_tree
from ..records import ModuleInfo, OpRecord, Trace
from .building import CountGraphMixin, copy_graph
from .compile import compile_job, graph_models, stand_ins
from .job import job_records
from .proxies import graph_output, truthful_proxies
from .repeats import Relend, RepeatCall, Repeats, Retrace, active, returned
from .train import assign_phases
from .values import Reads, reading, recorded_reads, reads_values

__all__ = ["trace_graph"]


class _CountGraph(CountGraphMixin, flow.nn.Graph):
    """The wrapper: ``build`` is the model's forward on the given inputs."""

    def __init__(self, model: nn.Module, repeats: bool = False) -> None:
        super().__init__()
        self.model = model
        truthful_proxies(self, RepeatCall if repeats else None)

    def build(self, *args: Any, **kwargs: Any) -> Any:
        return returned(graph_output(self.model(*args, **kwargs)))


def _traceable(model: nn.Module) -> None:
    """Two things eager OneFlow runs and OneFlow 0.9's graph proxies do not, made traceable for
    the compile. Call it on the count's view of the model (:func:`counting_view`), whose
    ``_modules`` and ``__dict__`` are its own: the user's modules are not touched.

    - Each submodule slot that holds ``None`` (``self.proj = None`` after ``self.proj =
      nn.Linear(...)``: PyTorch and eager OneFlow allow it; Conditional DETR's decoder does it
      on every layer but the first) becomes a plain attribute of ``None``: the proxies raise a
      bare ``NotImplementedError`` on such a slot, and read a plain attribute as it is.
    - A module whose class overrides ``__call__`` and has no ``forward`` of its own (Hugging
      Face BiT's ``DynamicPad2d``, in BiT and ViT-hybrid) gets its ``__call__`` as its
      ``forward``: a proxy calls the module's ``forward`` (the bare ``nn.Module.forward``
      raises an empty ``NotImplementedError``), where eager OneFlow calls ``__call__``."""
    for m in model.modules():
        for name in [k for k, v in m._modules.items() if v is None]:
            del m._modules[name]
            m.__dict__[name] = None
        cls = type(m)
        if cls.forward is nn.Module.forward and cls.__call__ is not nn.Module.__call__:
            m.__dict__["forward"] = types.MethodType(cls.__call__, m)


def _graph_tree(graph: flow.nn.Graph) -> "OrderedDict[str, ModuleInfo]":
    """The module tree of a user's graph: its model attributes as children of the root (or the
    single model itself as the root, matching the scopes :func:`job_records` makes)."""
    models = graph_models(graph)
    if len(models) == 1:
        return module_tree(models[0][1])
    tree: "OrderedDict[str, ModuleInfo]" = OrderedDict()
    root = ModuleInfo(type(graph).__name__)
    tree[""] = root
    for name, m in models:
        sub = module_tree(m)
        for path, info in sub.items():
            full = f"{name}.{path}" if path else name
            info.children = [(c, f"{name}.{cp}") for c, cp in info.children]
            tree[full] = info
        root.children.append((name, name))
        total, trainable = count_params(m)
        root.params += total
        root.trainable_params += trainable
    return tree


def _compile_user_graph(graph: flow.nn.Graph, args: tuple, kwargs: Dict[str, Any]) -> Any:
    """Compile a copy of the user's uncompiled graph (the graph itself stays uncompiled and
    usable) that holds views of its modules, with parameters of the count's own, and views of
    its optimizers and learning-rate schedulers bound to those parameters
    (:func:`~flowflops.graph.building.copy_graph` with a memo): the user's modules, flags,
    ``.grad``, optimizers and schedulers are never touched (compiling ``loss.backward()``
    leaves lazy gradients on the view's parameters), so another thread training the same
    model meanwhile sees nothing of the count. Several models of one graph (sharing modules or
    not) are viewed together, so a module they share has one view. An input that requires
    grad is compiled as a stand-in (:func:`~flowflops.graph.compile.stand_ins`): its own ``.grad`` is never touched."""
    from .train import detached_grads, trained_tensors

    models = graph_models(graph)
    holder = nn.Module()  # the graph's models as one tree, viewed at once
    for name, m in models:
        holder._modules[name] = m
    with counting_view(holder, training=None, new_params=True) as (_, memo):
        copy = copy_graph(graph, memo)
        mine = {id(v) for v in memo.values()}
        # tensors an optimizer trains that no module of the graph holds (OneFlow refuses
        # those that require grad): their own .grad is put back
        others = [t for t in trained_tensors([], [opt["optim"] for opt in copy._opts]) if id(t) not in mine]
        with detached_grads(others):
            return compile_job(copy, stand_ins(args), stand_ins(kwargs), type(graph).__name__, advise=True)



def _compile_module(model: nn.Module, args: tuple, kwargs: Dict[str, Any], reads: Optional[Reads] = None) -> Any:
    """The compiled job of ``model`` on the inputs, every call traced (no repeats), with
    ``reads`` replayed when given (:mod:`flowflops.graph.values`)."""
    with counting_view(model) as (view, _), (reading(reads) if reads is not None else contextlib.nullcontext()):
        _traceable(view)
        return compile_job(_CountGraph(view), args, kwargs, type(model).__name__, advise=True, model=model)


def _compile_with_values(model: nn.Module, args: tuple, kwargs: Dict[str, Any], err: CountError) -> Any:
    """The compile ``err`` stopped, again, with the numbers the forward reads from its tensors
    taken from one eager run (:mod:`flowflops.graph.values`); ``err`` when the eager run fails
    or the compile still does."""
    reads = recorded_reads(model, args, kwargs)
    if reads is None:
        raise err
    try:
        return _compile_module(model, args, kwargs, reads)
    except CountError:
        raise err from err.__cause__


def trace_graph(model: Any, args: tuple, kwargs: Dict[str, Any], repeats: str = "trace") -> Trace:
    """Graph-mode records of an ``nn.Module`` (compiled in a fresh wrapper, in eval mode, on
    ``args``/``kwargs``, not run) or of a user's ``nn.Graph`` (as configured; compiled with
    the inputs if it is not yet, read as it is otherwise). ``repeats="once"``: an
    ``nn.Module``'s repeated blocks are traced once (:mod:`flowflops.graph.repeats`)."""
    inputs = describe_inputs(args, kwargs)
    if isinstance(model, flow.nn.Graph):
        if model._is_compiled:
            job, inputs = model._full_job_proto, []
        else:
            job = _compile_user_graph(model, args, kwargs)
        # phases: training graphs
        return Trace(assign_phases(job, job_records(job)), _graph_tree(model), "graph", inputs)
    records: Optional[List[OpRecord]] = None
    try:
        for lend in ((True, False) if repeats == "once" else ()):
            state = Repeats(lend)
            with counting_view(model) as (view, _), active(state):
                _traceable(view)
                job = compile_job(_CountGraph(view, True), args, kwargs, type(model).__name__, advise=True,
                                  model=model)
            try:
                records = state.expand(job_records(job), "model")  # the wrapper's attribute
            except Relend:  # an op read a tensor lent to a copy: every copy's tensors marked
                continue
            except Retrace:
                pass
            break
        if records is None:
            records = job_records(_compile_module(model, args, kwargs))
    except CountError as err:
        if not reads_values(err):
            raise
        records = job_records(_compile_with_values(model, args, kwargs, err))
    aliases = alias_paths(model)  # a module called through a second name: its first name
    if aliases:
        records = [dataclasses.replace(r, module=canonical_path(r.module, aliases)) for r in records]
    return Trace(records, module_tree(model), "graph", inputs)
