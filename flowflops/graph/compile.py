"""Compiling an ``nn.Graph`` without running it, with one error for every engine."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import oneflow as flow
import oneflow.nn as nn

from ..errors import CountError, CustomHookError
from ..runtime.inputs import describe_inputs
from .building import build_job
from .free_tensors import fresh_free_tensors


def graph_models(graph: flow.nn.Graph) -> List[Tuple[str, nn.Module]]:
    """``(attribute name, module)`` of each module an ``nn.Graph`` holds (behind its proxies)."""
    out = []
    for name, proxy in getattr(graph, "_blocks", {}).items():
        origin = getattr(proxy, "_oneflow_internal_origin__", None)
        if isinstance(origin, nn.Module):
            out.append((name, origin))
    return out


def compile_job(graph: flow.nn.Graph, args: tuple, kwargs: Dict[str, Any], what: str, hint: str = "",
                advise: bool = False, model: Any = None) -> Any:
    """``graph.build_graph(*args, **kwargs)`` and its compiled job; a failure is a
    :class:`CountError` naming ``what`` was compiled, on which inputs, and the error, then
    ``hint`` or, with ``advise``, the cause and what to do (:func:`flowflops.advice.graph_advice`).
    The graph captures fresh objects for the model's free eager tensors (see
    :mod:`flowflops.graph.free_tensors`: OneFlow 0.9 would abort the process on the next graph
    that captures the same tensor)."""
    try:
        with fresh_free_tensors(m for _, m in graph_models(graph)):
            return build_job(graph, args, kwargs)
    except CustomHookError:  # a user's hook, run while tracing (flowflops.graph.scopes)
        raise
    except Exception as err:
        if advise:
            from ..runtime.advice import graph_advice

            hint = graph_advice(err, model)
        raise CountError(
            f"nn.Graph could not compile {what} on the inputs {describe_inputs(args, kwargs)}: "
            f"{type(err).__name__}: {str(err).strip()}{hint}"
        ) from err
