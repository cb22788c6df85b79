"""Placements and nd-SBP signatures of a compiled job, and the communication they imply.

Every op of a compiled job has a placement (``job.placement.placement_group``) and an nd-SBP
signature (``job.job_parallel_view_conf.op_name2nd_sbp_signature_conf[op].bn_in_op2nd_sbp``,
keyed ``"<arg>_<index>"`` for user ops and by the blob name, e.g. ``"out"``, for the others),
as ``oneflow/nn/graph/util.py`` reads them to print a graph. :class:`JobParallel` turns them
into the record attributes the per-rank view reads (:mod:`flowflops.distributed`):

* ``_in_sbp`` / ``_out_sbp``: one tuple of SBP strings (``"S(0)"``, ``"B"``, ``"P"``, one per
  hierarchy dimension) per input / output tensor, in the order of the record's shapes;
* ``_placement``: ``{"type": "cpu", "ranks": (0, 1)}``; for a multi-dimensional hierarchy
  ``ranks`` is nested like ``placement.ranks`` (``((0, 1), (2, 3))``).

On the CPU (and on CUDA unless OneFlow's NCCL-logical pass runs) the compiled *job* holds no
communication ops: OneFlow inserts its boxing (``System-Boxing-...``) when it lowers the job to
a plan. The job still says where boxing happens: wherever a tensor's producer writes it with one
SBP / placement and a consumer reads it with another. :meth:`JobParallel.boxing_records` makes
one ``"boxing"`` record (zero compute cost) for each such (tensor, target SBP, target placement),
with ``_src_placement``, ``_itemsize`` (bytes per element) and ``_tensor`` (the blob name) in
its attrs besides the three keys above. Explicit communication user ops (``_nccl_logical_*``,
``eager_nccl_*``...) are ordinary records whose own in/out SBP differ; they get ``_itemsize``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from google.protobuf import text_format

from ..records import is_comm_op
from ..records import IN_SBP, ITEM_BYTES, OUT_SBP, PLACEMENT, SRC_PLACEMENT, TENSOR, OpRecord, flat_ranks

__all__ = ["Sbp", "BOXING_OP_TYPE", "sbp_strings", "JobParallel"]

Sbp = Tuple[str, ...]

BOXING_OP_TYPE = "boxing"


def sbp_strings(nd_sbp: Any) -> Sbp:
    """An ``NdSbp`` message as strings, one per hierarchy dimension: ``("S(0)",)``, ``("B",)``,
    ``("P",)``, ``("S(0)", "B")``."""
    out = []
    for sbp in nd_sbp.sbp_parallel:
        if sbp.HasField("split_parallel"):
            out.append(f"S({sbp.split_parallel.axis})")
        elif sbp.HasField("partial_sum_parallel"):
            out.append("P")
        else:
            out.append("B")
    return tuple(out)


# a job's placement (its ParallelConf, serialised) -> (device type, ranks): reading one makes a
# placement from its text form, which costs a millisecond on a job of a few hundred ops
_PLACEMENTS: Dict[bytes, Tuple[str, Any]] = {}
_ITEMSIZES: Dict[int, int] = {}  # OneFlow's data type number -> bytes per element


def _itemsize(data_type: int) -> int:
    size = _ITEMSIZES.get(data_type)
    if size is None:
        import oneflow as flow

        try:
            size = int(flow.dtype.get(int(data_type)).bytes)
        except Exception:
            size = 4
        _ITEMSIZES[data_type] = size
    return size


def _nested(ranks: Any) -> Any:
    """``placement.ranks`` (a numpy array) as ints: a flat tuple for a 1-D hierarchy, nested
    tuples for more dimensions."""
    if getattr(ranks, "ndim", 1) <= 1:
        return tuple(int(r) for r in list(ranks))
    return tuple(_nested(row) for row in ranks)


class JobParallel:
    """Placement and SBP of every op and tensor of one compiled job."""

    def __init__(self, job: Any) -> None:
        import oneflow as flow

        self.job = job
        self.sigs = job.job_parallel_view_conf.op_name2nd_sbp_signature_conf
        self.descs = job.helper.lbn2logical_blob_desc
        self._blobs: Dict[str, Tuple[Tuple[int, ...], int]] = {}  # blob name -> (shape, bytes per element)
        self.placements: Dict[str, Dict[str, Any]] = {}
        for group in job.placement.placement_group:
            conf = group.parallel_conf
            key = conf.SerializeToString()
            got = _PLACEMENTS.get(key)
            if got is None:
                try:
                    pl = flow.placement(proto_str=text_format.MessageToString(conf))
                    got = (str(pl.type), _nested(pl.ranks))
                except Exception:  # a placement this process cannot make: read the conf itself
                    got = (str(conf.device_tag), _conf_ranks(conf))
                if len(_PLACEMENTS) > 256:
                    _PLACEMENTS.clear()
                _PLACEMENTS[key] = got
            value = {"type": got[0], "ranks": got[1]}
            for name in group.op_set.op_name:
                self.placements[name] = value
        flat = set()
        for pl in self.placements.values():
            flat.add(tuple(flat_ranks(pl["ranks"])))
        #: more than one rank takes part: SBPs matter and boxing between them can move data
        self.distributed = len(flat) > 1 or any(len(r) > 1 for r in flat)
        # tensor name -> (SBP, placement) as its producer writes it (only needed for boxing)
        self.produced: Dict[str, Tuple[Sbp, Optional[Dict[str, Any]]]] = {}
        if not self.distributed:
            return
        for op in job.net.op:
            bn2sbp = self._bn2sbp(op.name)
            pl = self.placements.get(op.name)
            if op.HasField("user_conf"):
                for bn in op.user_conf.output_order:
                    for i, lbn in enumerate(op.user_conf.output[bn].s):
                        if f"{bn}_{i}" in bn2sbp:
                            self.produced[lbn] = (sbp_strings(bn2sbp[f"{bn}_{i}"]), pl)
            else:
                for key, nd in bn2sbp.items():
                    lbn = f"{op.name}/{key}"
                    if lbn in self.descs:
                        self.produced[lbn] = (sbp_strings(nd), pl)

    def _bn2sbp(self, op_name: str) -> Any:
        return self.sigs[op_name].bn_in_op2nd_sbp if op_name in self.sigs else {}

    def _args_sbp(self, op_name: str, arg_map: Any, order: Any) -> Optional[Tuple[Sbp, ...]]:
        bn2sbp = self._bn2sbp(op_name)
        out = []
        for bn in order:
            for i in range(len(arg_map[bn].s)):
                key = f"{bn}_{i}"
                if key not in bn2sbp:
                    return None
                out.append(sbp_strings(bn2sbp[key]))
        return tuple(out)

    def itemsize(self, lbn: str) -> int:
        """Bytes per element of a tensor of the job (4 when its dtype is unknown)."""
        return self.blob(lbn)[1]

    def blob(self, lbn: str) -> Tuple[Tuple[int, ...], int]:
        """The shape of a tensor of the job and its bytes per element (4 when its dtype is
        unknown), read from the job once."""
        got = self._blobs.get(lbn)
        if got is None:
            desc = self.descs[lbn]
            got = self._blobs[lbn] = (tuple(int(d) for d in desc.shape.dim), _itemsize(desc.data_type))
        return got

    def user_op_attrs(self, op: Any) -> Dict[str, Any]:
        """``_in_sbp``, ``_out_sbp`` and ``_placement`` of a user op (those it has), plus
        ``_itemsize`` (of its first input) for a communication op. On a single device every
        tensor is broadcast, so only the placement is recorded (reading SBPs costs time)."""
        u = op.user_conf
        attrs: Dict[str, Any] = {}
        if not self.distributed:
            if op.name in self.placements:
                attrs[PLACEMENT] = self.placements[op.name]
            return attrs
        ins = self._args_sbp(op.name, u.input, u.input_order)
        outs = self._args_sbp(op.name, u.output, u.output_order)
        if ins is not None:
            attrs[IN_SBP] = ins
        if outs is not None:
            attrs[OUT_SBP] = outs
        if op.name in self.placements:
            attrs[PLACEMENT] = self.placements[op.name]

        if is_comm_op(u.op_type_name):
            lbns = [lbn for bn in u.input_order for lbn in u.input[bn].s]
            if lbns:
                attrs[ITEM_BYTES] = self.itemsize(lbns[0])
        return attrs

    def _inputs(self, op: Any) -> List[Tuple[str, Sbp]]:
        """(tensor name, SBP the op reads it with) for each input of a user or output op."""
        bn2sbp = self._bn2sbp(op.name)
        out = []
        if op.HasField("user_conf"):
            u = op.user_conf
            for bn in u.input_order:
                for i, lbn in enumerate(u.input[bn].s):
                    if f"{bn}_{i}" in bn2sbp:
                        out.append((lbn, sbp_strings(bn2sbp[f"{bn}_{i}"])))
        elif op.HasField("output_conf") and "in" in bn2sbp:
            out.append((getattr(op.output_conf, "in"), sbp_strings(bn2sbp["in"])))
        return out

    def boxing_records(self, op: Any, module: str, seen: set) -> List[OpRecord]:
        """One ``"boxing"`` record per input of ``op`` (a user op or a graph output) that its
        producer writes with another SBP or placement, in a job where more than one rank takes
        part. ``seen`` holds the (tensor, SBP, placement) already boxed (a boxed tensor read twice
        the same way is moved once)."""
        if not self.distributed:
            return []
        dst_pl = self.placements.get(op.name)
        records = []
        for lbn, dst_sbp in self._inputs(op):
            if lbn not in self.produced or dst_pl is None:
                continue
            src_sbp, src_pl = self.produced[lbn]
            if src_pl is None or (src_sbp == dst_sbp and src_pl == dst_pl):
                continue
            key = (lbn, dst_sbp, repr(dst_pl))
            if key in seen:
                continue
            seen.add(key)
            shape = tuple(int(d) for d in self.descs[lbn].shape.dim)
            attrs = {
                IN_SBP: (src_sbp,), OUT_SBP: (dst_sbp,), PLACEMENT: dst_pl,
                SRC_PLACEMENT: src_pl, ITEM_BYTES: self.itemsize(lbn), TENSOR: lbn,
            }
            records.append(OpRecord(BOXING_OP_TYPE, module, (shape,), (shape,), attrs,
                                    f"System-Boxing-{lbn}-to-{op.name}"))
        return records


def _conf_ranks(conf: Any) -> Any:
    """The ranks of a ``ParallelConf`` read from its ``device_name`` entries (``"@0:0"``,
    ``"@0:0-3"``: the device numbers, as on one machine), nested by its hierarchy."""
    flat: List[int] = []
    for name in conf.device_name:
        devices = name.split(":", 1)[-1]
        lo, _, hi = devices.partition("-")
        flat.extend(range(int(lo), int(hi or lo) + 1))
    dims = [int(d) for d in conf.hierarchy.dim] or [len(flat)]

    def nest(items: List[int], shape: List[int]) -> Any:
        if len(shape) <= 1:
            return tuple(items)
        step = len(items) // shape[0]
        return tuple(nest(items[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0]))

    return nest(flat, dims)
