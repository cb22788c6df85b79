"""Communication ops: they move data between ranks and do no arithmetic, so their compute cost
is zero. The bytes they move are counted by :mod:`flowflops.distributed`.

``boxing`` is the record :mod:`flowflops.graph.parallel` makes where a compiled job reads a
tensor with another SBP or placement than it was written with (OneFlow inserts the actual
``System-Boxing-...`` ops only when it lowers the job to a plan). The others are OneFlow's own
communication op types: NCCL-logical ops a CUDA job may hold after its passes, and the eager
collective ops.
"""
from __future__ import annotations

from ..registry import register_zero

__all__ = ["COMM_OP_TYPES", "is_comm_op"]

COMM_OP_TYPES = (
    "boxing",
    "_nccl_logical_all_reduce", "_nccl_logical_reduce_scatter", "_nccl_logical_all_gather",
    "_nccl_logical_all_gather_noncontinuous", "_nccl_logical_reduce_scatter_noncontinuous",
    "_nccl_logical_s2s", "_nccl_logical_send_recv", "_nccl_logical_2D_same_dim0_all_reduce",
    "_nccl_logical_2D_same_dim1_all_reduce", "_nccl_logical_2D_same_dim0_all_gather",
    "_nccl_logical_2D_same_dim0_all_gather_noncontinuous", "_nccl_logical_2D_same_dim0_all2all",
    "eager_nccl_all_reduce", "eager_nccl_all_gather", "eager_nccl_reduce_scatter",
    "eager_nccl_broadcast", "eager_nccl_reduce", "eager_nccl_s2s", "eager_nccl_touch",
    "eager_ccl_all_reduce", "eager_ccl_all_gather", "eager_ccl_reduce_scatter",
    "eager_ccl_broadcast", "eager_ccl_reduce",
    "eager_b_to_s", "eager_s_to_b", "eager_p_to_b", "eager_p_to_s", "eager_s_to_p",
    "eager_naive_s_to_s", "eager_symmetric_s_to_p",
)

register_zero(COMM_OP_TYPES)

_COMM = frozenset(COMM_OP_TYPES)
_COMM_PREFIXES = ("_nccl_logical", "eager_nccl_", "eager_ccl_")


def is_comm_op(op_type: str) -> bool:
    """True for a communication record: ``"boxing"`` or one of OneFlow's communication op types."""
    return op_type in _COMM or op_type.startswith(_COMM_PREFIXES)
