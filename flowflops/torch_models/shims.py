"""The compatibility layer: ``oneflow.mock_torch`` plus the smallest set of shims that timm
0.6.12 and transformers 4.26.1 need on oneflow 0.9.0, each listed with its reason in
:func:`_shim_table` and the finders below, all taken out again by :func:`mocked_torch`."""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import math
import sys
import types
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import oneflow as flow

from ..runtime.interrupts import passes_through

__all__ = ["MOCKED_TORCH_VERSION", "mocked_torch"]

#: the third-party packages the block may import under the mock
_MOCKED_PREFIXES = ("torch", "torchvision", "timm", "transformers", "inplace_abn")


def _is_mocked(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in _MOCKED_PREFIXES)


def _unavailable(qualname: str) -> type:
    """A stand-in for a torchvision name flowvision lacks (datasets, ops): importing it works,
    using it says why it cannot."""

    def fail(*args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            f"{qualname} is not available under flowflops.torch_models: flowvision 0.2.1 "
            "(which serves `torchvision` there) has no counterpart"
        )

    return type(qualname.rsplit(".", 1)[-1], (), {"__init__": fail, "__call__": fail})


class _TorchvisionFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``torchvision.X`` served by ``flowvision.X``: each ``torchvision`` module is a module
    whose names come from the flowvision module of the same path (``torchvision.ops.misc``:
    ``flowvision.layers``, where flowvision keeps ``FrozenBatchNorm2d``); a name flowvision
    lacks (``QMNIST``, ``Places365``...) imports as a stand-in that raises when used."""

    SOURCES = {"torchvision.ops": "flowvision.layers", "torchvision.ops.misc": "flowvision.layers"}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: Any) -> types.ModuleType:
        name = spec.name
        source_name = self.SOURCES.get(name, "flowvision" + name[len("torchvision"):])
        try:
            source: Optional[types.ModuleType] = importlib.import_module(source_name)
        except ImportError:
            source = None
        mod = types.ModuleType(name)
        mod.__path__ = []

        def __getattr__(attr: str) -> Any:
            if attr.startswith("__"):
                raise AttributeError(attr)
            if source is not None and hasattr(source, attr):
                return getattr(source, attr)
            return _unavailable(f"{name}.{attr}")

        setattr(mod, "__getattr__", __getattr__)  # PEP 562: names looked up lazily
        return mod

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def _assert(condition: Any, message: str = "") -> None:
    """``torch._assert``: an ``assert`` that survives ``python -O``."""
    if not condition:
        raise AssertionError(message)


def _false() -> bool:
    return False


def _same(fn: Any) -> Any:
    return fn


def _annotate(the_type: Any, value: Any) -> Any:
    return value


def _ignore(drop: Any = False, **kwargs: Any) -> Any:
    """``torch.jit.ignore``, used bare (``@torch.jit.ignore``) or called
    (``@torch.jit.ignore(drop=True)``); oneflow 0.9's version only supports the second, and
    turns a bare-decorated method into its inner decorator."""
    return drop if callable(drop) else _same


def _script(obj: Any, *args: Any, **kwargs: Any) -> Any:
    """``torch.jit.script`` without oneflow's warning on every call: the object itself."""
    return obj


def _jit_annotations() -> types.ModuleType:
    """``torch.jit.annotations``: the typing names timm imports from it."""
    import typing

    mod = types.ModuleType("oneflow.jit.annotations")
    for name in ("List", "Tuple", "Dict", "Optional", "Any", "Union"):
        setattr(mod, name, getattr(typing, name))
    return mod


