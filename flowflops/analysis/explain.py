"""Why a number is what it is: from a total, a module or an op type down to its op records, the
formula that priced each (with its arithmetic, see :mod:`flowflops.formulas.derivation`), the
convention's rule, the sum, what was counted zero there and why, and where in the user's code
the work was made. Data only: :mod:`flowflops.render.explain` makes the text."""
from __future__ import annotations

import difflib
import inspect
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from ..conventions import CONVENTIONS, FUNCTION_ATTR
from ..formulas.derivation import Derivation
from ..records import AT, GIVEN_COST, KEEP, ZERO, Cost, OpRecord, itemsizes
from ..registry import DEFAULT_CONVENTION, derive, formula_of, is_zero_rule
from ..report import Aggregate

__all__ = ["OpStep", "Part", "Zero", "Explanation", "explain", "explain_modules", "resolve_target", "user_location",
           "FUNCTIONAL_FIX", "REGISTER_FIX"]

#: How to price work an eager count without functional calls leaves out.
FUNCTIONAL_FIX = ("count with backend_specific_config={'count_functional': True} or mode='graph' "
                  "(CLI: --count-functional or --mode graph)")
#: How to price an op type without a formula.
REGISTER_FIX = ("register a formula for it with flowflops.register (see flowflops.registry and "
                "examples/custom_formula.py)")


@dataclass
class OpStep:
    """One op record and how it was priced.

    ``cost``: what the report holds for it (``None``: no formula); ``formula``: the qualified
    name of the function that priced it (the peer rule under a peer convention), ``rule``: its
    docstring; ``derivation``: the arithmetic it returned (``None`` when it returns a bare
    :class:`Cost`, or for a user-given cost); ``keep``: ``(kept, of)`` when a sparsity rule
    scaled the cost; ``given``: the cost came from the user's ``custom_modules_hooks``;
    ``zero``: why it costs nothing (``""`` when it costs something); ``itemsizes``: bytes per
    element of its inputs and outputs; ``at``: where the user's code made it (an eager
    functional call's line, OneFlow's op location in a graph); ``function``: the function an
    eager functional record came from; ``disagrees``: the cost the formula gives now, when it
    differs from the report's (a report read from an older JSON file)."""

    record: OpRecord
    cost: Optional[Cost]
    formula: str = ""
    rule: str = ""
    derivation: Optional[Derivation] = None
    keep: Optional[Tuple[int, int]] = None
    given: bool = False
    zero: str = ""
    itemsizes: Tuple[Tuple[int, ...], Tuple[int, ...]] = ((), ())
    at: str = ""
    function: str = ""
    disagrees: Optional[Cost] = None


@dataclass
class Part:
    """A child module's share of the sum: its path, type and cost (everything inside it)."""

    path: str
    type_name: str
    cost: Cost


@dataclass
class Zero:
    """Something counted as zero inside the explained module: ``what`` (a module or op type),
    ``why``, ``fix`` (how to price it; ``""`` when nothing is missing) and the module
    ``paths`` where it was seen."""

    what: str
    why: str
    fix: str
    paths: List[str] = field(default_factory=list)


@dataclass
class Explanation:
    """The chain behind one number of a report.

    ``kind``: ``"total"``, ``"module"`` or ``"op_type"``; ``path``: the module explained
    (``""``: the model); ``op_type``: the op type explained; ``ops``: the module's own op
    records (those made by it, not by its children), or every record of the op type;
    ``parts``: the children's costs (module and total); ``total``: the sum, which equals
    ``sum(op costs) + sum(part costs)``; ``zeros``: what was counted zero there and why;
    ``source``/``called_at``: the module's ``forward`` definition and the user's line that
    called it (eager); ``notes``: the count-wide rules that shape this number."""

    target: str
    kind: str
    path: str
    type_name: str
    mode: str
    convention: str
    convention_counts: str
    convention_peer: str
    ops: List[OpStep]
    parts: List[Part]
    total: Cost
    zeros: List[Zero]
    source: str = ""
    called_at: str = ""
    op_type: str = ""
    notes: List[str] = field(default_factory=list)
    attention: str = "dense"
    inputs: List[object] = field(default_factory=list)


def _qualname(fn: object) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _rule(fn: object) -> str:
    doc = inspect.getdoc(fn) or ""
    return " ".join(doc.split("\n\n")[0].split())


_LOC_FRAME = re.compile(r"'([^']*)' at '([^']*)': line (\d+)")


def user_location(at: str) -> str:
    """``file:line`` of a record's ``_at``: as it is for an eager record; for OneFlow's op
    location (``Python Stack[-2]: 'forward' at 'FILE': line N; ...``), the innermost frame
    outside OneFlow's own code (else the innermost frame), ``"FILE:N (function)"``."""
    frames = _LOC_FRAME.findall(at)
    if not frames:
        return at
    theirs = os.sep + "oneflow" + os.sep
    outside = [f for f in frames if theirs not in f[1]]
    fn, path, line = (outside or frames)[-1]
    return f"{path}:{line} ({fn})"


