"""The text of an explanation (:func:`flowflops.analysis.explain.explain`): read from its
fields, nothing computed here but formatting."""
from __future__ import annotations

import os
from typing import Any, List, Sequence

from .units import flops_to_string

__all__ = ["explanation_text", "short_location", "shape_text", "factor_text", "term_text"]

_ITEM_NAMES = {1: "int8/bool", 2: "float16/bfloat16", 4: "float32", 8: "float64/int64"}


def short_location(loc: str) -> str:
    """A ``file:line`` made short: relative to the working folder when under it, from the
    package folder when under ``site-packages``; OneFlow's own ``loc`` strings as they are."""
    if not loc or loc.startswith("Python Stack"):
        return loc
    cwd = os.getcwd() + os.sep
    if loc.startswith(cwd):
        return loc[len(cwd):]
    mark = "site-packages" + os.sep
    if mark in loc:
        return loc.split(mark, 1)[1]
    return loc


def shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _dtype(sizes: Sequence[int]) -> str:
    kinds = sorted(set(sizes))
    if not kinds:
        return ""
    return ", ".join(f"{s}-byte ({_ITEM_NAMES.get(s, '?')})" for s in kinds) + " elements"


def factor_text(f: Any) -> str:
    """``1*64*56*56 output elements`` (``0 (no ...)`` for a tensor the record lacks)."""
    if not f.dims:
        return f"0 ({f.label}: none)" if f.value == 0 else f"{f.value} {f.label}"
    return "*".join(str(d) for d in f.dims) + f" {f.label}"


def term_text(t: Any) -> str:
    """``1*64*56*56 output elements x 64*3*3 weight elements per output = 115,605,504 MACs``."""
    parts = ([str(t.scale)] if t.scale != 1 or not t.factors else []) + [factor_text(f) for f in t.factors]
    unit = "MACs" if t.kind == "mac" else "elementwise ops"
    note = f"  [{t.note}]" if t.note else ""
    return f"{' x '.join(parts)} = {t.n:,} {unit}{note}"


def _cost(c: Any) -> str:
    return f"{c.macs:,} MACs ({flops_to_string(c.macs)}), {c.flops:,} FLOPs"


def _op_lines(i: int, s: Any, convention: str, show_module: bool) -> List[str]:
    r = s.record
    ins = " x ".join(shape_text(x) for x in r.inputs) or "-"
    outs = ", ".join(shape_text(x) for x in r.outputs) or "-"
    where = f" in {r.module or 'the model itself'}" if show_module else ""
    name = f" ({r.name})" if r.name else ""
    lines = [f"  {i}. {r.op_type}{name}{where}: inputs {ins} -> outputs {outs}"]
    dtype = _dtype(list(s.itemsizes[0]) + list(s.itemsizes[1]))
    if dtype:
        lines.append(f"     dtype: {dtype}")
    if s.function:
        lines.append(f"     made by the functional call {s.function}")
    if s.at:
        lines.append(f"     at {short_location(s.at)}")
    if s.given or (not s.formula and s.rule):
        lines.append(f"     rule: {s.rule}")
    elif s.formula:
        by = "formula" if convention == "flowflops" else f"{convention} rule"
        lines.append(f"     {by} {s.formula}: {s.rule}")
    if s.derivation is not None:
        if s.derivation.note and not s.derivation.terms:
            lines.append(f"     {s.derivation.note}")
        for t in s.derivation.terms:
            lines.append(f"     {term_text(t)}")
        if len(s.derivation.terms) > 1:
            lines.append(f"     sum of the terms: {s.derivation.cost.macs:,} MACs, {s.derivation.cost.flops:,} FLOPs")
    elif s.formula and s.cost is not None:
        lines.append("     (this formula returns its Cost without the arithmetic)")
    if s.keep:
        kept, of = s.keep
        lines.append(f"     scaled by {kept}/{of}: the share of this work the kernel runs (sparsity rules)")
    if s.cost is None:
        lines.append(f"     = counted zero: {s.zero}")
    else:
        lines.append(f"     = {s.cost.macs:,} MACs, {s.cost.flops:,} FLOPs" + (f"  (zero: {s.zero})" if s.zero else ""))
    if s.disagrees is not None:
        lines.append(f"     (the formula gives {s.disagrees.macs:,} MACs now; the report holds the number above)")
    return lines


def explanation_text(e: Any, max_ops: int = 200) -> str:
    """The chain behind one number: what, where, the op records with their formulas and
    arithmetic, the children's shares, the sum, the convention and what was counted zero."""
    if e.kind == "op_type":
        head = f"op type {e.op_type}: {len(e.ops)} record(s) in this {e.mode} count"
    else:
        name = e.path or "the model"
        head = f"{name} ({e.type_name})" + (" - the whole model" if e.kind == "total" and e.path == "" else "")
    lines = [head]
    if e.source:
        lines.append(f"  forward defined at {short_location(e.source)}")
    if e.called_at:
        lines.append(f"  called from {short_location(e.called_at)}")
    if e.mode != "eager" and e.kind != "op_type" and e.path:
        lines.append(f"  module scope in the compiled job: {e.path}")
    inputs = ", ".join(shape_text(s) if isinstance(s, (list, tuple)) else str(s) for s in e.inputs)
    peer = "" if e.convention_peer.startswith(e.convention) else f" ({e.convention_peer})"
    lines.append(f"  count: {e.mode} engine, input {inputs or '?'}, {e.convention} convention{peer}: "
                 f"{e.convention_counts}")
    lines.append("  units: 1 MAC = 2 FLOPs; an elementwise op = 1 MAC in this convention and 1 FLOP")
    what = "records" if e.kind == "op_type" else "op records made by this module itself"
    lines.append(f"  {what}: {len(e.ops)}")
    for i, s in enumerate(e.ops[:max_ops], 1):
        lines.extend(_op_lines(i, s, e.convention, e.kind == "op_type"))
    if len(e.ops) > max_ops:
        lines.append(f"  ... {len(e.ops) - max_ops} more")
    if e.parts:
        lines.append(f"  children ({len(e.parts)}), each the sum of everything inside it:")
        for p in e.parts:
            lines.append(f"    {p.path} ({p.type_name}): {p.cost.macs:,} MACs, {p.cost.flops:,} FLOPs")
    own = sum(s.cost.macs for s in e.ops if s.cost is not None)
    if e.parts:
        kids = sum(p.cost.macs for p in e.parts)
        lines.append(f"  sum: own ops {own:,} + children {kids:,} = {e.total.macs:,} MACs "
                     f"({flops_to_string(e.total.macs)}), {e.total.flops:,} FLOPs")
    else:
        lines.append(f"  sum: {_cost(e.total)}")
    if e.zeros:
        lines.append("  counted zero here:")
        for z in e.zeros:
            where = ", ".join(z.paths[:4]) + (f" (+{len(z.paths) - 4} more)" if len(z.paths) > 4 else "")
            lines.append(f"    {z.what} x{len(z.paths)} ({where}): {z.why}")
            if z.fix:
                lines.append(f"      to price it: {z.fix}")
    else:
        lines.append("  counted zero here: nothing")
    for n in e.notes:
        lines.append(f"  note: {n}")
    return "\n".join(lines) + "\n"
