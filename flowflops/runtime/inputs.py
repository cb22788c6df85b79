"""Turning ``input_res`` / ``input_constructor`` into the arguments of one forward call."""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import oneflow as flow
import oneflow.nn as nn

from ..errors import InputError
from .interrupts import call_user, from_signal

__all__ = [
    "Args", "check_model", "check_input_res", "first_parameter", "INT64_MAX", "available_bytes", "check_input_size",
    "default_input", "check_device", "HALF_TYPES", "half_on_cpu", "build_inputs", "is_global_model",
    "global_default_input", "call_inputs", "batch_hint", "describe_inputs", "tensors_in"
]

Args = Tuple[tuple, Dict[str, Any]]


def tensors_in(value: Any) -> Iterator[Any]:
    """The tensors in ``value`` and in its tuples, lists and dict values, depth first, in order."""
    if isinstance(value, flow.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from tensors_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from tensors_in(v)


def check_model(model: Any) -> None:
    if not isinstance(model, (nn.Module, flow.nn.Graph)):
        raise TypeError(
            f"model must be a oneflow.nn.Module (or nn.Graph), got {type(model).__name__}: "
            "pass the model object itself, e.g. flowvision.models.resnet50()"
        )


def check_input_res(input_res: Any) -> Tuple[int, ...]:
    """``input_res`` is the full input shape, batch included: a tuple (or list) of positive ints."""
    if not isinstance(input_res, (tuple, list)) or isinstance(input_res, str):
        raise TypeError(
            f"input_res must be a tuple of positive ints (the input shape, batch included), "
            f"got {type(input_res).__name__} {input_res!r}: e.g. input_res=(1, 3, 224, 224)"
        )
    if len(input_res) == 0:
        raise ValueError("input_res is empty: give the input shape, batch included, e.g. (1, 3, 224, 224)")
    for d in input_res:
        if isinstance(d, bool) or not isinstance(d, int):
            raise TypeError(
                f"input_res entries must be ints, got {d!r} ({type(d).__name__}) in {tuple(input_res)!r}"
            )
        if d <= 0:
            raise ValueError(
                f"input_res entries must be positive, got {d} in {tuple(input_res)!r}: "
                "every dimension, batch included, is at least 1"
            )
    return tuple(input_res)


def first_parameter(model: Any) -> Optional[flow.Tensor]:
    """The model's first parameter (``None`` for a model without any, or a non-module). For an
    ``nn.Graph``, the first parameter of the modules it holds (so a float64 or float16 graph
    gets an input of its own dtype)."""
    if isinstance(model, flow.nn.Graph):
        for block in getattr(model, "_blocks", {}).values():
            origin = getattr(block, "_oneflow_internal_origin__", None)
            if isinstance(origin, nn.Module):
                for p in origin.parameters():
                    return p
        return None
    params = model.parameters() if isinstance(model, nn.Module) else []
    for p in params:
        return p
    return None


INT64_MAX = 2 ** 63 - 1


def available_bytes(device: Any) -> Optional[int]:
    """Memory a new tensor on ``device`` can take now: on the CPU the least of the memory
    available, the process's address-space limit (``RLIMIT_AS``) and its control group's
    limit (:mod:`flowflops.runtime.limits`); ``None`` where it cannot be told (then nothing
    is refused)."""
    if getattr(device, "type", "cpu") != "cpu":
        return None
    from .limits import available_cpu_bytes

    return available_cpu_bytes()


def check_input_size(shape: Tuple[int, ...], itemsize: int, device: Any, materialise: bool) -> None:
    """Refuse, before anything is allocated, a shape OneFlow cannot hold (more than ``2**63-1``
    elements: it would raise ``SystemError`` or abort) and, when the input is to be allocated
    (``materialise``), one larger than the memory available now (OneFlow aborts the process
    when an allocation fails)."""
    numel = 1
    for d in shape:
        numel *= d
    if numel > INT64_MAX:
        raise InputError(
            f"input_res {shape} has {numel:,} elements, more than OneFlow's int64 sizes hold "
            f"({INT64_MAX:,}): give a smaller shape"
        )
    if not materialise:
        return
    need, have = numel * itemsize, available_bytes(device)
    if have is not None and need > have:
        raise InputError(
            f"an input of shape {shape} needs {need / 1e9:,.1f} GB and {have / 1e9:,.1f} GB "
            "of memory is available (the least of free memory, the process's address-space "
            "limit and its cgroup's memory limit): give a smaller shape, or count with "
            "mode='graph', which "
            "compiles without allocating the input"
        )


def default_input(model: Any, shape: Tuple[int, ...], materialise: bool = True) -> flow.Tensor:
    """A tensor of ones of ``shape``, with the dtype and device of the model's first parameter
    (float32 on the CPU for a model without parameters). ``materialise=False`` (graph mode,
    which only reads the input's shape): a broadcast view of a single element, which takes no
    memory whatever the shape. Raises :class:`InputError` for a shape that cannot be made."""
    ref = first_parameter(model)
    dtype, device = flow.float32, flow.device("cpu")
    if ref is not None:
        check_device(ref.device)
        dtype = ref.dtype if ref.dtype.is_floating_point else flow.float32
        device = ref.device
    check_input_size(shape, flow.ones(1, dtype=dtype).element_size(), device, materialise)
    if not materialise:
        return flow.ones(*([1] * len(shape)), dtype=dtype, device=device).expand(*shape)
    return flow.ones(*shape, dtype=dtype, device=device)


def check_device(device: Any) -> None:
    """Refuse a CUDA device on a machine without CUDA (oneflow would abort the process)."""
    if getattr(device, "type", "cpu") == "cuda" and not flow.cuda.is_available():
        raise RuntimeError(
            f"the model's parameters are on {device} but this machine has no usable CUDA: "
            "count a copy of the model on the CPU (model.to('cpu')), or run where CUDA works"
        )


HALF_TYPES = ("float16", "bfloat16")


def half_on_cpu(model: Any) -> bool:
    """True when the model's first parameter is float16/bfloat16 on the CPU, where oneflow 0.9
    has no kernels (eager mode cannot run it; graph mode compiles it fine)."""
    ref = first_parameter(model)
    if ref is None or not any(t in str(ref.dtype) for t in HALF_TYPES):
        return False
    if ref.is_global:  # a global tensor has a placement, not a device
        return bool(ref.placement.type == "cpu")
    return bool(ref.device.type == "cpu")


def build_inputs(
    model: Any, input_res: Any, input_constructor: Optional[Callable[[Any], Any]],
    materialise: bool = True,
) -> Args:
    """The ``(args, kwargs)`` of the forward call to count.

    Without ``input_constructor``: one tensor of shape ``input_res``. With it,
    ``input_constructor(input_res)`` may return a tensor (one positional argument), a tuple or
    list (positional arguments) or a dict (keyword arguments).
    """
    if input_constructor is None:
        return (default_input(model, check_input_res(input_res), materialise),), {}
    try:
        made = call_user(input_constructor, input_res)
    except Exception as err:
        if from_signal(err):  # the user's signal handler's own exception
            raise
        raise ValueError(
            f"input_constructor raised {type(err).__name__}: {err} "
            f"(it was called with input_res={input_res!r}); fix the constructor"
        ) from err
    if isinstance(made, dict):
        return (), dict(made)
    if isinstance(made, (tuple, list)):
        return tuple(made), {}
    if made is None:
        raise ValueError(
            "input_constructor returned None: return a tensor, a tuple of positional "
            "arguments or a dict of keyword arguments"
        )
    return (made,), {}


def is_global_model(model: Any) -> bool:
    """True when the model's first parameter is a global tensor."""
    p = first_parameter(model)
    return bool(p is not None and getattr(p, "is_global", False))


def global_default_input(model: Any, input_res: Any) -> flow.Tensor:
    """The default input for a global model: ones of shape ``input_res`` (logical, batch
    included), broadcast on the placement of the model's first parameter, in its dtype."""
    shape = check_input_res(input_res)
    ref = first_parameter(model)
    assert ref is not None  # a global model has a parameter
    dtype = ref.dtype if ref.dtype.is_floating_point else flow.float32
    sbp = [flow.sbp.broadcast] * len(ref.sbp)
    return flow.ones(*shape, dtype=dtype, placement=ref.placement, sbp=sbp)


def call_inputs(model: Any, input_res: Any, input_constructor: Optional[Callable[[Any], Any]],
                materialise: bool = True) -> Args:
    """The ``(args, kwargs)`` of the call every engine counts, built once, here: those of
    :func:`build_inputs`, or for a global model without ``input_constructor`` a global tensor
    of ones (:func:`global_default_input`)."""
    if input_constructor is None and is_global_model(model):
        return (global_default_input(model, input_res),), {}
    return build_inputs(model, input_res, input_constructor, materialise)


def batch_hint(input_res: Any, input_constructor: Optional[Callable[[Any], Any]]) -> str:
    """The fix for ptflops' habit of leaving out the batch dimension (ptflops adds it;
    flowflops takes the whole shape): ``" (input_res is the whole input shape, batch
    included; ptflops' (3, 224, 224) is (1, 3, 224, 224) here)"``; ``""`` when an
    ``input_constructor`` made the inputs."""
    if input_constructor is not None or not isinstance(input_res, (tuple, list)) or not input_res:
        return ""
    return (f" (input_res is the whole input shape, batch included; ptflops' {tuple(input_res)} "
            f"is {(1, *tuple(input_res))} here)")


def describe_inputs(args: tuple, kwargs: Dict[str, Any]) -> List[Any]:
    """Shapes of the tensors among the inputs (for messages and reports)."""

    def desc(v: Any) -> Any:
        if isinstance(v, flow.Tensor):
            return tuple(int(d) for d in v.shape)
        if isinstance(v, (tuple, list)):
            return [desc(x) for x in v]
        return type(v).__name__

    out: List[Any] = [desc(a) for a in args]
    out.extend({k: desc(v)} for k, v in kwargs.items())
    return out