def _step(rec: OpRecord, cost: Optional[Cost], convention: str) -> OpStep:
    step = OpStep(rec, cost, itemsizes=itemsizes(rec), at=user_location(str(rec.attrs.get(AT, "") or "")),
                  function=str(rec.attrs.get(FUNCTION_ATTR, "") or ""))
    if rec.attrs.get(GIVEN_COST) is not None:
        step.given = True
        step.rule = "the cost your custom_modules_hooks gave for this call"
        return step
    fn = formula_of(rec.op_type, convention)
    if fn is None:
        step.zero = f"no formula for the op type {rec.op_type!r}: counted as zero and listed as unsupported"
        return step
    if convention != DEFAULT_CONVENTION and is_zero_rule(fn) and not is_zero_rule(formula_of(rec.op_type) or fn):
        step.zero = f"the {convention} convention does not count {rec.op_type!r} (its peer has no rule for it)"
        step.rule = step.zero
        return step
    step.formula, step.rule = _qualname(fn), _rule(fn)
    got = derive(rec, convention)
    if isinstance(got, Derivation):
        step.derivation = got
        raw = got.cost
    else:
        raw = got if isinstance(got, Cost) else ZERO
    keep = rec.attrs.get(KEEP)
    now = raw
    if keep:
        step.keep = (int(keep[0]), int(keep[1]))
        now = Cost(raw.macs * step.keep[0] // step.keep[1], raw.flops * step.keep[0] // step.keep[1])
    if cost is not None and now != cost:
        step.disagrees = now
    if cost is not None and cost.macs == 0 and cost.flops == 0:
        if is_zero_rule(fn):
            step.zero = "no arithmetic: moves, views or bookkeeping (registered as zero cost)"
        else:
            step.zero = "the formula gives 0 for these shapes"
    return step


def _inside(path: str, root: str) -> bool:
    return root == "" or path == root or path.startswith(root + ".")


Grouped = Dict[str, List[Tuple[OpRecord, Optional[Cost]]]]


def _grouped(report: Aggregate) -> Grouped:
    """Module path -> its op records and costs, in the report's order."""
    out: Grouped = OrderedDict()
    for entry in report.entries:  # the report's own (record, cost) pairs, not new ones
        out.setdefault(entry[0].module, []).append(entry)
    return out


def _zeros(report: Aggregate, root: str, costs: Dict[str, Cost], grouped: Grouped,
           orphans: Optional[List[str]] = None) -> List[Zero]:
    """What was counted zero in ``root``'s subtree, grouped by what and why."""
    groups: "OrderedDict[Tuple[str, str], Zero]" = OrderedDict()

    def add(what: str, why: str, fix: str, path: str) -> None:
        z = groups.setdefault((what, why), Zero(what, why, fix))
        if path not in z.paths:
            z.paths.append(path)

    subtree = _subtree(report, root)
    for path in subtree:
        type_name = report.unpriced_modules.get(path)
        if type_name is not None:
            add(type_name, f"no formula for the module type {type_name} in eager mode: its forward "
                "runs functional calls, which an eager count without count_functional does not price",
                FUNCTIONAL_FIX, path)
    # records of scopes the module tree lacks (a parsed graph's) belong to the subtree by name
    if orphans is None:
        orphans = _orphans(report, grouped)
    scopes = subtree + [m for m in orphans if _inside(m, root)]
    for module in scopes:
        for rec, cost in grouped.get(module, ()):
            _zero_record(report, rec, cost, add)
    # leaf modules that made no work at all (and were not counted as zero for want of a formula)
    for path in subtree:
        info = report.modules[path]
        if not path or info.children or path in report.unpriced_modules:
            continue
        if path not in grouped and costs.get(path, ZERO) == ZERO:
            why = ("no arithmetic at inference (identity, dropout, flatten, padding, a lookup...): "
                   "no op records" if report.mode == "eager" else "no ops in the compiled job")
            add(info.type_name, why, "", path)
    return list(groups.values())


def _orphans(report: Aggregate, grouped: Grouped) -> List[str]:
    """The scopes records name that the module tree lacks."""
    return [m for m in grouped if m not in report.modules]


def _subtree(report: Aggregate, root: str) -> List[str]:
    """``root`` and the modules inside it, in the tree's order (the whole report for ``""``)."""
    if root == "":
        return list(report.modules)
    out: List[str] = []
    stack = [root] if root in report.modules else []
    while stack:
        path = stack.pop()
        out.append(path)
        stack.extend(reversed([c for _, c in report.modules[path].children if c in report.modules]))
    return out


def _zero_record(report: Aggregate, rec: OpRecord, cost: Optional[Cost],
                 add: Callable[[str, str, str, str], None]) -> None:
    if cost is None:
        add(rec.op_type, f"no formula for the op type {rec.op_type!r}", REGISTER_FIX, rec.module)
    elif report.convention != DEFAULT_CONVENTION and cost == ZERO:
        fn = formula_of(rec.op_type, report.convention)
        if fn is not None and is_zero_rule(fn) and not is_zero_rule(formula_of(rec.op_type) or fn):
            add(rec.op_type, f"the {report.convention} convention does not count {rec.op_type!r} "
                "(its peer has no rule for it)", "convention='flowflops' counts it", rec.module)


def resolve_target(report: Aggregate, target: Optional[str]) -> Tuple[str, str]:
    """``(kind, name)`` for what ``target`` names: ``None``, ``""``, ``"total"`` or
    ``"model"`` the whole model; a module path of the report; an op type (``"op:NAME"`` when
    a module has the same name). A ``ValueError`` names the closest paths and op types."""
    if target is None or target in ("", "total", "model"):
        return "total", ""
    if not isinstance(target, str):
        raise TypeError(f"explain takes a module path or an op type (a str), got {type(target).__name__}")
    if target.startswith("op:") and target[3:] in report.operator_counts():
        return "op_type", target[3:]
    if target in report.modules:
        return "module", target
    ops = report.operator_counts()
    if target in ops:
        return "op_type", target
    candidates = [p for p in report.modules if p] + sorted(ops)
    close = difflib.get_close_matches(target, candidates, n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"{target!r} is neither a module path of this report (as model.named_modules() "
                     f"names them, e.g. 'layer1.0.conv1') nor an op type it counted{hint}")


def explain(report: Aggregate, target: Optional[str] = None) -> Explanation:
    """The chain behind the total (``target`` ``None``), a module's number (its path) or an op
    type's (its name). Raises ``ValueError`` for a name the report does not hold."""
    return _explain(report, target, report.by_module(), _grouped(report))


def explain_modules(report: Aggregate, paths: Optional[List[str]] = None) -> "OrderedDict[str, Explanation]":
    """Path -> the explanation of that module (every module of the report by default), the
    report's sums and groupings made once for all of them."""
    by_module, grouped = report.by_module(), _grouped(report)
    functional = any(FUNCTION_ATTR in r.attrs for r, _ in report.entries)
    orphans = _orphans(report, grouped)
    return OrderedDict((p, _explain(report, p or None, by_module, grouped, functional, orphans))
                       for p in (list(report.modules) if paths is None else paths))


def _explain(report: Aggregate, target: Optional[str], by_module: Dict[str, Cost], grouped: Grouped,
             functional: Optional[bool] = None, orphans: Optional[List[str]] = None) -> Explanation:
    kind, name = resolve_target(report, target)
    conv = CONVENTIONS.get(report.convention)
    path = name if kind != "op_type" else ""
    info = report.modules.get(path)
    if kind == "op_type":
        chosen = [(r, c) for r, c in report.entries if r.op_type == name]
        parts: List[Part] = []
        total = sum((c for _, c in chosen if c is not None), ZERO)
        zeros = [Zero(name, f"no formula for the op type {name!r}", REGISTER_FIX,
                      sorted({r.module for r, c in chosen if c is None}))] \
            if any(c is None for _, c in chosen) else []
    else:
        chosen = list(grouped.get(path, []))
        parts = [Part(child, report.modules[child].type_name, by_module.get(child, ZERO))
                 for _, child in (info.children if info else []) if child in report.modules]
        total = by_module.get(path, ZERO)
        zeros = _zeros(report, path, by_module, grouped, orphans)
    out = Explanation(
        target="" if target is None else str(target), kind=kind, path=path,
        type_name=info.type_name if info and kind != "op_type" else "", mode=report.mode,
        convention=report.convention, convention_counts=conv.counts if conv else "",
        convention_peer=conv.peer if conv else report.convention,
        ops=[_step(r, c, report.convention) for r, c in chosen], parts=parts, total=total, zeros=zeros,
        source=info.source if info and kind != "op_type" else "",
        called_at=info.called_at if info and kind != "op_type" else "",
        op_type=name if kind == "op_type" else "", attention=report.attention, inputs=list(report.inputs),
    )
    if functional is None:
        functional = any(FUNCTION_ATTR in r.attrs for r, _ in report.entries)
    if report.mode == "eager" and not functional and kind != "op_type" and info and info.children:
        out.notes.append("default eager mode prices module calls only: arithmetic written in a forward "
                         "with functionals or tensor operators (x + y, q @ k, softmax) is not seen; "
                         + FUNCTIONAL_FIX)
    if report.attention != "dense":
        out.notes.append(f"attention={report.attention}: records marked by the sparsity rules are scaled "
                         "to the share of the work the kernel runs")
    return out
