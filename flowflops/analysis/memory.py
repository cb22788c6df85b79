"""Memory of a forward pass or a training step, from a compiled job's records.

Graph and training records carry their tensors' names (``_in_tensors`` / ``_out_tensors``),
bytes per element and which inputs a ``variable`` op holds (``_params``). From them, in job
order:

- **parameters**: every variable read by the job that is not optimizer state (weights,
  biases, buffers such as BN statistics and masks);
- **optimizer state**: the variables an ``*_update`` op reads besides the parameter it
  updates (Adam's ``m`` and ``v``, momentum buffers, the train-step counter...), by
  optimizer type (the update op's name without ``_update``);
- **gradients**: the ``model_diff`` tensors the update ops read (input 1), one per parameter;
- **saved activations**: tensors a forward-phase op writes that a backward-phase op reads
  (what autograd keeps between the passes);
- **activation peak**: the most bytes of non-variable tensors alive at once, walking the job
  in order: a tensor is alive from the op that writes it (graph inputs: from the start) to
  the last op that reads it; views (``reshape``...) share their input's memory; a tensor no op
  reads lives to the end. Gradients are among these tensors in a training job.

``total = parameters + optimizer state + activation peak``. For global tensors each rank
holds its slice: a tensor split (``S(i)``) over ``n`` ranks along a hierarchy dimension costs
each rank ``1/n`` of its bytes, a broadcast (``B``) or partial (``P``) one its full size.
The plan OneFlow finally runs may differ: it reuses memory across tensors (lower peak) and
keeps workspace and allocator slack (higher); see benchmarks/RESULTS.md for measured gaps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..formulas.traffic import VIEW_OPS, data_inputs
from ..records import (IN_SBP, IN_TENSORS, OUT_SBP, OUT_TENSORS, PARAMS, PHASE, PLACEMENT, flat_ranks,
                      itemsizes, numel)

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = ["Memory", "memory_by_rank", "memory", "Fit", "fits"]


@dataclass
class Memory:
    """Bytes held by one rank (see the module docstring for each field's rule)."""

    params: int = 0
    gradients: int = 0
    optimizer_state: Dict[str, int] = field(default_factory=dict)
    saved_activations: int = 0
    activation_peak: int = 0

    @property
    def training_state(self) -> int:
        """Parameters, gradients and optimizer state."""
        return self.params + self.gradients + sum(self.optimizer_state.values())

    @property
    def total(self) -> int:
        """Parameters + optimizer state + activation peak (gradients are in the peak)."""
        return self.params + sum(self.optimizer_state.values()) + self.activation_peak


def _ranks_of(rec: Any) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """(flat ranks, hierarchy sizes) of a record's placement (rank 0 when it has none)."""
    place = rec.attrs.get(PLACEMENT) or {}
    ranks = place.get("ranks") if isinstance(place, dict) else None
    if ranks is None:
        return (0,), (1,)
    dims: List[int] = []
    r = ranks
    while isinstance(r, (tuple, list)):
        dims.append(len(r))
        r = r[0] if r else 0
    return tuple(flat_ranks(ranks)), tuple(dims) or (1,)


def _share(nbytes: int, sbp: Optional[Tuple[str, ...]], ranks: Tuple[int, ...],
           dims: Tuple[int, ...]) -> Dict[int, int]:
    """Rank -> bytes of a tensor of ``nbytes`` logical bytes with ``sbp`` on ``ranks``."""
    split = 1
    for k, s in enumerate(sbp or ()):
        if str(s).startswith("S") and k < len(dims):
            split *= dims[k]
    return {r: nbytes // split for r in ranks}


def _tensors(rec: Any) -> Tuple[List[Tuple[str, Dict[int, int]]], List[Tuple[str, Dict[int, int]]]]:
    """Each input and output of a record as (name, rank -> bytes)."""
    ranks, dims = _ranks_of(rec)
    ins, outs = itemsizes(rec)
    in_sbp, out_sbp = rec.attrs.get(IN_SBP) or (), rec.attrs.get(OUT_SBP) or ()
    names_in, names_out = rec.attrs.get(IN_TENSORS) or (), rec.attrs.get(OUT_TENSORS) or ()

    def side(names: Any, shapes: Any, sizes: Any, sbps: Any) -> List[Tuple[str, Dict[int, int]]]:
        return [(n, _share(numel(s) * b, sbps[i] if i < len(sbps) else None, ranks, dims))
                for i, (n, s, b) in enumerate(zip(names, shapes, sizes))]

    return side(names_in, rec.inputs, ins, in_sbp), side(names_out, rec.outputs, outs, out_sbp)


def _add(acc: Dict[int, int], share: Dict[int, int], sign: int = 1) -> None:
    for r, b in share.items():
        acc[r] = acc.get(r, 0) + sign * b


def memory_by_rank(report: "Aggregate") -> Dict[int, Memory]:
    """Rank -> :class:`Memory` of the counted job (one rank, 0, on a single device)."""
    entries = [rec for rec, _ in report.entries if rec.op_type != "boxing"]
    if not any(rec.attrs.get(IN_TENSORS) is not None for rec in entries):
        raise ValueError(
            "memory needs the tensors of a compiled job: count with mode='graph' (forward) or "
            "mode='train' (training step); an eager count does not know which tensors are alive")
    sizes: Dict[str, Dict[int, int]] = {}
    variables: Dict[str, str] = {}  # name -> "param" or optimizer type
    grads: set = set()
    alias: Dict[str, str] = {}
    produced_at: Dict[str, int] = {}
    last_read: Dict[str, int] = {}
    phase_of: Dict[str, str] = {}
    saved: set = set()

    def root(n: str) -> str:
        while n in alias:
            n = alias[n]
        return n

    for i, rec in enumerate(entries):
        ins, outs = _tensors(rec)
        params = set(rec.attrs.get(PARAMS, ()) or ())
        is_update = rec.op_type.endswith("_update")
        reads = set(data_inputs(rec))
        for k, (name, share) in enumerate(ins):
            sizes.setdefault(name, share)
            if k not in reads:
                continue
            if k in params:
                if is_update and k > 0:
                    variables[name] = rec.op_type[: -len("_update")]
                elif rec.op_type == "assign" and rec.attrs.get(PHASE) == "optimizer":
                    variables.setdefault(name, "train_step")
                else:
                    variables.setdefault(name, "param")
                continue
            if is_update and k == 1:
                grads.add(name)
            src = root(name)
            last_read[src] = i
            if rec.attrs.get(PHASE) == "backward" and phase_of.get(src, "forward") == "forward":
                saved.add(src)
        for name, share in outs:
            sizes[name] = share
            if rec.op_type in VIEW_OPS and ins and ins[0][0] not in variables:
                alias[name] = root(ins[0][0])
                continue
            produced_at[name] = i
            phase_of[name] = rec.attrs.get(PHASE, "forward")

    ranks = sorted({r for share in sizes.values() for r in share})
    out = {r: Memory() for r in ranks}
    for name, kind in variables.items():
        for r, b in sizes[name].items():
            if kind == "param":
                out[r].params += b
            else:
                out[r].optimizer_state[kind] = out[r].optimizer_state.get(kind, 0) + b
    for name in grads:
        for r, b in sizes[name].items():
            out[r].gradients += b
    for name in saved:
        for r, b in sizes[name].items():
            out[r].saved_activations += b

    # the activation peak: allocate at the writer, free after the last reader
    n = len(entries)
    frees: Dict[int, List[str]] = {}
    live: Dict[int, int] = {}
    peak: Dict[int, int] = {r: 0 for r in ranks}
    tensors = [t for t in set(last_read) | set(produced_at) if t not in variables and t not in alias]
    allocs: Dict[int, List[str]] = {}
    for t in tensors:
        start = produced_at.get(t, -1)
        allocs.setdefault(start, []).append(t)
        frees.setdefault(last_read.get(t, n), []).append(t)
    for t in allocs.get(-1, []):
        _add(live, sizes[t])
    for i in range(n):
        for t in allocs.get(i, []):
            _add(live, sizes[t])
        for r, b in live.items():
            peak[r] = max(peak.get(r, 0), b)
        for t in frees.get(i, []):
            _add(live, sizes[t], -1)
    for r in ranks:
        out[r].activation_peak = peak.get(r, 0)
    return out


def memory(report: "Aggregate", rank: int = 0) -> Memory:
    """The :class:`Memory` of ``rank`` (0 on a single device)."""
    by_rank = memory_by_rank(report)
    if rank not in by_rank:
        raise ValueError(f"rank {rank} runs nothing in this count: ranks are {sorted(by_rank)}")
    return by_rank[rank]


@dataclass
class Fit:
    """Whether the weights, the training state and the activations fit on a device."""

    device: str
    capacity: int
    memory: Memory
    weights: bool
    training_state: bool
    total: bool

    def __bool__(self) -> bool:
        return self.total


def fits(report: "Aggregate", device: Any, rank: int = 0) -> Fit:
    """Compare the most any rank holds with the device's memory."""
    from .hardware import get_device

    dev = get_device(device)
    by_rank = memory_by_rank(report)
    m = by_rank[rank] if rank in by_rank else max(by_rank.values(), key=lambda x: x.total)
    cap = int(dev.memory)
    return Fit(dev.name, cap, m, m.params <= cap, m.training_state <= cap, m.total <= cap)
