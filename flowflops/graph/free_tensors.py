"""Free eager tensors (tensors a model's ``forward`` uses that are neither parameters nor
buffers: a plain tensor attribute, a module-level constant, a tensor in a list, a dict, a
tuple, an object's or a class's attribute, a default argument, a closure, a
``functools.partial``) and what a count's compile leaves in OneFlow.

OneFlow 0.9 names every tensor a graph build touches in one process-wide table keyed by the
tensor's address (``TensorNameScope``); a free eager tensor found there is taken for one the
current build already captured. OneFlow clears the table only at the end of a *complete*
compile (``NNGraph::CompileAndInitRuntime``). A count stops its compile before that (it never
allocates the graph's outputs or runtime), so without more the table would keep the count's
names: the next graph capturing the same tensor (a second count, the user's own ``nn.Graph``),
or a new tensor at the address of a freed one, aborts the whole process
(``operator.cpp: Check failed: 'blob_desc' Must be non NULL``: SIGABRT, no exception).
OneFlow also keeps every free eager tensor a build captured, by the graph's name, in its
session until a C++ graph of that name is closed.

:func:`forget_build` undoes both after each of flowflops' compiles, whatever holds the tensor:
it closes a C++ graph of the built graph's name (the session lets go of the captured tensors)
and completes the compile of a one-op graph (``x + 1`` on one element: about 25 ms), whose
``CompileAndInitRuntime`` clears the name table as any complete compile does. Nothing is kept
past its count, and the user's tensor objects are never replaced.
"""
from __future__ import annotations

from typing import Any

import oneflow as flow

__all__ = ["forget_build"]


class _ClearNames(flow.nn.Graph):
    """A one-op graph: completing its compile clears OneFlow's tensor-name table."""

    def build(self, x: Any) -> Any:
        return x + 1


def forget_build(graph: flow.nn.Graph) -> None:
    """After ``graph``'s compile was stopped early (or failed): drop the session's references
    to the tensors it captured and clear OneFlow's tensor-name table (see the module
    docstring). Call it under the compile lock, in the thread that compiled."""
    from oneflow.framework import session_context

    session = session_context.GetDefaultSession()
    from oneflow.core.job import job_pb2

    job = getattr(graph, "_full_job_proto", None)
    if job is None:  # the build failed before its job was complete: only the name matters
        job = job_pb2.Job()
        job.job_conf.job_name = graph._name
    job_id = getattr(graph, "_job_id", 0) or 0
    serialized = job.SerializeToString()
    c_graph = flow._oneflow_internal.nn.graph.CNNGraph(graph._name, serialized, job_id, session._session_ctx)
    del c_graph  # its Close() removes the graph's free eager tensors from the session
    clear = _ClearNames()
    with flow.no_grad():
        clear._compile(flow.zeros(1))
    del clear
