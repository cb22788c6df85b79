"""Ops that move, view, copy or create data without arithmetic: registered as zero cost."""
from __future__ import annotations

from ..registry import register_zero

__all__ = ["ZERO_COST_OPS"]

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
    # the identity matrix (timm's BilinearAttnTransform: x * torch.eye(t, t); zero-cost in
    # eager mode too)
    "eye",
    # lookups and indexing
    "gather", "gather_nd", "dim_gather", "embedding", "one_hot", "argmax", "argmin", "where",
    "masked_fill", "index_select",
    # selections: picking the k largest, comparing to make a mask (no arithmetic on values)
    "top_k", "broadcast_greater_equal", "broadcast_greater", "broadcast_less_equal", "broadcast_less",
    "broadcast_equal", "broadcast_not_equal",
    "arg_sort", "sort", "unfold", "where_scalar_x", "where_scalar_y", "where_scalar_xy",
    "tensor_constant",
    # more views, copies and selections: flip, a diagonal, the median (a selection), the
    # index of repeat_interleave (its cumsum is priced), Tensor.unfold (a strided view), the
    # mask of linalg.vector_norm's order 0
    "flip", "diag", "median", "repeat_interleave", "unfold_tensor", "not_equal_zero",
    # comparisons and logical ops against a scalar, tests of values (as the broadcast ones
    # above: a mask, no arithmetic on values; fvcore and torch's counter do not count them)
    "scalar_logical_greater", "scalar_logical_greater_equal", "scalar_logical_less",
    "scalar_logical_less_equal", "scalar_logical_equal", "scalar_logical_not_equal",
    "scalar_logical_and", "scalar_logical_or", "scalar_logical_xor", "broadcast_logical_and",
    "broadcast_logical_or", "broadcast_logical_xor", "logical_not", "isnan", "isinf", "isfinite",
    # whether any / all of a mask's values are true (Longformer's `is_index_global_attn.any()`),
    # zero-cost in eager mode too; as_strided, a view (Longformer's overlapping chunks)
    "reduce_any", "reduce_all", "as_strided",
    # training-only ops that are identities at inference
    "dropout",
    # the random keep-mask of a training-mode dropout: random draws, no arithmetic on values
    # (dropout itself is counted as zero, as above)
    "random_mask_like",
    # graph bookkeeping
    "variable", "input", "output", "hierarchical_parallel_cast",
)

register_zero(ZERO_COST_OPS)
