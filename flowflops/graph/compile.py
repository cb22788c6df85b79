"""Compiling an ``nn.Graph`` without running it, with one error for every engine."""
from __future__ import annotations

from typing import Any, Dict

import oneflow as flow

from ..errors import CountError, CustomHookError
from ..inputs import describe_inputs


def compile_job(graph: flow.nn.Graph, args: tuple, kwargs: Dict[str, Any], what: str, hint: str = "",
                advise: bool = False, model: Any = None) -> Any:
    """``graph.build_graph(*args, **kwargs)`` and its compiled job; a failure is a
    :class:`CountError` naming ``what`` was compiled, on which inputs, and the error, then
    ``hint`` or, with ``advise``, the cause and what to do (:func:`flowflops.advice.graph_advice`)."""
    try:
        graph.build_graph(*args, **kwargs)
    except CustomHookError:  # a user's hook, run while tracing (flowflops.graph.scopes)
        raise
    except Exception as err:
        if advise:
            from ..advice import graph_advice

            hint = graph_advice(err, model)
        raise CountError(
            f"nn.Graph could not compile {what} on the inputs {describe_inputs(args, kwargs)}: "
            f"{type(err).__name__}: {str(err).strip()}{hint}"
        ) from err
    return graph._full_job_proto
