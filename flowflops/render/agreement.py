"""The text of :class:`flowflops.analysis.agreement.Agreement`: eager+functional vs graph."""
from __future__ import annotations

from typing import Any

__all__ = ["agreement_text"]


def _pair(p: Any) -> str:
    return "-" if p is None else f"{p[0]:,} MACs / {p[1]:,} FLOPs"


def agreement_text(a: Any, limit: int = 20) -> str:
    """One line when the engines agree; else every difference (the first ``limit`` of each
    kind) with both numbers, and what either engine could not price."""
    if a.agree:
        return (f"Engines agree: eager+count_functional and graph both count {_pair(a.eager)}, "
                "in total, per module and per op type.\n")
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
    return "\n".join(lines) + "\n"
