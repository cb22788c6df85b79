"""A cost gate: did anything grow past a limit between a baseline report and a new count?
Built on :func:`flowflops.analysis.diff.report_diff` (modules matched by path, renames and added
subtrees folded as the diff folds them). Data only: :mod:`flowflops.render.gate` makes the text;
:func:`flowflops.result.check` reads report files and adds it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from .diff import Side, report_diff
from ..records import NO_TRAFFIC

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = ["METRICS", "Growth", "GateResult", "check_growth", "parse_growth", "parse_metrics"]

#: What a gate can watch: per module and op type, and in total.
METRICS = ("macs", "flops", "params", "bytes")


@dataclass
class Growth:
    """One number that grew past the limit: ``kind`` ``"total"``, ``"module"`` or
    ``"op_type"``; ``name`` the module path or op type (``""``: the model); ``status`` the
    diff's (``changed``, ``added``, ``renamed``); ``before``/``after`` the metric's values
    (``before`` 0 for something new)."""

    kind: str
    name: str
    type_name: str
    metric: str
    before: int
    after: int
    status: str = "changed"
    old_name: Optional[str] = None

    @property
    def growth(self) -> Optional[float]:
        """``after / before - 1`` (``None`` when there was nothing before)."""
        return self.after / self.before - 1 if self.before else None


@dataclass
class GateResult:
    """``passed``: nothing grew past ``max_growth`` (a fraction: 0.005 = 0.5%) in ``metrics``;
    ``grown``: each total, module and op type that did; ``baseline``/``current``: the two
    counts (name, mode, convention, inputs, totals); ``mismatches``: how the two counts differ
    besides the model (mode, convention, inputs), when they do."""

    passed: bool
    max_growth: float
    metrics: Tuple[str, ...]
    grown: List[Growth]
    baseline: Side
    current: Side
    totals: Dict[str, Tuple[int, int]] = field(default_factory=dict)
    mismatches: List[Tuple[str, str, str]] = field(default_factory=list)


def parse_growth(text: str) -> float:
    """``"0.5%"`` -> 0.005, ``"0.005"`` -> 0.005, ``"0"`` -> 0. ``ValueError`` otherwise."""
    s = str(text).strip()
    try:
        value = float(s[:-1]) / 100 if s.endswith("%") else float(s)
    except ValueError:
        raise ValueError(f"bad growth limit {text!r}: give a percentage (0.5%) or a fraction (0.005)") from None
    if not value >= 0:
        raise ValueError(f"bad growth limit {text!r}: it must be 0 or more")
    return value


def parse_metrics(text: str) -> Tuple[str, ...]:
    """``"macs,params"`` -> ``("macs", "params")``; ``ValueError`` naming the known ones."""
    names = tuple(m.strip().lower() for m in str(text).split(",") if m.strip())
    bad = [m for m in names if m not in METRICS]
    if bad or not names:
        raise ValueError(f"unknown metric {', '.join(bad) or repr(text)}: choose from {', '.join(METRICS)}")
    return names


def _grew(before: int, after: int, limit: float) -> bool:
    return after > before * (1 + limit) if before > 0 else after > 0


def check_growth(baseline: "Tuple[Aggregate, str]", current: "Tuple[Aggregate, str]", *,
                 max_growth: float = 0.0, metrics: Sequence[str] = ("macs", "params")) -> GateResult:
    """Compare ``current`` with ``baseline`` (each a report with its name): every total,
    module and op type whose ``metrics`` grew by more than ``max_growth`` (a fraction) is in
    ``grown``; modules new in ``current`` count as grown when they cost anything (an added
    subtree once, by its top module)."""
    metrics = tuple(metrics)
    for m in metrics:
        if m not in METRICS:
            raise ValueError(f"unknown metric {m!r}: choose from {', '.join(METRICS)}")
    (ra, na), (rb, nb) = baseline, current
    d = report_diff((ra, na), (rb, nb))
    bytes_a, bytes_b = _bytes(ra), _bytes(rb)
    grown: List[Growth] = []

    def value(report_bytes: Dict[str, int], nums: object, path: str, metric: str) -> int:
        if nums is None:
            return 0
        if metric == "bytes":
            return report_bytes.get(path, 0)
        return int(getattr(nums, metric))

    totals: Dict[str, Tuple[int, int]] = {}
    for m in metrics:
        before = ra.bytes if m == "bytes" else getattr(d.a.totals, m)
        after = rb.bytes if m == "bytes" else getattr(d.b.totals, m)
        totals[m] = (before, after)
        if _grew(before, after, max_growth):
            grown.append(Growth("total", "", rb.modules[""].type_name if "" in rb.modules else "", m,
                                before, after))
    for row in d.changed_modules():
        if row.status not in ("changed", "added", "renamed") or row.path == "":
            continue
        old = row.old_path or row.path
        for m in metrics:
            before = value(bytes_a, row.a, old, m)
            after = value(bytes_b, row.b, row.path, m)
            if _grew(before, after, max_growth):
                grown.append(Growth("module", row.path, row.type, m, before, after, row.status, row.old_path))
    ops_a, ops_b = _op_bytes(ra), _op_bytes(rb)
    for row in d.operators:
        if row.status not in ("changed", "added"):
            continue
        for m in metrics:
            if m == "params":
                continue
            before = ops_a.get(row.path, 0) if m == "bytes" else (getattr(row.a, m) if row.a else 0)
            after = ops_b.get(row.path, 0) if m == "bytes" else (getattr(row.b, m) if row.b else 0)
            if _grew(before, after, max_growth):
                grown.append(Growth("op_type", row.path, row.path, m, before, after, row.status))
    mismatches = list(d.mismatches)
    if _shapes(ra.inputs) != _shapes(rb.inputs):
        mismatches.append(("inputs", str(ra.inputs), str(rb.inputs)))
    return GateResult(not grown, max_growth, metrics, grown, d.a, d.b, totals, mismatches)


def _shapes(inputs: object) -> str:
    """The inputs as JSON text (tuples and lists alike), to compare a live count with a file."""
    import json

    return json.dumps(inputs, default=str)


def _bytes(report: "Aggregate") -> Dict[str, int]:
    return {p: t.total for p, t in report.by_module_bytes().items()}


def _op_bytes(report: "Aggregate") -> Dict[str, int]:
    per_op = report.by_operator_bytes()
    return {op: per_op.get(op, NO_TRAFFIC).total for op in report.operator_counts()}
