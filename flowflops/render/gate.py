"""The cost gate's verdict as text (:func:`flowflops.analysis.gate.check_growth`)."""
from __future__ import annotations

from typing import Any

from .units import bytes_to_string, flops_to_string, params_to_string

__all__ = ["gate_text", "value_text"]


def value_text(metric: str, n: int) -> str:
    """``1,822,177,768 (1.82 GMac)``, with the unit of ``metric``."""
    if metric == "params":
        short = params_to_string(n)
    elif metric == "bytes":
        short = bytes_to_string(n)
    elif metric == "flops":
        short = f"{n / 1e9:.2f} GFLOPs"
    else:
        short = flops_to_string(n)
    return f"{n:,} ({short})"


def _change(g: Any) -> str:
    if g.growth is None:
        return f"new: {value_text(g.metric, g.after)}"
    return f"{value_text(g.metric, g.before)} -> {value_text(g.metric, g.after)} ({g.growth:+.2%})"


def gate_text(result: Any) -> str:
    """``OK: nothing grew by more than 0.50% (macs, params)`` with the totals, or ``FAIL`` and
    one line per total, module and op type that grew."""
    limit = f"{result.max_growth:.2%}"
    metrics = ", ".join(result.metrics)
    lines = []
    for what, x, y in result.mismatches:
        lines.append(f"warning: the two counts differ in {what} ({x} vs {y}): the numbers are not like for like")
    totals = "; ".join(f"{m} {value_text(m, b)} -> {value_text(m, a)}" for m, (b, a) in result.totals.items())
    if result.passed:
        lines.append(f"OK: nothing grew by more than {limit} ({metrics}) against {result.baseline.name}")
        lines.append(f"  totals: {totals}")
        return "\n".join(lines) + "\n"
    lines.append(f"FAIL: {len(result.grown)} number(s) grew by more than {limit} ({metrics}) "
                 f"against {result.baseline.name}")
    lines.append(f"  totals: {totals}")
    for kind, title in (("total", "model"), ("module", "modules"), ("op_type", "op types")):
        rows = [g for g in result.grown if g.kind == kind]
        if not rows:
            continue
        lines.append(f"  {title}:")
        names = list(dict.fromkeys(g.name for g in rows))  # each once, in order
        for n in names:
            mine = [g for g in rows if g.name == n]
            g = mine[0]
            if kind == "total":
                name = f"{g.type_name or 'model'} (total)"
            elif kind == "module":
                name = f"{g.name} ({g.type_name}, {g.status}" + (f" from {g.old_name}" if g.old_name else "") + ")"
            else:
                name = g.name
            lines.append(f"    {name}: " + "; ".join(f"{x.metric} {_change(x)}" for x in mine))
    return "\n".join(lines) + "\n"