def _full(original: Callable) -> Callable:
    """``torch.full([], v)``: a 0-d tensor (GPT-2's attention scale); oneflow 0.9 asserts on an
    empty size. Every other call goes to oneflow's own ``full``."""

    @passes_through
    def full(size: Any, fill_value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(size, (list, tuple)) and len(size) == 0:
            return original((1,), fill_value, *args, **kwargs).reshape(())
        return original(size, fill_value, *args, **kwargs)

    full.__wrapped__ = original  # type: ignore[attr-defined]
    return full


def _unique_on_host(input: Any, dim: int, sorted: bool = True, return_inverse: bool = False,
                    return_counts: bool = False) -> Any:
    """``torch.unique(input, dim=dim, ...)`` computed with numpy from the tensor's values.

    Same results as PyTorch's (checked against torch 2.14.1): the unique slices along ``dim``
    in ascending lexicographic order (``sorted`` is ignored, as PyTorch ignores it with a
    ``dim``), then the inverse indices (one per slice of ``input`` along ``dim``) and the
    counts, both int64, in that order, each only where asked for; one tensor when neither is."""
    import numpy as np

    if input.is_lazy:
        raise NotImplementedError(
            f"torch.unique(..., dim={dim}) was called on a tensor that is being traced into an "
            "nn.Graph (graph mode), whose values do not exist yet: OneFlow 0.9's unique has no "
            "`dim`, and flowflops' stand-in for it (under flowflops.torch_models) computes the "
            "result from the tensor's values. Count this model in eager mode (mode=\"eager\")")
    if input.is_global:
        raise NotImplementedError(
            f"torch.unique(..., dim={dim}) was called on a global tensor: OneFlow 0.9's unique "
            "has no `dim`, and flowflops' stand-in for it (under flowflops.torch_models) takes "
            "local tensors only. Call it on the local tensor (`x.to_local()`)")
    if input.dim() == 0:
        raise IndexError(f"torch.unique(..., dim={dim}): a 0-d tensor has no dimension {dim}")
    axis = dim + input.dim() if dim < 0 else dim
    if not 0 <= axis < input.dim():
        raise IndexError(f"torch.unique(..., dim={dim}): out of range for a tensor of "
                         f"{input.dim()} dimensions")
    values = input.detach()
    if values.dtype == flow.bfloat16:  # no numpy bfloat16; float32 holds each value exactly
        values = values.to(flow.float32)
    out, inverse, counts = np.unique(values.numpy(), axis=axis, return_inverse=True, return_counts=True)
    output = flow.tensor(out, dtype=input.dtype, device=input.device)
    extra = []
    if return_inverse:
        extra.append(flow.tensor(inverse.reshape(-1), dtype=flow.int64, device=input.device))
    if return_counts:
        extra.append(flow.tensor(counts, dtype=flow.int64, device=input.device))
    return (output, *extra) if extra else output


def _unique(original: Callable) -> Callable:
    """``torch.unique(x, dim=0, return_inverse=True)``: timm builds its relative-position
    indexes with it (CoAtNet, MaxViT, GCViT, the relpos ViTs); oneflow 0.9's unique takes no
    ``dim``. With a ``dim`` the result is computed on the host (:func:`_unique_on_host`); every
    other call goes to oneflow's own ``unique``."""

    @passes_through
    def unique(input: Any, *args: Any, dim: Optional[int] = None, **kwargs: Any) -> Any:
        last = args[-1] if len(args) == 4 else None
        if dim is None and isinstance(last, int) and not isinstance(last, bool):
            # torch.unique(x, sorted, return_inverse, return_counts, dim): oneflow's 5th is a dtype
            return _unique_on_host(input, last, *args[:3], **kwargs)
        if dim is None:
            return original(input, *args, **kwargs)
        return _unique_on_host(input, dim, *args, **kwargs)

    unique.__wrapped__ = original  # type: ignore[attr-defined]
    return unique


def _rounded_division(a: Any, b: Any, rounding_mode: str) -> Any:
    """``torch.div(a, b, rounding_mode="floor" | "trunc")`` with oneflow's own primitives:
    ``floor_divide`` and ``_C.trunc_divide``, one elementwise op each, as PyTorch's one
    ``aten::div`` (both give torch's results on negative operands: floor rounds -3.5 to -4,
    trunc to -3). Neither broadcasts two tensors of different shapes in oneflow 0.9, so they
    are expanded to the common shape first (a view); a number on the left is made a tensor of
    the other's dtype and device. oneflow 0.9's ``floor_divide`` truncates integers (-7 // 2 is
    -3 there, -4 in PyTorch), so two integer operands are floor-divided as float64 (exact for
    magnitudes below 2**52) and cast back to the wider of their integer dtypes (casts cost
    nothing)."""
    if not isinstance(a, flow.Tensor):
        a = flow.full_like(b, a)
    if isinstance(b, flow.Tensor) and tuple(a.shape) != tuple(b.shape):
        a, b = flow.broadcast_tensors(a, b)
    # the primitives are looked up at each call: a count_functional count has patched them
    if rounding_mode == "trunc":
        return flow._C.trunc_divide(a, b)
    b_integral = not b.is_floating_point() if isinstance(b, flow.Tensor) else isinstance(b, int)
    if a.is_floating_point() or not b_integral:
        return flow._C.floor_divide(a, b)
    dtype = a.dtype
    if isinstance(b, flow.Tensor) and b.element_size() > a.element_size():
        dtype = b.dtype
    b64 = b.to(flow.float64) if isinstance(b, flow.Tensor) else float(b)
    return flow._C.floor_divide(a.to(flow.float64), b64).to(dtype)


def _divided_numbers(a: Any, b: Any, rounding_mode: Optional[str]) -> Any:
    """``torch.div`` of two Python numbers: the quotient as a Python number. PyTorch gives a
    0-d tensor holding this value; the one deliberate difference. Longformer and LED use it
    only as a size (``new_zeros((..., chunks_count + 1, ...))``, ``view``), and while an nn.Graph
    is traced (graph mode) a tensor is lazy and cannot be a size; eager mode gets the same
    number, so both engines count the same (no op on 0-d tensors in one and not the other).
    Integers are divided exactly (``trunc`` toward zero, ``floor`` down, as PyTorch)."""
    if rounding_mode not in (None, "floor", "trunc"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"{rounding_mode!r}")
    if rounding_mode is None:
        return a / b
    if rounding_mode == "floor":
        return a // b
    if isinstance(a, int) and isinstance(b, int):
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q
    return float(math.trunc(a / b))


def _div(original: Callable) -> Callable:
    """``torch.div(a, b, rounding_mode=...)`` and ``Tensor.div`` (XCiT, EdgeNeXt, LayoutLMv3,
    Longformer): oneflow 0.9's ``div`` takes no ``rounding_mode``. ``"floor"`` and ``"trunc"``
    go to :func:`_rounded_division`; ``None`` (and every call without it) to oneflow's
    ``_C.div``, looked up at each call. Another mode raises ValueError, as PyTorch does.

    The stand-in is a Python function, so a ``count_functional`` count prices the primitives
    it calls (``_C.div``, ``_C.floor_divide``, ``_C.trunc_divide``), patched at call time;
    calling the captured ``original`` (a built-in the count does not patch under this name,
    and for ``Tensor.div`` one it would not even report) would leave the division uncounted."""

    @passes_through
    def div(input: Any, other: Any, *args: Any, rounding_mode: Optional[str] = None, **kwargs: Any) -> Any:
        if not isinstance(input, flow.Tensor) and not isinstance(other, flow.Tensor):
            # torch.div(seq_len, window, rounding_mode="trunc") (Longformer, LED)
            return _divided_numbers(input, other, rounding_mode)
        if rounding_mode is None:
            return flow._C.div(input, other, *args, **kwargs)
        if rounding_mode not in ("floor", "trunc") or args or kwargs:
            raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                             f"but found {rounding_mode!r}" if rounding_mode not in ("floor", "trunc")
                             else f"div(..., rounding_mode={rounding_mode!r}) takes no other arguments "
                             f"under flowflops.torch_models (got {args or ''}{kwargs or ''})")
        return _rounded_division(input, other, rounding_mode)

    div.__wrapped__ = original  # type: ignore[attr-defined]
    return div


