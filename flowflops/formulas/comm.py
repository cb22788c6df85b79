"""Communication ops: they move data between ranks and do no arithmetic, so their compute cost
is zero. The bytes they move are counted by :mod:`flowflops.analysis.ranks`. Which op types
they are is :data:`flowflops.records.COMM_OP_TYPES` (the engines read it too).

``boxing`` is the record :mod:`flowflops.graph.parallel` makes where a compiled job reads a
tensor with another SBP or placement than it was written with (OneFlow inserts the actual
``System-Boxing-...`` ops only when it lowers the job to a plan). The others are OneFlow's own
communication op types: NCCL-logical ops a CUDA job may hold after its passes, and the eager
collective ops.
"""
from __future__ import annotations

from ..records import COMM_OP_TYPES, is_comm_op
from ..registry import register_zero

__all__ = ["COMM_OP_TYPES", "is_comm_op"]

register_zero(COMM_OP_TYPES)
