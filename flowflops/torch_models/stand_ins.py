"""Stand-ins for two things timm 0.6.12 models need that oneflow 0.9 cannot give, set by
:func:`flowflops.torch_models.shims.mocked_torch` while its block runs and taken out after it:

- ``F.dropout2d`` / ``nn.Dropout2d`` (timm's ``BatNonLocalAttn``: bat_resnext26ts). OneFlow 0.9's
  ``flow._C.dropout2d`` (which ``nn.Dropout2d.forward`` and ``F.dropout2d`` both are or call)
  refuses every valid probability: its C++ argument check (oneflow/core/functional/impl/
  nn_functor.cpp, line 2852 of the 0.9.0 build) raises "dropout probability has to be between 0
  and 1, but got 0.2" for every p in [0, 1], in eval mode too, and a p outside [0, 1] passes it
  and then fails the dimension check for a 4-D input ("Received a {inp_dim}-D input"): both
  checks are inverted. The stand-in is PyTorch's ``F.dropout2d``.
- ``inplace_abn.functions`` (timm's ``InplaceAbn``: the TResNets), mapillary's CUDA extension,
  which timm imports and without which its ``InplaceAbn`` raises ImportError. The stand-in
  computes what mapillary's v1.0.12 ``forward_cpu`` computes, from OneFlow primitives called
  through ``flow._C`` (so a ``count_functional`` count prices the ops a graph count compiles)."""
from __future__ import annotations

import types
import warnings
from typing import Any, Optional

import oneflow as flow

from ..runtime.interrupts import passes_through

__all__ = ["dropout2d", "dropout2d_forward", "inplace_abn", "inplace_abn_sync", "inplace_abn_modules"]


@passes_through
def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """PyTorch's ``F.dropout2d`` (torch 2.14.1, torch/nn/functional.py): p outside [0, 1] is a
    ValueError with its message; an input that is not 3-D or 4-D is warned about as it does;
    in eval mode (or p = 0) the input itself is returned; in training each channel of each
    sample is zeroed with probability p (one Bernoulli draw per (N, C), broadcast over the
    remaining dimensions) and the kept ones are scaled by 1 / (1 - p); p = 1 zeroes all."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    dims = input.dim()
    if dims not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {dims}-D input to dropout2d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        mask = flow.zeros_like(input)
    else:
        shape = list(input.shape[:2]) + [1] * (dims - 2)
        keep = flow._C.bernoulli(flow.full(shape, 1.0 - p, dtype=input.dtype, device=input.device))
        mask = keep / (1.0 - p)
    if inplace:
        input.mul_(mask)
        return input
    return flow._C.mul(input, mask)


@passes_through
def dropout2d_forward(self: Any, x: Any, addend: Any = None) -> Any:
    """``nn.Dropout2d.forward`` (OneFlow's calls ``flow._C.dropout2d`` directly): :func:`dropout2d`."""
    return dropout2d(x, self.p, self.training, getattr(self, "inplace", False))


_ACTIVATIONS = ("leaky_relu", "elu", "identity")


@passes_through
def inplace_abn(x: Any, weight: Optional[Any], bias: Optional[Any], running_mean: Optional[Any],
                running_var: Optional[Any], training: bool = True, momentum: float = 0.1, eps: float = 1e-05,
                activation: str = "leaky_relu", activation_param: float = 0.01) -> Any:
    """mapillary inplace_abn v1.0.12's ``inplace_abn`` (inplace_abn/functions.py and
    src/inplace_abn_cpu.cpp ``forward_cpu``): per channel, with the batch statistics in
    training (biased variance; the running ones updated with the unbiased one) or the running
    ones otherwise,

        y = act((x - mean) / sqrt(var + eps) * (|weight| + eps) + bias)

    (the scale is ``|weight| + eps``, not ``weight``; without a weight, no affine transform),
    act one of ``leaky_relu`` (slope ``activation_param``), ``elu`` (alpha ``activation_param``)
    or ``identity``. That is ``F.batch_norm`` with weight ``|weight| + eps``, then the
    activation: here ``flow._C.abs``, a scalar add, ``flow._C.normalization`` and
    ``flow._C.leaky_relu`` / ``flow._C.elu``, as a graph count compiles them.

    mapillary's writes the result into ``x`` and returns ``x``; this returns a new tensor and
    leaves ``x`` as it was. Its one caller here, timm 0.6.12's ``InplaceAbn.forward``, uses only
    the return value (and its input is a fresh convolution output nothing else reads), so the
    values a model computes are the same."""
    if activation not in _ACTIVATIONS:
        raise ValueError("Unknown activation function {}".format(activation))
    if training:
        samples = int(x.shape[0])
        for d in x.shape[2:]:
            samples *= int(d)
        if samples <= 1:
            raise ValueError("inplace_abn is trying to compute batch statistics, but the input "
                             "tensor only contains a single sample per channel")
    gamma = beta = None
    if weight is not None:
        gamma = flow._C.abs(weight) + eps
        beta = bias if bias is not None else flow.zeros_like(weight)
    y = flow._C.normalization(x, running_mean, running_var, gamma, beta, 1, eps, momentum, training)
    if activation == "leaky_relu":
        return flow._C.leaky_relu(y, activation_param)
    if activation == "elu":
        return flow._C.elu(y, activation_param)
    return y


@passes_through
def inplace_abn_sync(x: Any, weight: Optional[Any], bias: Optional[Any], running_mean: Optional[Any],
                     running_var: Optional[Any], training: bool = True, momentum: float = 0.1,
                     eps: float = 1e-05, activation: str = "leaky_relu", activation_param: float = 0.01,
                     group: Any = None) -> Any:
    """``inplace_abn_sync``: without ``torch.distributed`` initialised mapillary's falls back
    to :func:`inplace_abn`; so does this (a count runs in one process)."""
    return inplace_abn(x, weight, bias, running_mean, running_var, training, momentum, eps,
                       activation, activation_param)


def inplace_abn_modules() -> dict:
    """``{"inplace_abn": package, "inplace_abn.functions": module}`` for ``sys.modules``."""
    package = types.ModuleType("inplace_abn")
    package.__path__ = []
    functions = types.ModuleType("inplace_abn.functions")
    functions.inplace_abn = inplace_abn  # type: ignore[attr-defined]
    functions.inplace_abn_sync = inplace_abn_sync  # type: ignore[attr-defined]
    functions.__all__ = ["inplace_abn", "inplace_abn_sync"]  # type: ignore[attr-defined]
    package.functions = functions  # type: ignore[attr-defined]
    package.inplace_abn = inplace_abn  # type: ignore[attr-defined]
    package.inplace_abn_sync = inplace_abn_sync  # type: ignore[attr-defined]
    return {"inplace_abn": package, "inplace_abn.functions": functions}