def _sized(original: Callable, method: bool = False) -> Callable:
    """``torch.zeros(size=(2, 3))`` / ``torch.ones(size=...)`` (BEiT, CANINE) and, ``method``,
    ``x.new_ones(size=x.size())`` / ``x.new_zeros(size=...)`` (Longformer, LED): oneflow 0.9's
    take the size only positionally; ``size=`` is passed on as the positional size (after the
    tensor ``self`` of a method, as a tuple)."""

    @passes_through
    def sized(*args: Any, **kwargs: Any) -> Any:
        if "size" in kwargs:
            head = args[:1] if method else ()
            if args[len(head):]:
                raise TypeError(f"{original.__name__}() got the size both positionally and as size=")
            size = kwargs.pop("size")
            return original(*head, tuple(size) if method else size, **kwargs)
        return original(*args, **kwargs)

    sized.__name__ = getattr(original, "__name__", "sized")
    sized.__wrapped__ = original  # type: ignore[attr-defined]
    return sized


def _axis_to_dim(name: str, args: tuple, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """``kwargs`` with NumPy's ``axis=`` renamed to ``dim=`` (PyTorch takes both names; oneflow
    0.9 only ``dim``); the dimension given twice (``dim=`` or positionally, and ``axis=``) is
    torch's TypeError."""
    if "axis" in kwargs:
        if "dim" in kwargs or args:
            raise TypeError(f"{name}() got the dimension both as dim and as axis")
        kwargs["dim"] = kwargs.pop("axis")
    return kwargs


def _cat_axis(original: Callable) -> Callable:
    """``torch.cat(tensors, axis=1)`` (Funnel): PyTorch takes NumPy's ``axis`` as another name
    for ``dim``; oneflow 0.9's ``cat`` does not. Passed on as ``dim=`` to the original (a
    built-in concatenation: no arithmetic to price)."""

    @passes_through
    def cat(tensors: Any, *args: Any, **kwargs: Any) -> Any:
        return original(tensors, *args, **_axis_to_dim("cat", args, kwargs))

    cat.__wrapped__ = original  # type: ignore[attr-defined]
    return cat


def _sqrt_(self: Any) -> Any:
    """``Tensor.sqrt_`` (timm's EvoNorm: ``x.var(...).add(eps).sqrt_()``), missing in oneflow
    0.9: the square root written back into the tensor (``self.copy_(self.sqrt())``), which is
    returned, as PyTorch's in-place methods return ``self`` (oneflow's ``copy_`` returns None)."""
    self.copy_(self.sqrt())
    return self


def _group_norm_checks(input: Any, num_groups: int, weight: Any, bias: Any) -> None:
    """PyTorch's argument checks of ``F.group_norm``, in its order and with its exception types
    and messages (torch 2.14.1): at least 2 dimensions, more than one value per group (its
    ``_verify_batch_size``; ``num_groups=0`` divides by zero there), ``num_groups`` > 0, the
    channels divisible by it, a weight and a bias of one value per channel."""
    shape = [int(d) for d in input.shape]
    if len(shape) < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {len(shape)}")
    size = [shape[0] * shape[1] // num_groups, num_groups] + shape[2:]
    values = size[0]
    for d in size[2:]:
        values *= d
    if values == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")
    if num_groups <= 0:
        raise RuntimeError(f"Expected num groups to be greater than 0, got {num_groups}")
    if shape[1] % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, but got input "
                           f"of shape {shape} and num_groups={num_groups}")
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or int(t.shape[0]) != shape[1]):
            raise RuntimeError(f"Expected {what} to be a vector of size equal to the number of channels in input, "
                               f"but got {what} of shape {list(t.shape)} and input of shape {shape}")


