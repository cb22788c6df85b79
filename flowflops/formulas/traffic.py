"""Bytes rules for the ops whose memory traffic is not the default "read each input once,
write each output once" (:func:`flowflops.registry.default_traffic`)."""
from __future__ import annotations

from ..records import IN_ITEMSIZES, NO_TRAFFIC, PARAMS, OpRecord, Traffic, itemsizes, numel
from ..registry import register_bytes

__all__ = ["VIEW_OPS", "CREATION_OPS", "LIKE_OPS", "data_inputs"]

#: Views and graph bookkeeping: no data moves (a reshape of a contiguous tensor is metadata).
VIEW_OPS = ("reshape", "reshape_like", "flatten", "squeeze", "unsqueeze", "expand_dims", "identity",
            "variable", "input", "output", "hierarchical_parallel_cast", "boxing")
#: Ops that create a tensor from a shape (they read no data, write their output).
CREATION_OPS = ("ones_like", "zeros_like", "zero_like", "empty_like", "constant", "empty", "arange",
                "uniform", "uniform_int", "normal", "randperm")


#: Ops that read some inputs for their shape only: op type -> indices of the inputs whose data
#: they read (``broadcast_like(x, like)`` reads ``x``; ``ones_like(x)`` reads nothing).
LIKE_OPS = {"broadcast_like": (0,), "reshape_like": (0,), "reduce_sum_like": (0,), "split_like": (0,),
            "ones_like": (), "zeros_like": (), "zero_like": (), "empty_like": ()}


def data_inputs(rec: OpRecord) -> range:
    """Indices of the inputs whose data the op reads (all but the shape-only ones)."""
    keep = LIKE_OPS.get(rec.op_type)
    return range(len(rec.inputs)) if keep is None else keep  # type: ignore[return-value]


@register_bytes(*[op for op in LIKE_OPS if op not in CREATION_OPS])
def _like(rec: OpRecord) -> Traffic:
    """Reads input 0 (a parameter when ``_params`` says so) and writes the output; the
    ``like`` input gives only a shape."""
    ins, outs = itemsizes(rec)
    read = numel(rec.inputs[0]) * ins[0] if rec.inputs else 0
    written = sum(numel(s) * b for s, b in zip(rec.outputs, outs))
    if 0 in (rec.attrs.get(PARAMS, ()) or ()):
        return Traffic(read, 0, written)
    return Traffic(0, read, written)


@register_bytes(*VIEW_OPS)
def _view(rec: OpRecord) -> Traffic:
    return NO_TRAFFIC


@register_bytes(*CREATION_OPS)
def _creation(rec: OpRecord) -> Traffic:
    _, outs = itemsizes(rec)
    return Traffic(0, 0, sum(numel(s) * b for s, b in zip(rec.outputs, outs)))


@register_bytes("gather", "embedding")
def _gather(rec: OpRecord) -> Traffic:
    """Inputs ``(table, indices)``: reads the indices (int64 unless known) and only the rows
    they pick (as many table elements as the output has, at most the table), writes the output. The table counts
    as a parameter when ``attrs["_params"]`` says so (an ``nn.Embedding``'s weight)."""
    if len(rec.inputs) < 2 or not rec.outputs:
        return NO_TRAFFIC
    ins, outs = itemsizes(rec)
    idx_size = ins[1] if rec.attrs.get(IN_ITEMSIZES) else 8
    rows = min(numel(rec.outputs[0]), numel(rec.inputs[0])) * ins[0]
    idx = numel(rec.inputs[1]) * idx_size
    written = numel(rec.outputs[0]) * outs[0]
    if 0 in (rec.attrs.get(PARAMS, ()) or ()):
        return Traffic(rows, idx, written)
    return Traffic(0, rows + idx, written)
