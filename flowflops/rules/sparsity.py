"""Rules that mark the work a specialised kernel skips, on the records of a count, before they
are priced (:func:`mark_records`: records -> records, as the conventions' and users' rules).

Both rules set ``attrs["_keep"] = (kept, of)`` on records; :func:`flowflops.registry.price`
then prices such a record at ``kept / of`` of its dense cost. The dense count stays available
as the report's upper bound (``Report.upper_bounds``).

**Attention** (``attention="causal"`` or ``"window:W"``). An attention's score tensor ``S`` of
shape ``(..., Tq, Tk)`` is recognised as the output of a ``softmax`` that a matrix product
then reads as its first operand (``softmax(q @ k^T) @ v``). The queries are the last ``Tq`` of
the ``Tk`` positions (a prefill has ``Tq == Tk``; a decode step against a cache of ``L`` has
``Tk = L + Tq``), so query ``i`` sits at position ``p = Tk - Tq + i``. A causal kernel computes
the scores of keys ``0 .. p`` (``p + 1`` of them), a sliding window of ``W`` those of keys
``p - W + 1 .. p`` (``min(p + 1, W)``). Every op that writes ``S`` (``q @ k^T``, the scale,
the mask add, the softmax) and the product that reads it (``@ v``, whose contraction runs
over the keys) does the kept fraction of its work: ``kept / (Tq * Tk)``, exact because each of
their costs is a multiple of ``Tq * Tk``.

``attention="auto"`` is causal when the job shows a causal mask being built for the scores
(a ``tril``/``triu`` op, or a fused causal softmax, whose last two dimensions are the scores'
``(Tq, Tk)``) and dense otherwise; eager counts do not see mask construction and stay dense.

**Experts** (``experts="active"``). A module with an ``experts`` ``ModuleList`` and an integer
``top_k`` (or ``num_experts_per_tok``) is a mixture of experts. Computed densely, every expert
runs on every token; a sparse kernel runs each token through ``top_k`` experts. The experts
have the same shape, so the active work is exactly that of ``top_k`` of them on all tokens:
the records of experts ``0 .. top_k - 1`` are kept and those of the others cost nothing.
The router and the gate-weighted combination are counted as they run.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ..records import KEEP, OpRecord, Shape

__all__ = [
    "ATTENTION_HELP", "EXPERTS_HELP", "MATMULS", "CAUSAL_MASK_OPS", "parse_attention", "check_experts", "kept_pairs",
    "score_chains", "score_shapes", "detect_attention", "mask_attention", "moe_modules", "active_experts",
    "mark_records"
]

ATTENTION_HELP = "attention must be 'dense', 'causal', 'window:W' (W a positive int) or 'auto'"
EXPERTS_HELP = "experts must be 'all' (every expert, the dense upper bound) or 'active' (top_k per token)"
MATMULS = ("matmul", "batch_matmul", "broadcast_matmul")
CAUSAL_MASK_OPS = ("tril", "triu", "fused_scale_tril", "fused_tril_scale_softmax_mask_scale")


def parse_attention(attention: str) -> Tuple[str, int]:
    """``"dense"`` / ``"causal"`` / ``"auto"`` -> ``(kind, 0)``; ``"window:W"`` -> ``("window", W)``."""
    if attention in ("dense", "causal", "auto"):
        return attention, 0
    m = re.fullmatch(r"window:(\d+)", str(attention))
    if m and int(m.group(1)) > 0:
        return "window", int(m.group(1))
    raise ValueError(f"{ATTENTION_HELP}, got {attention!r}")


def check_experts(experts: str) -> str:
    if experts not in ("all", "active"):
        raise ValueError(f"{EXPERTS_HELP}, got {experts!r}")
    return experts


def kept_pairs(tq: int, tk: int, window: int = 0) -> int:
    """(query, key) pairs a causal kernel computes for ``tq`` queries at the end of ``tk``
    positions; with ``window > 0``, a sliding-window kernel of that width."""
    offset = tk - tq
    if window <= 0:
        return tq * offset + tq * (tq + 1) // 2
    return sum(min(offset + i + 1, window) for i in range(tq))


def score_chains(records: Sequence[OpRecord]) -> List[List[int]]:
    """Indices of the records of each attention, in record order: the matrix product that writes
    a score tensor ``S`` (rank >= 3), the ops after it that write ``S`` again (scale, mask add),
    the ``softmax`` writing ``S``, and the next matrix product, which reads ``S`` as its first
    operand. (Chains are found around each softmax, so a tensor of the same shape elsewhere,
    e.g. a rotary embedding of ``q`` when ``head_dim == Tk``, is not taken for a score.)"""
    chains: List[List[int]] = []
    for i, r in enumerate(records):
        if r.op_type != "softmax" or not r.outputs or len(r.outputs[0]) < 3:
            continue
        s = tuple(r.outputs[0])
        after = next((j for j in range(i + 1, len(records))
                      if records[j].op_type in MATMULS or records[j].op_type == "softmax"), None)
        if after is None or records[after].op_type == "softmax" or tuple(records[after].inputs[0]) != s:
            continue
        chain = [i, after]
        for h in range(i - 1, -1, -1):
            q = records[h]
            if q.outputs and tuple(q.outputs[0]) == s:
                chain.append(h)
                if q.op_type in MATMULS:
                    break
            elif q.op_type in MATMULS or q.op_type == "softmax":
                break
        chains.append(sorted(chain))
    return chains


def score_shapes(records: Sequence[OpRecord]) -> List[Shape]:
    """Shapes of the attention score tensors (see :func:`score_chains`)."""
    out: List[Shape] = []
    for chain in score_chains(records):
        s = tuple(records[chain[-1]].inputs[0])
        if s not in out:
            out.append(s)
    return out


def detect_attention(records: Sequence[OpRecord]) -> str:
    """``"causal"`` when a causal mask of the scores' last two dimensions is built in the job,
    else ``"dense"``."""
    tails = {s[-2:] for s in score_shapes(records)}
    for r in records:
        if r.op_type in CAUSAL_MASK_OPS and r.outputs and tuple(r.outputs[0][-2:]) in tails:
            return "causal"
    return "dense"


def _with_keep(rec: OpRecord, kept: int, of: int) -> OpRecord:
    attrs = dict(rec.attrs)
    attrs[KEEP] = (kept, of)
    return OpRecord(rec.op_type, rec.module, rec.inputs, rec.outputs, attrs, rec.name)


def mask_attention(records: Sequence[OpRecord], attention: str) -> Tuple[List[OpRecord], str]:
    """The records with the skipped attention work marked, and the attention kind applied
    (``"auto"`` resolved)."""
    kind, window = parse_attention(attention)
    if kind == "auto":
        kind = detect_attention(records)
    if kind == "dense":
        return list(records), kind
    out = list(records)
    for chain in score_chains(records):
        tq, tk = records[chain[-1]].inputs[0][-2:]
        kept = kept_pairs(tq, tk, window)
        for i in chain:
            out[i] = _with_keep(records[i], kept, tq * tk)
    return out, (kind if kind != "window" else f"window:{window}")


def moe_modules(named_modules: Iterable[Tuple[str, Any]]) -> Dict[str, Tuple[int, int]]:
    """Path of each mixture-of-experts module -> ``(top_k, number of experts)``."""
    out: Dict[str, Tuple[int, int]] = {}
    for path, m in named_modules:
        experts = getattr(m, "experts", None)
        k = getattr(m, "top_k", getattr(m, "num_experts_per_tok", None))
        if experts is not None and hasattr(experts, "__len__") and isinstance(k, int) and 0 < k <= len(experts):
            out[path] = (k, len(experts))
    return out


def _expert_index(module: str, moe: Dict[str, Tuple[int, int]]) -> Optional[Tuple[int, int]]:
    """``(expert index, top_k)`` when ``module`` is inside an expert of a known MoE module."""
    for path, (k, _) in moe.items():
        prefix = f"{path}.experts." if path else "experts."
        if module.startswith(prefix):
            head = module[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                return int(head), k
    return None


def active_experts(records: Sequence[OpRecord], moe: Dict[str, Tuple[int, int]]) -> List[OpRecord]:
    """The records with the work of all but ``top_k`` experts of each MoE module marked as
    skipped (see the module docstring)."""
    out = []
    for r in records:
        hit = _expert_index(r.module, moe)
        if hit is not None and hit[0] >= hit[1]:
            r = _with_keep(r, 0, 1)
        out.append(r)
    return out


def mark_records(records: Sequence[OpRecord], model: Any, attention: str = "dense",
                 experts: str = "all") -> Tuple[List[OpRecord], str]:
    """The records with the work the kernels skip marked (attention masks, inactive experts of
    ``model``'s mixtures of experts), and the attention kind applied (``"auto"`` resolved). A
    marked record is a new :class:`OpRecord`; the others are the records given."""
    parse_attention(attention)
    check_experts(experts)
    if attention == "dense" and experts == "all":
        return list(records), "dense"
    marked, kind = mask_attention(records, attention)
    if experts == "active" and hasattr(model, "named_modules"):
        marked = active_experts(marked, moe_modules(model.named_modules()))
    return marked, kind
