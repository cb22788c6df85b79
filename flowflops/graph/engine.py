"""Count a model through OneFlow's compiler: wrap it in a fresh ``nn.Graph``, compile it with
``build_graph`` (shape inference, optimisation passes, no execution) and price the job."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Optional

import oneflow as flow
import oneflow.nn as nn

from ..distributed import global_default_input, is_global_model
from ..errors import CountError
from ..guard import counting_state
from ..inputs import build_inputs, describe_inputs
from ..modules import count_params, module_tree
from ..report import ModuleInfo, Report, price_records
from .job import job_records
from .train import assign_phases


class _CountGraph(flow.nn.Graph):
    """The wrapper: ``build`` is the model's forward on the given inputs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def build(self, *args: Any, **kwargs: Any) -> Any:
        return self.model(*args, **kwargs)


def _graph_tree(graph: flow.nn.Graph) -> "OrderedDict[str, ModuleInfo]":
    """The module tree of a user's graph: its model attributes as children of the root (or the
    single model itself as the root, matching the scopes :func:`job_records` makes)."""
    models = []
    for name, proxy in getattr(graph, "_blocks", {}).items():
        origin = getattr(proxy, "_oneflow_internal_origin__", None)
        if isinstance(origin, nn.Module):
            models.append((name, origin))
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


def _compile(graph: flow.nn.Graph, args: tuple, kwargs: dict, what: str, inputs_desc: Any) -> Any:
    try:
        graph.build_graph(*args, **kwargs)
    except Exception as err:
        raise CountError(
            f"nn.Graph could not compile {what} on the inputs {inputs_desc}: "
            f"{type(err).__name__}: {err}. Graph mode needs a model nn.Graph can trace; "
            "count it with mode='eager' instead."
        ) from err
    return graph._full_job_proto


def profile_graph(
    model: Any, input_res: Any, input_constructor: Optional[Callable[[Any], Any]]
) -> Report:
    """Graph-mode count of an ``nn.Module`` (compiled in a fresh wrapper, in eval mode, not run)
    or of a user's ``nn.Graph`` (as configured; compiled with the inputs if it is not yet)."""
    if isinstance(model, flow.nn.Graph):
        graph = model
        if not graph._is_compiled:
            args, kwargs = build_inputs(None, input_res, input_constructor)
            inputs = describe_inputs(args, kwargs)
            job = _compile(graph, args, kwargs, type(graph).__name__, inputs)
        else:
            inputs, job = [], graph._full_job_proto
        entries = price_records(assign_phases(job, job_records(job)))  # phases: training graphs
        return Report(entries, _graph_tree(graph), mode="graph", inputs=inputs)

    if input_constructor is None and is_global_model(model):
        # a global model needs a global input: ones, broadcast on its first parameter's placement
        args, kwargs = (global_default_input(model, input_res),), {}
    else:
        args, kwargs = build_inputs(model, input_res, input_constructor)
    inputs = describe_inputs(args, kwargs)
    with counting_state(model):
        job = _compile(_CountGraph(model), args, kwargs, type(model).__name__, inputs)
    entries = price_records(job_records(job))
    return Report(entries, module_tree(model), mode="graph", inputs=inputs)
