"""The roofline: how long each op record should take on a device, and what bounds it.

For one record with ``F`` FLOPs (2 per multiply-accumulate) moving ``B`` bytes (read plus
written, see :class:`flowflops.records.Traffic`), on a device with peak rate ``P`` FLOP/s for
the dtype and memory bandwidth ``W`` bytes/s::

    time = max(F / P, B / W) / efficiency[family] + overhead      (records that do any work)
    bound = "compute" if F / P >= B / W else "memory"

``efficiency`` (per op family, 1 = the roofline itself) and ``overhead`` (seconds per op)
are 1 and 0 for the datasheet profiles and come from :func:`flowflops.calibrate` otherwise.
``dtype`` rescales the bytes of floating-point tensors (itemsize 2 or 4 as counted) to the
dtype's size, so a float32 count can be predicted at fp16; int64 indices keep their size.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional

from .hardware import DTYPE_ALIASES, DTYPE_BYTES, Device, get_device
from ..records import OpRecord, Traffic, itemsizes
from ..registry import traffic
from ..report import ancestors

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = ["FAMILIES", "family", "OpTime", "Roofline", "scaled_traffic", "op_time", "roofline"]

#: Op families calibrated separately (op type -> family; everything else is "other").
FAMILIES = ("matmul", "conv", "grouped_conv", "norm", "softmax", "pool", "other")


def family(rec: OpRecord) -> str:
    """The family a record is calibrated with (a convolution with ``groups > 1``, such as a
    depthwise one, is ``grouped_conv``: its kernels reach far lower rates)."""
    t = rec.op_type
    if "conv" in t:
        return "grouped_conv" if int(rec.attrs.get("groups", 1) or 1) > 1 else "conv"
    if "matmul" in t or t in ("fused_matmul_bias", "fused_matmul_bias_add_relu_dropout"):
        return "matmul"
    if "norm" in t:
        return "norm"
    if "softmax" in t:
        return "softmax"
    if "pool" in t:
        return "pool"
    return "other"


@dataclass(frozen=True)
class OpTime:
    """One record on the roofline: FLOPs, bytes at the dtype, bound and predicted seconds."""

    flops: int
    bytes: int
    bound: str
    time: float
    family: str


@dataclass
class Roofline:
    """Predicted times of a report's records on ``device`` at ``dtype`` (a view of the report;
    ``ops`` is in the order of ``report.entries``). Times are seconds for the input as given."""

    report: "Aggregate"
    device: Device
    dtype: str
    ops: List[OpTime] = field(default_factory=list)

    @property
    def total(self) -> float:
        """Predicted seconds of all records run one after the other."""
        return sum(o.time for o in self.ops)

    def by_module(self) -> Dict[str, float]:
        """Module path -> predicted seconds of the module and everything inside it."""
        out: Dict[str, float] = {p: 0.0 for p in self.report.modules}
        for (rec, _), o in zip(self.report.entries, self.ops):
            for p in ancestors(rec.module):
                out[p] = out.get(p, 0.0) + o.time
        return out

    def by_operator(self) -> Dict[str, float]:
        """Op type -> predicted seconds, longest first."""
        out: Dict[str, float] = {}
        for (rec, _), o in zip(self.report.entries, self.ops):
            out[rec.op_type] = out.get(rec.op_type, 0.0) + o.time
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def by_module_bytes(self) -> Dict[str, int]:
        """Module path -> bytes the module and everything inside it move at this dtype (the
        bytes the predicted times use)."""
        out: Dict[str, int] = {p: 0 for p in self.report.modules}
        for (rec, _), o in zip(self.report.entries, self.ops):
            for p in ancestors(rec.module):
                out[p] = out.get(p, 0) + o.bytes
        return out

    @property
    def bytes(self) -> int:
        """Bytes all records move at this dtype."""
        return sum(o.bytes for o in self.ops)

    def bound_by_module(self) -> Dict[str, str]:
        """Module path -> ``"compute"`` or ``"memory"``: what bounds most of its predicted time."""
        split: Dict[str, Dict[str, float]] = {}
        for (rec, _), o in zip(self.report.entries, self.ops):
            for p in ancestors(rec.module):
                d = split.setdefault(p, {"compute": 0.0, "memory": 0.0})
                d[o.bound] += o.time
        return {p: max(d, key=lambda k: d[k]) for p, d in split.items() if d["compute"] + d["memory"] > 0}


def scaled_traffic(rec: OpRecord, itemsize: Optional[int]) -> Traffic:
    """The record's bytes with floating-point tensors (itemsize 2 or 4) at ``itemsize``."""
    if itemsize is None:
        return traffic(rec)
    ins, outs = itemsizes(rec)
    fix = lambda sizes: tuple(itemsize if s in (2, 4) else s for s in sizes)  # noqa: E731
    attrs = dict(rec.attrs, _in_itemsizes=fix(ins), _out_itemsizes=fix(outs))
    rec2 = OpRecord(rec.op_type, rec.module, rec.inputs, rec.outputs, attrs, rec.name)
    return traffic(rec2)


def op_time(flops: int, nbytes: int, device: Device, peak: float, fam: str) -> OpTime:
    """The roofline time of one op (see the module docstring)."""
    if flops == 0 and nbytes == 0:
        return OpTime(0, 0, "memory", 0.0, fam)
    t_c, t_m = flops / peak, nbytes / device.bandwidth
    eff = device.efficiency.get(fam, 1.0) or 1.0
    return OpTime(flops, nbytes, "compute" if t_c >= t_m else "memory",
                  max(t_c, t_m) / eff + device.overhead, fam)


def roofline(report: "Aggregate", device: "str | Device" = "cpu", dtype: str = "fp32") -> Roofline:
    """Predict every record of ``report`` on ``device`` (a name from
    :func:`flowflops.hardware.device_names` or a :class:`~flowflops.hardware.Device`) at
    ``dtype`` (``fp32``, ``fp16``, ``bf16``, ``tf32``, ...)."""
    dev = get_device(device)
    dtype = DTYPE_ALIASES.get(dtype, dtype)
    peak = dev.peak(dtype)
    itemsize = DTYPE_BYTES.get(dtype)
    ops = []
    for rec, cost in report.entries:
        t = scaled_traffic(rec, itemsize)
        ops.append(op_time(0 if cost is None else cost.flops, t.total, dev, peak, family(rec)))
    return Roofline(report, dev, dtype, ops)

