"""Ops that move, view, copy or create data without arithmetic: registered as zero cost."""
from __future__ import annotations

from ..registry import register_zero

ZERO_COST_OPS = (
    # views and layout
    "reshape", "reshape_like", "flatten", "transpose", "squeeze", "unsqueeze", "expand_dims",
    "expand", "broadcast_like", "narrow", "slice", "slice_update", "concat", "split_like",
    "identity", "copy", "cast", "tensor_buffer_to_tensor", "roll", "pad", "constant_pad",
    "reflection_pad2d", "replication_pad2d", "tril", "triu", "repeat", "tile", "to_contiguous",
    "stack",
    # creation
    "ones_like", "zeros_like", "zero_like", "constant", "empty", "arange", "fill_", "fill_tensor_",
    "uniform", "normal", "randperm",
    # lookups and indexing
    "gather", "gather_nd", "dim_gather", "embedding", "one_hot", "argmax", "argmin", "where",
    "masked_fill", "index_select",
    # selections: picking the k largest, comparing to make a mask (no arithmetic on values)
    "top_k", "broadcast_greater_equal", "broadcast_greater", "broadcast_less_equal", "broadcast_less",
    "broadcast_equal", "broadcast_not_equal",
    # training-only ops that are identities at inference
    "dropout",
    # graph bookkeeping
    "variable", "input", "output", "hierarchical_parallel_cast",
)

register_zero(ZERO_COST_OPS)
