"""Differences between counts: :func:`report_diff` (two reports, module by module and op type by
op type) and :func:`comparison` (several reports side by side: an ablation table).

Modules are matched by path (``layer3.5.conv1``). A path only in the first report is
*removed*, one only in the second *added*; a removed module and an added one with the same
type, parameters, MACs, FLOPs and child names, under the same (or a renamed) parent, are one
module *renamed*. All numbers are per batch, for each report's inputs as given; MACs in each
report's convention (the diff says so when the two differ). Reading report files and the
public :func:`flowflops.diff` / :func:`flowflops.compare` are in :mod:`flowflops.result`;
rendering is in :mod:`flowflops.render.diff`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = ["Numbers", "Row", "Side", "ReportDiff", "report_diff", "Comparison", "comparison"]


@dataclass
class Numbers:
    """MACs, FLOPs and parameters of one module (or op type, or model) in one report; ``calls``:
    how many op records (of an op type, or of the whole model)."""

    macs: int = 0
    flops: int = 0
    params: int = 0
    calls: int = 0


@dataclass
class Row:
    """One module or op type in a diff. ``a``/``b``: its numbers in each report (``None``: not
    there). ``status``: ``same``, ``changed``, ``added``, ``removed`` or ``renamed`` (then
    ``old_path`` is its path in the first report). ``depth``: 0 for the model. ``inside``: the
    number of submodules of an added/removed/renamed module that share its status."""

    path: str
    type: str
    status: str
    a: Optional[Numbers]
    b: Optional[Numbers]
    depth: int = 0
    old_path: Optional[str] = None
    parent_status: Optional[str] = None
    inside: int = 0

    @property
    def d_macs(self) -> int:
        return (self.b.macs if self.b else 0) - (self.a.macs if self.a else 0)

    @property
    def d_flops(self) -> int:
        return (self.b.flops if self.b else 0) - (self.a.flops if self.a else 0)

    @property
    def d_params(self) -> int:
        return (self.b.params if self.b else 0) - (self.a.params if self.a else 0)


@dataclass
class Side:
    """What the diff says about one report: its name, mode, convention, inputs and totals."""

    name: str
    mode: str
    convention: Optional[str]
    inputs: Any
    totals: Numbers


@dataclass
class ReportDiff:
    """The differences from report ``a`` to report ``b`` (``b - a``). ``mismatches``: what the
    two counts differ in besides the model (``("mode", "eager", "graph")``,
    ``("convention", ...)``): their numbers are then not like for like."""

    a: Side
    b: Side
    modules: List[Row]
    operators: List[Row]
    mismatches: List[Tuple[str, str, str]] = field(default_factory=list)

    def changed_modules(self, depth: Optional[int] = None, everything: bool = False) -> List[Row]:
        """The rows a printout shows: modules that differ (all with ``everything``), to
        ``depth``, with the submodules of an added/removed/renamed module folded into it."""
        return [r for r in self.modules
                if (everything or r.status != "same") and r.parent_status is None
                and (depth is None or r.depth <= depth)]

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


# -- one diff -------------------------------------------------------------------------------------

def _numbers(report: "Aggregate") -> Dict[str, Numbers]:
    by_module = report.by_module()
    return {p: Numbers(by_module[p].macs, by_module[p].flops, info.params) for p, info in report.modules.items()}


def _side(report: "Aggregate", name: str) -> Side:
    return Side(name, report.mode, report.convention, report.inputs,
                Numbers(report.macs, report.flops, report.params, len(report.entries)))


def _depth(path: str) -> int:
    return 0 if path == "" else path.count(".") + 1


def _parent(path: str) -> Optional[str]:
    return None if path == "" else path.rpartition(".")[0]


def _renames(a: "Aggregate", b: "Aggregate", na: Dict[str, Numbers], nb: Dict[str, Numbers]) -> Dict[str, str]:
    """Old path -> new path for modules that only moved (see the module docstring)."""
    removed = [p for p in a.modules if p not in b.modules]
    added = [p for p in b.modules if p not in a.modules]

    def signature(report: "Aggregate", nums: Dict[str, Numbers], p: str) -> tuple:
        info, n = report.modules[p], nums[p]
        return (info.type_name, n.macs, n.flops, n.params, tuple(c for c, _ in info.children))

    free = {p: signature(b, nb, p) for p in added}
    out: Dict[str, str] = {}
    for old in removed:
        want, parent = signature(a, na, old), _parent(old)
        new_parent = out.get(parent, parent) if parent is not None else None
        for new in added:
            if new in free and free[new] == want and _parent(new) == new_parent:
                out[old] = new
                del free[new]
                break
    return out


def _module_rows(a: "Aggregate", b: "Aggregate") -> List[Row]:
    na, nb = _numbers(a), _numbers(b)
    renamed = _renames(a, b, na, nb)
    new_of_old = {**{p: p for p in a.modules if p in b.modules}, **renamed}
    old_of_new = {v: k for k, v in new_of_old.items()}
    rows: Dict[str, Row] = {}
    order: List[str] = []
    for p in b.modules:
        old = old_of_new.get(p)
        if old is None:
            status = "added"
        elif old != p:
            status = "renamed"
        else:
            x, y = na[p], nb[p]
            status = "same" if (x.macs, x.flops, x.params) == (y.macs, y.flops, y.params) else "changed"
        rows[p] = Row(p, b.modules[p].type_name, status, None if old is None else na[old], nb[p],
                      _depth(p), old if status == "renamed" else None)
        order.append(p)
    # removed modules go right after the module that precedes them in the first report
    removed_after: Dict[Optional[str], List[Row]] = {}
    prev: Optional[str] = None
    for p in a.modules:
        if p in new_of_old:
            prev = new_of_old[p]
        else:
            removed_after.setdefault(prev, []).append(Row(p, a.modules[p].type_name, "removed", na[p], None, _depth(p)))
    out = removed_after.get(None, [])
    for p in order:
        out += [rows[p]] + removed_after.get(p, [])
    # fold the insides of added / removed / renamed subtrees into their top module
    by_path = {(r.status == "removed", r.path): r for r in out}
    for r in out:
        parent = _parent(r.path)
        if parent is None or r.status not in ("added", "removed", "renamed"):
            continue
        up = by_path.get((r.status == "removed", parent))
        if up is not None and up.status == r.status:
            top = up
            while top.parent_status is not None:
                top = by_path[(top.status == "removed", top.path.rpartition(".")[0])]
            r.parent_status = r.status
            top.inside += 1
    return out


def _operator_rows(a: "Aggregate", b: "Aggregate") -> List[Row]:
    def nums(report: "Aggregate") -> Dict[str, Numbers]:
        counts = report.operator_counts()
        costs = report.by_operator()
        return {op: Numbers(costs[op].macs if op in costs else 0, costs[op].flops if op in costs else 0, 0, n)
                for op, n in counts.items()}

    oa, ob = nums(a), nums(b)
    rows = []
    for op in list(oa) + [o for o in ob if o not in oa]:
        x, y = oa.get(op), ob.get(op)
        status = ("added" if x is None else "removed" if y is None else
                  "same" if (x.macs, x.flops, x.calls) == (y.macs, y.flops, y.calls) else "changed")
        rows.append(Row(op, op, status, x, y))
    return sorted(rows, key=lambda r: (-abs(r.d_macs), r.path))


def report_diff(a: Tuple["Aggregate", str], b: Tuple["Aggregate", str]) -> ReportDiff:
    """The differences from report ``a`` to ``b`` (each with its name) as ``b - a``."""
    (ra, na), (rb, nb) = a, b
    if na == nb:
        na, nb = f"A: {na}", f"B: {nb}"
    sa, sb = _side(ra, na), _side(rb, nb)
    mismatches = [(what, str(x), str(y)) for what, x, y in
                  (("mode", sa.mode, sb.mode), ("convention", sa.convention, sb.convention)) if x != y]
    return ReportDiff(sa, sb, _module_rows(ra, rb), _operator_rows(ra, rb), mismatches)


# -- several reports --------------------------------------------------------------------------------

@dataclass
class Comparison:
    """Several reports side by side (the first is the baseline): ``sides`` in order and, for
    ``modules`` (the paths to ``depth`` in the baseline's order, then any new ones), each
    report's numbers (``None``: not in that report)."""

    sides: List[Side]
    modules: List[Tuple[str, List[Optional[Numbers]]]]
    mismatches: List[Tuple[str, str, str]] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def comparison(loaded: Sequence[Tuple["Aggregate", str]], depth: Optional[int] = None) -> Comparison:
    """Several reports (each with its name; the first the baseline) side by side; with ``depth``,
    also each module to that depth (matched by path) in every report."""
    sides = [_side(r, n) for r, n in loaded]
    mismatches = []
    for what in ("mode", "convention"):
        seen = sorted({str(getattr(s, what)) for s in sides})
        if len(seen) > 1:
            mismatches.append((what, str(getattr(sides[0], what)), ", ".join(seen)))
    modules: List[Tuple[str, List[Optional[Numbers]]]] = []
    if depth is not None:
        nums = [_numbers(r) for r, _ in loaded]
        paths: Dict[str, None] = {}  # ordered, each path once
        for r, _ in loaded:
            paths.update((p, None) for p in r.modules if _depth(p) <= depth)
        modules = [(p, [n.get(p) for n in nums]) for p in paths]
    return Comparison(sides, modules, mismatches)
