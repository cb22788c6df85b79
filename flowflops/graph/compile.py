"""Compiling an ``nn.Graph`` without running it, with one error for every engine."""
from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Tuple

import oneflow as flow
import oneflow.nn as nn

from ..errors import CountError, CustomHookError
from ..runtime.inputs import describe_inputs
from .building import build_job, check_process
from .free_tensors import check_budget

__all__ = ["graph_models", "check_compilable", "compile_job", "stand_ins"]


def graph_models(graph: flow.nn.Graph) -> List[Tuple[str, nn.Module]]:
    """``(attribute name, module)`` of each module an ``nn.Graph`` holds (behind its proxies)."""
    out = []
    for name, proxy in getattr(graph, "_blocks", {}).items():
        origin = getattr(proxy, "_oneflow_internal_origin__", None)
        if isinstance(origin, nn.Module):
            out.append((name, origin))
    return out


def input_tensors(value: Any, path: str) -> Iterator[Tuple[str, Any]]:
    """``(where, tensor)`` for every tensor in a call's arguments (nested lists, tuples, dicts)."""
    if isinstance(value, flow.Tensor):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from input_tensors(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from input_tensors(v, f"{path}[{k!r}]")


def stand_ins(value: Any) -> Any:
    """``value`` (a call's arguments, tensors in lists, tuples and dicts) with every eager
    tensor that requires grad replaced by a new leaf on the same memory that requires grad
    too: the same shapes, dtypes and placements, so the same job, but the lazy ``.grad`` that
    compiling ``loss.backward()`` leaves lands on the stand-in (on the user's input it would
    break the next eager ``backward()`` through it: "This is a oneflow bug")."""
    if isinstance(value, flow.Tensor):
        return value.detach().requires_grad_() if value.requires_grad and not value.is_lazy else value
    if type(value) in (list, tuple):
        return type(value)(stand_ins(v) for v in value)
    if type(value) in (dict, OrderedDict):
        return type(value)((k, stand_ins(v)) for k, v in value.items())
    return value


def _slashed_names(model: nn.Module) -> Iterator[Tuple[str, str]]:
    """``(kind, name)`` of each submodule, parameter and buffer of ``model`` whose name (as
    ``named_modules()`` / ``named_parameters()`` / ``named_buffers()`` give it) holds a ``/``,
    submodules first, from one walk of the model."""
    modules = list(model.named_modules())
    for name, _ in modules:
        if "/" in name:
            yield "submodule", name
    for kind, table in (("parameter", "_parameters"), ("buffer", "_buffers")):
        seen = set()  # as named_parameters() / named_buffers(): each tensor once, at its first name
        for prefix, m in modules:
            for key, t in getattr(m, table).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                if "/" in key or "/" in prefix:
                    yield kind, f"{prefix}.{key}" if prefix else key


def check_compilable(graph: flow.nn.Graph, args: tuple, kwargs: Dict[str, Any], what: str) -> None:
    """Refuse, with a :class:`CountError` naming the fix, what OneFlow 0.9's compiler would
    abort the process on (SIGABRT, no exception) rather than report:

    - a ``/`` in a submodule's, parameter's or buffer's name (``add_module("a/b", ...)``):
      OneFlow's op names use ``/`` as the separator of an op and its output
      (``user_op.cpp: Check failed: ret.op_name() == op_conf().name()``);
    - an input tensor whose first dimension is 0 (an empty batch): graph inputs must hold at
      least one row (``interface_op_util.cpp: Check failed: shape().At(0) > 0``).
    """
    check_process()
    check_budget()
    for attr, model in graph_models(graph):
        for kind, name in _slashed_names(model):
            raise CountError(
                f"{what} has a {kind} named {name!r}: OneFlow's graph compiler aborts the "
                "process on a '/' in a name (it separates an op from its outputs), so it "
                "is not compiled: rename it (e.g. with '_' instead of '/'), or count "
                "with mode='eager'"
            )
    for where, t in itertools.chain(input_tensors(args, "args"), input_tensors(kwargs, "kwargs")):
        if t.ndim >= 1 and t.shape[0] == 0:
            raise CountError(
                f"the input {where} of {what} has shape {tuple(t.shape)}, an empty batch: "
                "OneFlow's graph compiler aborts the process on a graph input whose first "
                "dimension is 0, so it is not compiled: give inputs with at least one row "
                "(input_res / input_constructor), or count with mode='eager'"
            )


def compile_job(graph: flow.nn.Graph, args: tuple, kwargs: Dict[str, Any], what: str, hint: str = "",
                advise: bool = False, model: Any = None) -> Any:
    """``graph.build_graph(*args, **kwargs)`` and its compiled job; a failure is a
    :class:`CountError` naming ``what`` was compiled, on which inputs, and the error, then
    ``hint`` or, with ``advise``, the cause and what to do (:func:`flowflops.advice.graph_advice`).
    What OneFlow keeps of the unfinished build is cleared afterwards (see
    :mod:`flowflops.graph.free_tensors`: OneFlow 0.9 would abort the process on the next graph
    that captures the same tensor)."""
    check_compilable(graph, args, kwargs, what)
    try:
        return build_job(graph, args, kwargs)
    except (CustomHookError, CountError):  # a user's hook, run while tracing
        raise                                # (flowflops.graph.scopes); another build running
    except Exception as err:
        if advise:
            from ..runtime.advice import graph_advice

            hint = graph_advice(err, model)
        from ..runtime.advice import reason_lines

        reason, rest = reason_lines(err)  # the advice on the line of the cause
        raise CountError(
            f"nn.Graph could not compile {what} on the inputs {describe_inputs(args, kwargs)}: "
            f"{type(err).__name__}: {reason}{hint}{rest}"
        ) from err
