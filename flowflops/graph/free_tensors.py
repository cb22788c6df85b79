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
and, where the build captured a free eager tensor (or failed half way), completes the compile
of a one-op graph (``x + 1`` on one element: about 25 ms), whose ``CompileAndInitRuntime``
clears the name table as any complete compile does. Nothing is kept past its count, and the
user's tensor objects are never replaced.

Complete compiles are a budget: each takes three stream indices of OneFlow's 4,095 per
process, never given back, and the 4,096th aborts the process (``stream_id.h: Check failed:
stream_index <= kMaxStreamIndex``, after about 1,365 complete compiles, the user's own
included). So the name table is cleared only where a count's build captured a free tensor
(a model without one, most models, costs no complete compile), and after
:data:`CLEAR_BUDGET` such clears a graph count is refused with a :class:`~flowflops.CountError`
(count in a new process, or in eager mode) instead of letting OneFlow abort. What is left
after a build without free tensors: the names of its lazy tensors, at addresses a later eager
tensor may reuse (OneFlow's own failed builds leave the same).
"""
from __future__ import annotations

import os
from typing import Any

import oneflow as flow

__all__ = ["KeepsVariableTable", "forget_build", "clear_names"]


#: complete compiles (name-table clears) flowflops may make in one process: 1,000 of the about
#: 1,365 OneFlow 0.9 allows (3 of its 4,095 stream indices each), the rest left to the user
CLEAR_BUDGET = 1000


class _Budget:
    clears = 0


def check_budget() -> None:
    """Refuse a compile once :data:`CLEAR_BUDGET` name-table clears were made (see the module
    docstring): past that, OneFlow would abort the process."""
    if _Budget.clears >= CLEAR_BUDGET:
        from ..errors import CountError

        raise CountError(
            f"this process made {_Budget.clears} graph compiles of models with free tensors "
            "(tensors a forward uses that are neither parameters nor buffers), and OneFlow 0.9 "
            "aborts the process after about 1,365 complete compiles (it never gives back their "
            "stream indices): count in a new process, count with mode='eager', or make those "
            "tensors buffers (register_buffer), which costs nothing"
        )


def captured_free_tensors(graph: flow.nn.Graph) -> bool:
    """Whether ``graph``'s build captured a free eager tensor (OneFlow names its variable op
    ``<scope>-FreeEagerTensor-<n>``); ``True`` when the build did not get as far as its job."""
    job = getattr(graph, "_full_job_proto", None)
    if job is None:
        return True
    return any(op.HasField("variable_conf") and "FreeEagerTensor" in op.name for op in job.net.op)


_MLIR_ENV = "ONEFLOW_MLIR_ENABLE_INFERENCE_OPTIMIZATION"


class KeepsVariableTable:
    """For graphs flowflops compiles: OneFlow's ``nn.Graph.__del__`` without its
    ``ResetVariableTensorMgr()``. That call empties the process-wide table of variables a
    compile fills (its state tensors by op name) and reads back at its end; run whenever the
    graph object goes (when a count returns: right after it released the compile lock, just as
    a user's graph that waited for the lock starts compiling), it wiped the user's entries, and
    the user's compile failed with "model.weight must be a variable created in nn.Graph".
    :func:`flowflops.graph.building.build_job` empties the table itself, under the lock, once
    the count's compile has ended. (What else OneFlow's ``__del__`` does: wait for the graph's
    runs, which a count's graph never has, and put back an MLIR environment setting, kept.)"""

    def __del__(self) -> None:
        saved = getattr(self, "env_enable_mlir_inference_opt", None)
        if saved is not None and os.getenv(_MLIR_ENV) is None:
            os.environ[_MLIR_ENV] = saved


class _ClearNames(KeepsVariableTable, flow.nn.Graph):
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

    # only the graph's name matters to the session (its free tensors are kept by name): a job
    # holding the name alone, not the compiled job (serialising a whole job costs a few % of a
    # count)
    job = job_pb2.Job()
    job.job_conf.job_name = graph._name
    job_id = getattr(graph, "_job_id", 0) or 0
    serialized = job.SerializeToString()
    c_graph = flow._oneflow_internal.nn.graph.CNNGraph(graph._name, serialized, job_id, session._session_ctx)
    del c_graph  # its Close() removes the graph's free eager tensors from the session
    if captured_free_tensors(graph):
        clear_names()


def clear_names() -> None:
    """Clear OneFlow's tensor-name table by completing the compile of a one-op graph (about
    25 ms; one of the :data:`CLEAR_BUDGET` clears). Under the compile lock, where a build may
    run in another thread."""
    _Budget.clears += 1
    clear = _ClearNames()
    with flow.no_grad():
        clear._compile(flow.zeros(1))
    del clear