@passes_through
def _group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Any:
    """``F.group_norm`` (timm's GroupNorm, GroupNorm1 and GroupNormAct; Hugging Face's BiT),
    missing in oneflow 0.9: what OneFlow's own ``nn.GroupNorm.forward`` runs. On an eager CPU
    tensor its CPU code (oneflow/nn/modules/normalization.py): the input as (N, groups, -1),
    ``(x - mean) / sqrt(var + eps)`` (biased variance), back to (N, C, -1), times the weight
    and plus the bias (each as (1, C, 1)), back to the input's shape. On a CUDA tensor, and on
    a tensor being traced into an nn.Graph, OneFlow's ``_C.group_norm`` op (no CPU kernel; a
    graph count compiles it without running it), given ones / zeros for a missing weight /
    bias where only one of them is. Arguments checked as PyTorch checks them."""
    _group_norm_checks(input, num_groups, weight, bias)
    if input.is_lazy or input.is_cuda:
        affine = weight is not None or bias is not None
        if affine and weight is None:
            weight = flow.ones_like(bias)
        if affine and bias is None:
            bias = flow.zeros_like(weight)
        return flow._C.group_norm(input, weight, bias, affine, num_groups, eps)
    shape = tuple(input.shape)
    n, c = shape[0], shape[1]
    x = flow.reshape(input, shape=[n, num_groups, -1])
    mean = flow.mean(x, dim=2, keepdim=True)
    variance = flow.var(x, dim=2, unbiased=False, keepdim=True)
    y = flow.reshape((x - mean) / flow.sqrt(variance + eps), shape=[n, c, -1])
    if weight is not None:
        y = y * weight.reshape(1, c, 1)
    if bias is not None:
        y = y + bias.reshape(1, c, 1)
    return flow.reshape(y, shape=shape)


def _priced_group_norm() -> Callable:
    """:func:`_group_norm` as count_functional prices it: one ``group_norm`` op per call, in
    eager as in graph mode (where the stand-in compiles OneFlow's ``group_norm`` op), so a
    functional call outside any GroupNorm module is priced too, and the fvcore convention
    prices it as its one ``aten::group_norm``."""
    from ..eager.functional import priced_as_one_op
    from ..eager.functional_table import torch_group_norm

    return priced_as_one_op(_group_norm, torch_group_norm, "group_norm")


@passes_through
def _einsum(equation: Any, *operands: Any) -> Any:
    """``torch.einsum(eq, (a, b))`` (Longformer, LED, CvT): PyTorch takes the operands as
    varargs or as one tuple/list; oneflow 0.9's ``einsum`` only as varargs (it hands
    ``operands`` on as a tuple, so a tuple of a tuple fails). Both forms go to ``flow._C.einsum``,
    looked up at each call, so a ``count_functional`` count prices it as every other einsum."""
    if len(operands) == 1 and isinstance(operands[0], (tuple, list)):
        operands = tuple(operands[0])
    return flow._C.einsum(equation, operands)


@passes_through
def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """``torch.where(cond, x, y)`` with a ``uint8`` condition (CodeGen's causal-mask buffer):
    PyTorch takes it as a mask (nonzero is true), oneflow 0.9 has no CPU kernel for it. The
    condition is cast to bool first (a cast: the same mask, no arithmetic); every other call
    goes to ``flow._C.where``, looked up at each call (``where(cond)`` alone: ``nonzero``)."""
    if x is None and y is None:
        return flow.nonzero(condition, as_tuple=True)
    if isinstance(condition, flow.Tensor) and condition.dtype == flow.uint8:
        condition = condition.to(flow.bool)
    return flow._C.where(condition, x, y)


