"""The text of :class:`flowflops.analysis.agreement.Agreement`: eager+functional vs graph."""
from __future__ import annotations

from typing import Any

__all__ = ["agreement_text"]


def _pair(p: Any) -> str:
    return "-" if p is None else f"{p[0]:,} MACs / {p[1]:,} FLOPs"


def _recurrent(a: Any, shown: int = 5) -> str:
    """The line naming the recurrent layers compared as one op type each ("" when none)."""
    layers = a.recurrent
    if not layers:
        return ""
    names = [f"{path or '(model)'} ({op})" for path, op in list(layers.items())[:shown]]
    more = f" and {len(layers) - shown} more" if len(layers) > shown else ""
    n = len(layers)
    return (f"  {n} recurrent layer{'s' if n > 1 else ''} compared as one op type each (the graph unrolls "
            "them per step): " + ", ".join(names) + more + "\n")


def agreement_text(a: Any, limit: int = 20) -> str:
    """One line when the engines agree; else every difference (the first ``limit`` of each
    kind) with both numbers, and what either engine could not price. A last line names the
    recurrent layers whose ops were compared as the layer's one op type."""
    if a.agree:
        return (f"Engines agree: eager+count_functional and graph both count {_pair(a.eager)}, "
                "in total, per module and per op type.\n") + _recurrent(a)
    lines = [f"Engines differ: eager+count_functional {_pair(a.eager)}, graph {_pair(a.graph)}."]
    for kind in ("module", "op type"):
        rows = [d for d in a.differences if d.kind == kind]
        if rows:
            lines.append(f"  {len(rows)} {kind}{'s' if len(rows) > 1 else ''} differ (eager | graph):")
            lines += [f"    {d.name or '(model)'}: {_pair(d.eager)} | {_pair(d.graph)}" for d in rows[:limit]]
            if len(rows) > limit:
                lines.append(f"    ... and {len(rows) - limit} more")
    for engine, ops in a.unsupported.items():
        lines.append(f"  {engine} could not price: " + ", ".join(f"{op} x{n}" for op, n in ops.items()))
    return "\n".join(lines) + "\n" + _recurrent(a)
