"""Helpers shared by the peer rules: who emitted a record, and a peer's count as a Cost."""
from __future__ import annotations

from typing import Optional, Tuple

from ...conventions import FUNCTION_ATTR, INSIDE_ATTR, MODULE_ATTR, VIA_ATTR, base_type_name
from ...records import Cost, OpRecord
from .._shapes import in_numel as in_elems  # noqa: F401  (re-exported for the peer rules)
from .._shapes import out_numel as out_elems  # noqa: F401
from ..conv import conv, conv_transpose
from ..matmul import matmul

__all__ = [
    "peer", "module_of", "module_is", "function_of", "via_of", "conv_macs", "matmul_macs", "inside", "norm_layer",
    "is_affine_term", "CONV_OPS", "MATMUL_OPS", "NORM_MODULES", "GATES", "cell_dims", "recurrent_macs"
]


def peer(n: float) -> Cost:
    """A peer's count ``n`` (its "MACs": one multiply-add = 1) as a Cost: ``n`` MACs,
    ``2n`` FLOPs."""
    n = int(n)
    return Cost(n, 2 * n)


def module_of(rec: OpRecord) -> Optional[str]:
    """Type of the module whose hook emitted ``rec`` (eager), else None: its class name when it
    is exactly one of OneFlow's classes, ``~`` + its nearest OneFlow base otherwise (see
    :func:`flowflops.conventions.peer_type_name`). For rules matching exact types."""
    return rec.attrs.get(MODULE_ATTR)


def module_is(rec: OpRecord) -> Optional[str]:
    """The OneFlow class the module that emitted ``rec`` is an instance of (subclasses
    included), else None. For rules matching by ``isinstance``."""
    return base_type_name(rec.attrs.get(MODULE_ATTR))


def function_of(rec: OpRecord) -> Optional[str]:
    """Name of the patched function that emitted ``rec`` (eager count_functional), else None."""
    return rec.attrs.get(FUNCTION_ATTR)


def via_of(rec: OpRecord) -> Optional[str]:
    """The OneFlow composite (``"linear"`` for ``F.linear``, ``"addmm"`` for ``flow.addmm``)
    whose body called the primitive that emitted ``rec`` (eager count_functional), else None.
    torch runs each as one aten op, which the peers price as one."""
    return rec.attrs.get(VIA_ATTR)


def conv_macs(rec: OpRecord) -> int:
    """Multiply-adds of a (transposed) convolution without bias: flowflops' own count."""
    return (conv_transpose if rec.op_type.startswith("deconv") else conv)(rec).macs


def matmul_macs(rec: OpRecord) -> int:
    """Multiply-adds of a matrix product: flowflops' own count."""
    return matmul(rec).macs


def inside(rec: OpRecord, exact: bool = True) -> Optional[str]:
    """Type of the module that made ``rec``: the hooked module, or the innermost module
    running when a functional call made it (eager), else None. ``exact``: as
    :func:`module_of` names it; otherwise the OneFlow class it is an instance of."""
    name = rec.attrs.get(MODULE_ATTR) or rec.attrs.get(INSIDE_ATTR)
    return name if exact else base_type_name(name)


def norm_layer(rec: OpRecord, exact: bool = True) -> Optional[str]:
    """For the one record that stands for a whole GroupNorm/InstanceNorm/LayerNorm call (its
    first reduction, over the whole input; the layers are decomposed into reductions and
    elementwise ops, :func:`flowflops.eager.layers.stats_norm_records` and OneFlow's Python
    LayerNorm), the layer's class name; None for every other record. ``exact``: only modules
    whose type is exactly OneFlow's class (ptflops' and thop's hooks); otherwise subclasses
    too (fvcore sees the aten op whichever module calls it)."""
    layer = inside(rec, exact)
    return layer if rec.op_type == "reduce_sum" and layer in NORM_MODULES else None


def is_affine_term(rec: OpRecord, exact: bool = True) -> bool:
    """The record that stands for a norm layer's affine transform: the ``broadcast_add`` of the
    bias (present only with affine / ``elementwise_affine``) made by a GroupNorm/InstanceNorm/
    LayerNorm, hooked (eager), run inside it (eager functional) or in its scope (graph).
    ``exact`` as for :func:`norm_layer`."""
    return rec.op_type == "broadcast_add" and inside(rec, exact) in NORM_MODULES


CONV_OPS = ("conv1d", "conv2d", "conv3d", "deconv1d", "deconv2d", "deconv3d")
MATMUL_OPS = ("matmul", "broadcast_matmul", "batch_matmul")
NORM_MODULES = ("GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm")


#: recurrent cell op types -> gates (weight blocks) per layer
GATES = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "gru_cell": 3, "lstm_cell": 4}


def cell_dims(rec: OpRecord) -> Tuple[int, int, int, int]:
    """``(gates, input size, hidden size, batch x steps)`` of a recurrent record (one layer and
    direction over every step, see :func:`flowflops.eager.layers.recurrent`)."""
    (batch, i), (_, h) = rec.inputs[0], rec.inputs[1]
    return GATES[rec.op_type], i, h, batch * int(rec.attrs.get("steps", 1))


def recurrent_macs(rec: OpRecord, with_bias: bool) -> int:
    """GRU/RNN layers as PyTorch's CPU kernels run them (torch 2.14.1): one matrix product per
    weight, input and hidden, per step (``g x h x (i + h)`` multiply-adds), the two biases added
    by addmm (``2 g h``) when ``with_bias``. The CPU LSTM is one fused oneDNN op that neither
    FlopCounterMode nor ptflops' aten backend has a formula for: 0. Measured: the rnn,
    gru_bidirectional and lstm_2layers layers of benchmarks/peers.json."""
    if rec.op_type == "lstm_cell":
        return 0
    g, i, h, n = cell_dims(rec)
    return n * (g * h * (i + h) + (2 * g * h if with_bias and rec.attrs.get("bias", True) else 0))