@passes_through
def _tensor_where(self: Any, condition: Any, y: Any) -> Any:
    """``x.where(cond, y)`` is ``torch.where(cond, x, y)`` in PyTorch (Longformer, LED:
    ``torch.full_like(t, -inf).where(mask, t)``); oneflow 0.9's method takes the tensor as the
    condition (``cond.where(x, y)``). Under the mock the PyTorch meaning holds."""
    return _where(condition, self, y)


@passes_through
def _negative(input: Any) -> Any:
    """``-x`` / ``torch.neg(x)`` on an integer tensor stays integer in PyTorch (T5, MT5, LongT5,
    Switch Transformers, MPNet: ``-torch.min(relative_position, zeros)``); oneflow 0.9's
    ``negative`` returns float32 for one, and the model's ``where`` then mixes int64 and float.
    Integers are negated as float64 (exact below 2**53) and cast back to their dtype: the same
    single ``negative`` op per element as for a float tensor. Every other call goes to
    ``flow._C.negative``, looked up at each call."""
    if isinstance(input, flow.Tensor) and not input.is_floating_point() and input.dtype != flow.bool:
        return flow._C.negative(input.to(flow.float64)).to(input.dtype)
    return flow._C.negative(input)


def _axis_as_dim(original: Callable) -> Callable:
    """``torch.mean(x, axis=-1)`` / ``x.mean(axis=2)`` (ImageGPT, I-BERT): PyTorch takes NumPy's
    ``axis`` as another name for ``dim``; oneflow 0.9's ``mean`` does not. ``axis=`` is passed
    as ``dim=`` to ``flow._C.reduce_mean`` (looked up at each call; ``flow.mean`` is it)."""

    @passes_through
    def mean(input: Any, *args: Any, **kwargs: Any) -> Any:
        return flow._C.reduce_mean(input, *args, **_axis_to_dim("mean", args, kwargs))

    mean.__wrapped__ = original  # type: ignore[attr-defined]
    return mean


def _softmax_dtype(original: Callable) -> Callable:
    """``torch.softmax(x, dim, dtype=torch.float32)`` (Funnel): PyTorch casts the input to
    ``dtype`` before the softmax; oneflow 0.9's ``softmax`` takes no ``dtype``. The input is
    cast (no arithmetic), then ``flow._C.softmax``, looked up at each call."""

    @passes_through
    def softmax(input: Any, *args: Any, dtype: Any = None, **kwargs: Any) -> Any:
        if dtype is not None:
            input = input.to(dtype)
        return flow._C.softmax(input, *args, **kwargs)

    softmax.__wrapped__ = original  # type: ignore[attr-defined]
    return softmax


@passes_through
def _multiply(input: Any, other: Any) -> Any:
    """``torch.multiply`` (ConvBERT), PyTorch's other name for ``torch.mul``, missing in
    oneflow 0.9: ``flow._C.mul``, looked up at each call."""
    return flow._C.mul(input, other)


@passes_through
def _clone(input: Any, *, memory_format: Any = None) -> Any:
    """``torch.clone(x)`` (RoCBert), missing in oneflow 0.9 (which has ``x.clone()``). A
    ``memory_format`` is accepted and ignored: oneflow keeps one layout."""
    return input.clone()


@passes_through
def _tensor_baddbmm(self: Any, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """``alibi.baddbmm(q, k, beta=, alpha=)`` (BLOOM): the method form of ``torch.baddbmm``,
    missing in oneflow 0.9 (which has the function): ``flow._C.baddbmm``, looked up at each call."""
    return flow._C.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)


def _detach_(self: Any) -> Any:
    """``Tensor.detach_`` (FSMT, Marian, Pegasus, RoFormer, Speech2Text call it on the
    sinusoidal position table they build, a Parameter), missing in oneflow 0.9. On a leaf
    tensor detaching in place is dropping ``requires_grad`` (PyTorch's result: the same
    tensor, a leaf, no gradient); ``self`` is returned, as PyTorch does. A tensor made by an op
    cannot be cut from its graph in place in oneflow: that raises, naming the fix."""
    if not self.is_leaf:
        raise NotImplementedError(
            "Tensor.detach_() on a tensor made by an op is not available under flowflops.torch_models "
            "(oneflow 0.9 has no in-place detach; flowflops' stand-in handles leaf tensors): use "
            "`x = x.detach()` instead")
    if self.requires_grad:
        self.requires_grad_(False)
    return self


