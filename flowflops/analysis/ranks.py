"""Per-rank cost and communication of a count of a global (distributed) model.

Count a model whose parameters and inputs are global tensors in graph mode, on every rank (run
under ``python -m oneflow.distributed.launch --nproc_per_node N``)::

    report = flowflops.profile(model, input_constructor=make_global_input, mode="graph")
    report.macs                      # the logical total: the same as the model on one device
    cost_by_rank(report)             # {rank: Cost}: what each rank computes
    comm_bytes_by_rank(report)       # {rank: bytes sent}
    print(report.rank_table())

The logical total needs nothing from here: a compiled job records every tensor's logical shape,
and the graph engine prices those. The per-rank view reads what
:func:`flowflops.graph.job.job_records` (or :mod:`flowflops.graph.text`) puts in each record's
attrs: ``_in_sbp`` / ``_out_sbp`` (per tensor, one SBP string per hierarchy dimension:
``"S(k)"``, ``"B"``, ``"P"``) and ``_placement`` (``{"type": "cpu", "ranks": (0, 1)}``; nested
ranks for a multi-dimensional hierarchy).

Compute: the rule
-----------------
Every op runs on every rank of its placement, on that rank's **local piece** of each of its
tensors, and costs that rank its formula priced on the local shapes. The local shape is the
logical shape with every split axis cut as OneFlow cuts it: ``S(k)`` over ``n`` ranks gives each
rank ``size / n`` along axis ``k`` (OneFlow's balanced split: when ``n`` does not divide the
size, the first ``size % n`` ranks get one more); ``B`` (broadcast) and ``P`` (partial sum)
tensors are whole on every rank. What follows from it:

* **split output** ``S(k)`` over ``n`` ranks (data parallel: batch split; tensor parallel:
  weight split on the output dimension): each rank costs ``1/n`` of the op (exactly its slice);
* **broadcast** (every tensor ``B``): every rank of the placement costs the whole op;
* **partial sum** ``P`` output from inputs split on the contraction (a matmul whose input is
  ``S(1)`` and weight ``S(1)``: ``K`` is cut): each rank does ``1/n`` of the MACs, on a whole
  output. An op reading partial sums (a bias added to ``P`` data) runs whole on every rank;
* **placement on a subset of ranks** (pipeline stages): only those ranks pay; the others none.

The sum over ranks is therefore at least the logical total: equal where all work is split, more
where work is repeated (broadcast ops, ops on partial sums). Should a formula fail on local shapes,
the rank costs the logical cost scaled by its share of the op's first output.

Communication: the rule
-----------------------
Bytes are counted for every communication record: a ``"boxing"`` record (where the job reads a
tensor with another SBP or placement than it was written with; OneFlow lowers it to
``System-Boxing-...`` ops in the plan) or an explicit communication op (``_nccl_logical_*``,
``eager_nccl_*``...), from the tensor's logical shape, its bytes per element (``_itemsize``,
4 when unknown) and the source and target SBP / placement. Each destination rank needs its
local piece of the target; every piece it (or, for a partial-sum target, a rank that sums with
it) does not already hold is sent to it point to point by a rank holding that piece. This gives:

* ``S(i) -> B`` (all-gather): each rank sends its slice to each of the ``n - 1`` others;
* ``S(i) -> S(j)`` (all-to-all): each rank sends every other rank the part of its slice that
  rank needs;
* ``B -> S``, ``B -> P``, ``S -> P``, and the same SBP on the same placement: nothing moves;
* ``P -> S(k)`` (reduce-scatter): each rank sends its partial values of every other rank's slice;
* ``P -> B`` on the same 1-D placement (all-reduce, counted as a ring: reduce-scatter then
  all-gather): each rank sends ``2 (n - 1) / n`` of the tensor;
* another placement (pipeline stages): the target ranks receive what they need from the source
  ranks (``B`` on ``[0]`` to ``B`` on ``[1]``: rank 0 sends the whole tensor to rank 1);
  partial sums are sent as they are and summed where they arrive.

:func:`comm_bytes_by_rank` gives the bytes each rank sends (``direction="received"``: receives);
both sum to the bytes that cross between ranks.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ..errors import FormulaError
from ..records import is_comm_op
from ..records import (IN_SBP, ITEM_BYTES, OUT_SBP, PLACEMENT, SRC_PLACEMENT, ZERO, Cost, OpRecord,
                      Shape, flat_ranks, numel)
from ..registry import price

Sbp = Tuple[str, ...]
Box = Tuple[Tuple[int, int], ...]

DEFAULT_ITEMSIZE = 4

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = [
    "Placement", "Transfer", "cost_by_rank", "comm_bytes_by_rank", "transfers", "local_shape",
    "transfer_bytes", "report_ranks",
]

# -- placements and SBP ----------------------------------------------------------------------------

def _shape_of(ranks: Any) -> Tuple[int, ...]:
    if isinstance(ranks, (tuple, list)):
        if ranks and isinstance(ranks[0], (tuple, list)):
            return (len(ranks),) + _shape_of(ranks[0])
        return (len(ranks),)
    return ()


@dataclass(frozen=True)
class Placement:
    """Where an op runs: device type, its ranks (flat, in ``placement.ranks`` order) and the
    hierarchy they form (``(n,)`` for a 1-D placement)."""

    type: str
    ranks: Tuple[int, ...]
    hierarchy: Tuple[int, ...]

    @classmethod
    def from_attr(cls, value: Mapping[str, Any]) -> "Placement":
        """From a record's ``_placement``: ``{"type": "cpu", "ranks": (0, 1)}`` (ranks nested
        for a multi-dimensional hierarchy; lists, as a JSON round trip gives, work too)."""
        ranks = value["ranks"]
        flat = tuple(flat_ranks(ranks))
        hierarchy = _shape_of(ranks) or (1,)
        return cls(str(value.get("type", "")), flat, hierarchy if flat else (0,))

    def index(self, pos: int) -> Tuple[int, ...]:
        """The hierarchy index of the ``pos``-th rank (row-major)."""
        idx = []
        for d in reversed(self.hierarchy):
            idx.append(pos % d)
            pos //= d
        return tuple(reversed(idx))


def _parse(s: str) -> Tuple[str, Optional[int]]:
    """``"S(1)" -> ("S", 1)``, ``"B" -> ("B", None)``, ``"P" -> ("P", None)``."""
    s = str(s).strip()
    if s.startswith("S(") and s.endswith(")"):
        return "S", int(s[2:-1])
    if s in ("B", "P"):
        return s, None
    raise ValueError(f"unknown SBP {s!r}: expected 'B', 'P' or 'S(<axis>)'")


def _split(size: int, parts: int, i: int) -> Tuple[int, int]:
    """``[start, stop)`` of part ``i`` of ``size`` cut into ``parts`` as OneFlow's balanced
    splitter cuts it (the first ``size % parts`` parts one longer)."""
    base, rem = divmod(size, parts)
    start = i * base + min(i, rem)
    return start, start + base + (1 if i < rem else 0)


def _check(sbp: Sbp, hierarchy: Tuple[int, ...], what: str) -> None:
    if len(sbp) != len(hierarchy):
        raise ValueError(
            f"{what}: the nd-SBP {tuple(sbp)} has {len(sbp)} dimension(s) but the placement "
            f"hierarchy {hierarchy} has {len(hierarchy)}"
        )


def local_box(shape: Shape, sbp: Sbp, hierarchy: Tuple[int, ...], index: Tuple[int, ...]) -> Box:
    """The region ``((start, stop) per axis)`` of a tensor of logical ``shape`` that the rank
    at hierarchy ``index`` holds under ``sbp`` (``B``/``P`` dimensions do not cut)."""
    box = [(0, int(d)) for d in shape]
    _check(sbp, hierarchy, f"tensor of shape {tuple(shape)}")
    for j, s in enumerate(sbp):
        kind, axis = _parse(s)
        if kind == "S" and axis is not None and 0 <= axis < len(box):
            lo, hi = box[axis]
            a, b = _split(hi - lo, hierarchy[j], index[j])
            box[axis] = (lo + a, lo + b)
    return tuple(box)


def local_shape(shape: Shape, sbp: Sbp, hierarchy: Tuple[int, ...], index: Tuple[int, ...]) -> Shape:
    """The physical (local) shape of a tensor of logical ``shape`` on the rank at hierarchy
    ``index``: e.g. ``(5, 8)`` with ``("S(0)",)`` over ``(2,)`` is ``(3, 8)`` on the first rank
    and ``(2, 8)`` on the second."""
    return tuple(hi - lo for lo, hi in local_box(shape, sbp, hierarchy, index))


def _volume(a: Box, b: Box) -> int:
    n = 1
    for (alo, ahi), (blo, bhi) in zip(a, b):
        n *= max(0, min(ahi, bhi) - max(alo, blo))
    return n


# -- compute ---------------------------------------------------------------------------------------

def _placed(report: "Aggregate") -> List[Tuple[OpRecord, Optional[Cost], Optional[Placement]]]:
    """Every entry with its placement (``None``: none recorded); raises for a report without any."""
    rows = []
    for rec, cost in report.entries:
        pl = rec.attrs.get(PLACEMENT)
        rows.append((rec, cost, Placement.from_attr(pl) if pl is not None else None))
    if not any(pl is not None for _, _, pl in rows):
        raise ValueError(
            "this report has no placements: per-rank costs need a graph-mode count "
            "(flowflops.profile(..., mode='graph')) of a model whose parameters and inputs are "
            f"global tensors (this one is a {report.mode!r} count)"
        )
    return rows


def report_ranks(report: "Aggregate") -> List[int]:
    """Every rank that some record of the report is placed on, sorted."""
    ranks: Set[int] = set()
    for rec, _ in report.entries:
        for key in (PLACEMENT, SRC_PLACEMENT):
            pl = rec.attrs.get(key)
            if pl is not None:
                ranks.update(Placement.from_attr(pl).ranks)
    return sorted(ranks)


def _sbps(rec: OpRecord, key: str, n: int) -> List[Optional[Sbp]]:
    given = rec.attrs.get(key) or ()
    out: List[Optional[Sbp]] = [tuple(s) for s in given[:n]]
    return out + [None] * (n - len(out))


def rank_cost(rec: OpRecord, cost: Cost, pl: Placement, pos: int) -> Cost:
    """What the ``pos``-th rank of ``pl`` pays for ``rec`` (logical cost ``cost``): the formula
    priced on that rank's local shapes (see the module docstring)."""
    ins = _sbps(rec, IN_SBP, len(rec.inputs))
    outs = _sbps(rec, OUT_SBP, len(rec.outputs))
    if not any(s is not None and any(x.startswith("S") for x in s) for s in ins + outs):
        return cost  # nothing is cut: the rank runs the whole op
    index = pl.index(pos)

    def local(shapes: Sequence[Shape], sbps: List[Optional[Sbp]]) -> Tuple[Shape, ...]:
        return tuple(shape if s is None else local_shape(shape, s, pl.hierarchy, index)
                     for shape, s in zip(shapes, sbps))

    local_rec = replace(rec, inputs=local(rec.inputs, ins), outputs=local(rec.outputs, outs))
    try:
        got = price(local_rec)
    except FormulaError:
        got = None
    if got is not None:
        return got
    # fallback: the logical cost scaled by the rank's share of the first output
    if not rec.outputs or not numel(rec.outputs[0]):
        return cost
    share, whole = numel(local_rec.outputs[0]), numel(rec.outputs[0])
    return Cost(cost.macs * share // whole, cost.flops * share // whole)


def cost_by_rank(report: "Aggregate") -> Dict[int, Cost]:
    """Rank -> the compute cost that rank does, for a graph-mode count of a global model.

    Rule: each op costs each rank of its placement its formula on that rank's local shapes
    (split ``S(k)`` over ``n`` ranks: ``1/n`` each; broadcast: the whole op on every rank;
    partial-sum output from a split contraction: ``1/n`` of the MACs each; ranks outside the
    op's placement: nothing). Records without a placement (none in a graph count) count as
    broadcast over all ranks. Every rank of the report is listed, ``Cost(0, 0)`` included.
    Raises ``ValueError`` for a report without placements (an eager count).
    """
    out: Dict[int, Cost] = {r: ZERO for r in report_ranks(report)}
    for costs in record_rank_costs(report):
        for r, c in costs.items():
            out[r] = out.get(r, ZERO) + c
    return dict(sorted(out.items()))


def record_rank_costs(report: "Aggregate") -> List[Dict[int, Cost]]:
    """Per entry of ``report.entries``, in order: rank -> what that rank pays for it, by the
    rule of :func:`cost_by_rank` (empty for an op without formula; ranks outside the op's
    placement are absent). Raises ``ValueError`` for a report without placements."""
    rows = _placed(report)
    ranks = report_ranks(report)
    everywhere = Placement("", tuple(ranks), (len(ranks),))
    out: List[Dict[int, Cost]] = []
    for rec, cost, pl in rows:
        if cost is None:
            out.append({})
            continue
        if pl is None:
            pl = everywhere
            rec = replace(rec, attrs={k: v for k, v in rec.attrs.items()
                                      if k not in (IN_SBP, OUT_SBP)})
        out.append({r: rank_cost(rec, cost, pl, pos) for pos, r in enumerate(pl.ranks)})
    return out


# -- communication ---------------------------------------------------------------------------------

def transfer_bytes(
    shape: Shape, itemsize: int, src_sbp: Sbp, src: Placement, dst_sbp: Sbp, dst: Placement,
) -> Tuple[Dict[int, int], Dict[int, int]]:
    """``(sent, received)``: rank -> bytes, for moving a tensor of logical ``shape`` (``itemsize``
    bytes per element) from ``src_sbp`` on ``src`` to ``dst_sbp`` on ``dst`` (the rules of the
    module docstring)."""
    sent = {r: 0 for r in src.ranks + dst.ranks}
    received = dict(sent)
    src_sbp, dst_sbp = tuple(src_sbp), tuple(dst_sbp)
    if src_sbp == dst_sbp and src == dst:
        return sent, received
    _check(src_sbp, src.hierarchy, "the source of a transfer")
    _check(dst_sbp, dst.hierarchy, "the target of a transfer")
    if src == dst and len(src.hierarchy) == 1 and src_sbp == ("P",) and dst_sbp == ("B",):
        # ring all-reduce: reduce-scatter then all-gather over n chunks of the flat tensor
        n, total = len(src.ranks), numel(shape)
        for pos, r in enumerate(src.ranks):
            a, b = _split(total, n, pos)
            chunk = b - a
            sent[r] = received[r] = (total - chunk + chunk * (n - 1)) * itemsize
        return sent, received

    # the pieces the source holds: (region, partial-sum index) -> ranks holding that piece
    pieces: "OrderedDict[Tuple[Box, Tuple[int, ...]], List[int]]" = OrderedDict()
    for pos, r in enumerate(src.ranks):
        idx = src.index(pos)
        pkey = tuple(idx[j] for j, s in enumerate(src_sbp) if s == "P")
        pieces.setdefault((local_box(shape, src_sbp, src.hierarchy, idx), pkey), []).append(r)
    # the target groups: ranks that differ only along partial-sum dimensions share one region
    # (any of them may hold any part of it); other ranks each need their own region
    groups: "OrderedDict[Tuple[Box, Tuple[int, ...]], List[int]]" = OrderedDict()
    dst_pos = {}
    for pos, q in enumerate(dst.ranks):
        idx = dst.index(pos)
        dst_pos[q] = pos
        gkey = tuple(idx[j] for j, s in enumerate(dst_sbp) if s != "P")
        groups.setdefault((local_box(shape, dst_sbp, dst.hierarchy, idx), gkey), []).append(q)
    for (box, _), members in groups.items():
        k = 0
        for (pbox, _), holders in pieces.items():
            vol = _volume(box, pbox)
            if vol == 0 or any(h in members for h in holders):
                continue
            receiver = members[k % len(members)]
            k += 1
            sender = holders[dst_pos[receiver] % len(holders)]
            sent[sender] += vol * itemsize
            received[receiver] += vol * itemsize
    return sent, received


@dataclass(frozen=True)
class Transfer:
    """The data one communication record moves: bytes sent and received per rank."""

    record: OpRecord
    sent: Dict[int, int] = field(default_factory=dict)
    received: Dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Bytes that cross between ranks."""
        return sum(self.sent.values())


def transfers(report: "Aggregate") -> List[Transfer]:
    """One :class:`Transfer` per communication record of the report that carries its SBP and
    placement (``"boxing"`` records and OneFlow's communication ops), in report order."""
    out = []
    for rec, _ in report.entries:
        if not is_comm_op(rec.op_type):
            continue
        a = rec.attrs
        if not a.get(IN_SBP) or not a.get(OUT_SBP) or a.get(PLACEMENT) is None:
            continue
        shapes = rec.inputs or rec.outputs
        if not shapes:
            continue
        dst = Placement.from_attr(a[PLACEMENT])
        src = Placement.from_attr(a.get(SRC_PLACEMENT) or a[PLACEMENT])
        itemsize = int(a.get(ITEM_BYTES) or DEFAULT_ITEMSIZE)
        sent, received = transfer_bytes(tuple(shapes[0]), itemsize, tuple(a[IN_SBP][0]), src,
                                        tuple(a[OUT_SBP][0]), dst)
        out.append(Transfer(rec, sent, received))
    return out


def comm_bytes_by_rank(report: "Aggregate", direction: str = "sent") -> Dict[int, int]:
    """Rank -> bytes that rank sends (``direction="received"``: receives) in the counted
    forward call, summed over every communication record (rules in the module docstring).
    Both directions sum to the same total. Every rank of the report is listed.
    Raises ``ValueError`` for a report without placements (an eager count)."""
    if direction not in ("sent", "received"):
        raise ValueError(f"direction must be 'sent' or 'received', got {direction!r}")
    _placed(report)
    out = {r: 0 for r in report_ranks(report)}
    for t in transfers(report):
        for r, b in getattr(t, direction).items():
            out[r] = out.get(r, 0) + b
    return dict(sorted(out.items()))