def _fill_diagonal_(self: Any, fill_value: Any, wrap: bool = False) -> Any:
    """``Tensor.fill_diagonal_(value, wrap=False)`` (ProphetNet's n-gram attention bias),
    missing in oneflow 0.9. PyTorch's positions: a 2-d (h, w) tensor's (k, k) for k < min(h, w)
    (with ``wrap`` and h > w + 1, every (w + 1)-th element of the whole tensor: the diagonal
    starts again below); a tensor of more dimensions, all of one length n, its (k, ..., k).
    They depend on the shape only, so the mask is made on the host and written with
    ``masked_fill_`` (no arithmetic, as PyTorch's fill); ``self`` is returned."""
    import numpy as np

    shape = tuple(self.shape)
    if len(shape) < 2:
        raise RuntimeError("fill_diagonal_: dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("fill_diagonal_: all dimensions of input must be of equal length")
    numel = int(np.prod(shape))
    if len(shape) == 2:
        step = shape[1] + 1
        end = numel if wrap and shape[0] > shape[1] + 1 else min(shape) * shape[1]
    else:
        step = sum(shape[0] ** i for i in range(len(shape)))
        end = numel
    mask = np.zeros(numel, dtype=bool)
    mask[0:end:step] = True
    self.masked_fill_(flow.tensor(mask.reshape(shape), device=self.device), fill_value)
    return self


def _get_submodule(self: Any, target: str) -> Any:
    """``nn.Module.get_submodule("a.0")`` (MaskFormer's weight init), missing in oneflow 0.9:
    the submodule at that dotted path, or AttributeError naming the missing part, as PyTorch."""
    module = self
    if target == "":
        return module
    for item in target.split("."):
        if not hasattr(module, item):
            raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
        module = getattr(module, item)
        if not isinstance(module, flow.nn.Module):
            raise AttributeError(f"`{item}` is not an nn.Module")
    return module


def _wrapper_dir(self: Any) -> List[str]:
    """``dir(torch.nn.functional)`` under mock_torch: the names of the oneflow module behind the
    wrapper. timm picks its activations by ``'silu' in dir(torch.nn.functional)``; without this
    it falls back to its own ``x * x.sigmoid()``-style versions, which PyTorch timm would not run."""
    return dir(self.module)


def _late_bound_getattr(original: Callable) -> Callable:
    """``torch.<module>.<function>`` under mock_torch, looked up again at each call.

    Hugging Face stores functions at construction (``self.act = nn.functional.gelu``); the
    model then calls the object it captured, which ``count_functional``'s patches, installed
    only while a count runs, cannot replace. A late-bound stand-in calls whatever
    ``oneflow.nn.functional.gelu`` is at call time, so those calls are counted like the rest.
    Classes, modules and other values are returned as they are."""
    cache: Dict[Tuple[str, str], Callable] = {}

    def __getattr__(self: Any, name: str) -> Any:
        value = original(self, name)
        if not callable(value) or isinstance(value, (type, types.ModuleType)) or name.startswith("__"):
            return value
        owner = self.module
        key = (owner.__name__, name)
        bound = cache.get(key)
        if bound is None:
            @passes_through
            def bound(*args: Any, **kwargs: Any) -> Any:
                return getattr(owner, name)(*args, **kwargs)

            bound.__name__ = getattr(value, "__name__", name)
            bound.__wrapped__ = value  # type: ignore[attr-defined]
            cache[key] = bound
        return bound

    return __getattr__


def _fx() -> types.ModuleType:
    """``torch.fx``, as far as transformers looks at it when not tracing: a ``Proxy`` class
    nothing is an instance of (``is_torch_fx_proxy(x)`` is then False, as in eager PyTorch)."""
    mod = types.ModuleType("oneflow.fx")
    mod.Proxy = type("Proxy", (), {})  # type: ignore[attr-defined]
    return mod


def _shim_table() -> List[Tuple[Any, str, Any, str]]:
    """``(owner, name, value, why)``: the attributes set on OneFlow while the block runs (the
    previous value, where there was one, is put back afterwards). Each stands in for a TorchScript helper
    that is a no-op for a model that is not scripted, for a missing import path, or for a call
    oneflow 0.9 does not take (``full([])``, ``unique(dim=)``, ``div(rounding_mode=)``,
    ``zeros(size=)``, ``x.new_ones(size=)``, ``einsum(eq, (a, b))``, ``mean(axis=)``,
    ``cat(axis=)``, ``softmax(dtype=)``, a uint8 ``where`` condition), means otherwise
    (``Tensor.where``, ``-x`` of an integer tensor) or lacks (``Tensor.sqrt_``, ``F.group_norm``,
    ``Tensor.baddbmm``, ``Tensor.detach_``, ``Tensor.fill_diagonal_``, ``torch.multiply``,
    ``torch.clone``, ``nn.Module.get_submodule``)."""
    import oneflow.jit as jit
    from oneflow.mock_torch import ModuleWrapper

    from . import stand_ins

    return [
        (ModuleWrapper, "__dir__", _wrapper_dir, "timm: `'silu' in dir(torch.nn.functional)`"),
        (ModuleWrapper, "__getattr__", _late_bound_getattr(ModuleWrapper.__getattr__),
         "HF: `self.act = nn.functional.gelu` captured at build time, counted at call time"),
        (flow, "_assert", _assert, "timm's trace_utils: `from torch import _assert`"),
        (jit, "is_scripting", _false, "timm/transformers branch on torch.jit.is_scripting()"),
        (jit, "is_tracing", _false, "timm branches on torch.jit.is_tracing()"),
        (jit, "_overload_method", _same, "timm decorates methods with it (a no-op in eager)"),
        (jit, "unused", _same, "timm decorates methods with it (a no-op in eager)"),
        (jit, "annotate", _annotate, "timm: torch.jit.annotate(type, value) is value"),
        (jit, "ignore", _ignore, "oneflow's jit.ignore breaks bare `@torch.jit.ignore` (timm)"),
        (jit, "script", _script, "timm scripts helpers at import; oneflow's warns each time"),
        (flow, "full", _full(flow.full), "GPT-2: torch.full([], scale) (oneflow: empty size)"),
        (flow, "unique", _unique(flow.unique), "timm relative positions: torch.unique(x, dim=0) (oneflow: no dim)"),
        (flow, "div", _div(flow.div), "XCiT/EdgeNeXt/LayoutLMv3: torch.div(a, b, rounding_mode=) (oneflow: none)"),
        (flow.Tensor, "div", _div(flow.Tensor.div), "the same as the Tensor method"),
        (flow, "zeros", _sized(flow.zeros), "BEiT: torch.zeros(size=...) (oneflow: size positional only)"),
        (flow, "ones", _sized(flow.ones), "CANINE: torch.ones(size=...) (oneflow: size positional only)"),
        (flow.Tensor, "new_ones", _sized(flow.Tensor.new_ones, method=True), "Longformer/LED: x.new_ones(size=)"),
        (flow.Tensor, "new_zeros", _sized(flow.Tensor.new_zeros, method=True), "the same"),
        (flow, "cat", _cat_axis(flow.cat), "Funnel: torch.cat(tensors, axis=) (oneflow: dim only)"),
        (flow, "concat", _cat_axis(flow.concat), "the same"),
        (flow.Tensor, "sqrt_", _sqrt_, "timm's EvoNorm: Tensor.sqrt_ (oneflow: missing)"),
        (flow.nn.functional, "group_norm", _priced_group_norm(),
         "timm's GroupNorm(1)/GroupNormAct, HF BiT: F.group_norm (oneflow: missing)"),
        (flow.nn.functional, "dropout2d", stand_ins.dropout2d,
         "timm's BatNonLocalAttn (bat_resnext26ts): F.dropout2d (oneflow 0.9: refuses every p in [0, 1])"),
        (flow.nn.Dropout2d, "forward", stand_ins.dropout2d_forward, "the same: nn.Dropout2d"),
        (flow, "einsum", _einsum, "Longformer/LED/CvT: torch.einsum(eq, (a, b)) (oneflow: varargs only)"),
        (flow, "where", _where, "CodeGen: torch.where(uint8 mask, x, y) (oneflow: no CPU kernel for uint8)"),
        (flow.Tensor, "where", _tensor_where, "Longformer/LED: x.where(cond, y) (oneflow: the tensor is the cond)"),
        (flow, "neg", _negative, "T5/MPNet: -x of int64 stays int64 (oneflow 0.9: float32)"),
        (flow, "negative", _negative, "the same"),
        (flow.Tensor, "neg", _negative, "the same"),
        (flow.Tensor, "__neg__", _negative, "the same"),
        (flow, "mean", _axis_as_dim(flow.mean), "ImageGPT: torch.mean(x, axis=-1) (oneflow: dim only)"),
        (flow.Tensor, "mean", _axis_as_dim(flow.Tensor.mean), "I-BERT: x.mean(axis=2) (oneflow: dim only)"),
        (flow, "softmax", _softmax_dtype(flow.softmax), "Funnel: torch.softmax(x, dim, dtype=) (oneflow: no dtype)"),
        (flow.nn.functional, "softmax", _softmax_dtype(flow.nn.functional.softmax), "the same"),
        (flow.Tensor, "softmax", _softmax_dtype(flow.Tensor.softmax), "the same"),
        (flow, "multiply", _multiply, "ConvBERT: torch.multiply (oneflow: missing; it is mul)"),
        (flow, "clone", _clone, "RoCBert: torch.clone(x) (oneflow: only x.clone())"),
        (flow.Tensor, "baddbmm", _tensor_baddbmm, "BLOOM: x.baddbmm(b1, b2) (oneflow: only the function)"),
        (flow.Tensor, "fill_diagonal_", _fill_diagonal_, "ProphetNet: x.fill_diagonal_(0) (oneflow: missing)"),
        (flow.nn.Module, "get_submodule", _get_submodule, "MaskFormer: module.get_submodule('0') (oneflow: missing)"),
        (flow.Tensor, "detach_", _detach_, "FSMT, Marian, Pegasus...: Parameter.detach_ (oneflow: missing)"),
        (flow, "fx", _fx(), "transformers: isinstance(x, torch.fx.Proxy) in every forward"),
        (jit, "annotations", _jit_annotations(), "timm: `from torch.jit.annotations import List`"),
    ]


#: the torch version the mocked ``torch`` distribution claims: the release transformers 4.26
#: and timm 0.6.12 were made against (no code path of theirs needs a newer one)
MOCKED_TORCH_VERSION = "1.13.1"


class _TorchDistribution(importlib.metadata.Distribution):
    """Package metadata for ``torch`` (transformers decides whether torch exists from
    ``importlib.metadata.version("torch")``, which mock_torch does not provide)."""

    def read_text(self, filename: str) -> Optional[str]:
        if filename == "METADATA":
            return f"Metadata-Version: 2.1\nName: torch\nVersion: {MOCKED_TORCH_VERSION}\n"
        return None

    def locate_file(self, path: Any) -> Any:
        return None


class _TorchMetadataFinder(importlib.abc.MetaPathFinder):
    """Answers ``importlib.metadata`` queries for ``torch``; imports nothing."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        return None

    def find_distributions(self, context: Any = importlib.metadata.DistributionFinder.Context()) -> Iterator[Any]:
        if context.name in ("torch",):
            yield _TorchDistribution()


_MISSING = object()


@contextlib.contextmanager
def mocked_torch() -> Iterator[None]:
    """Inside the block ``import torch`` gives oneflow (``oneflow.mock_torch``), ``torchvision``
    gives flowvision, ``importlib.metadata`` knows a ``torch`` distribution, and the shims of
    :func:`_shim_table` are set. Build and count the models inside the block. Afterwards each
    shim is the value it was (or absent), the finders are gone, mock_torch is disabled and the
    ``torch``/``torchvision``/``timm``/``transformers`` modules imported in the block have left
    ``sys.modules`` (the ones there before are back)."""
    import oneflow.mock_torch as mock

    from . import stand_ins

    before = {k: v for k, v in sys.modules.items() if _is_mocked(k)}
    finders = [_TorchvisionFinder(), _TorchMetadataFinder()]
    shims = _shim_table()
    saved_attrs = [(owner, name, owner.__dict__.get(name, _MISSING)) for owner, name, _, _ in shims]
    module_names = [f"{owner.__name__}.{name}" for owner, name, value, _ in shims
                    if isinstance(value, types.ModuleType)]
    saved_modules: Dict[str, Any] = {n: sys.modules.get(n, _MISSING) for n in module_names}
    enabled: Any = None
    try:
        for f in finders:
            sys.meta_path.insert(0, f)
        # mapillary's CUDA extension (timm's InplaceAbn imports it); taken out with the
        # mocked modules afterwards (_MOCKED_PREFIXES)
        sys.modules.update(stand_ins.inplace_abn_modules())
        for owner, name, value, _ in shims:
            setattr(owner, name, value)
            if isinstance(value, types.ModuleType):
                sys.modules[f"{owner.__name__}.{name}"] = value
        # mock_torch puts its importer on sys.meta_path on first use and leaves it there; it is
        # taken out again here (and put back for the next block)
        importer = mock._importer
        importer_was_there = importer in sys.meta_path
        if not importer_was_there and not mock._first_init:
            sys.meta_path.insert(0, importer)
        enabled = mock.enable()
        yield
    finally:
        if enabled is not None:
            enabled.__exit__(None, None, None)
            if not importer_was_there and importer in sys.meta_path:
                sys.meta_path.remove(importer)
        for f in finders:
            if f in sys.meta_path:
                sys.meta_path.remove(f)
        for owner, name, value in reversed(saved_attrs):
            if value is _MISSING:
                if name in owner.__dict__:
                    delattr(owner, name)
            else:
                setattr(owner, name, value)
        for n, m in saved_modules.items():
            if m is _MISSING:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
        for k in [k for k in sys.modules if _is_mocked(k)]:
            del sys.modules[k]
        sys.modules.update(before)
