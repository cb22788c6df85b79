"""Printouts of :mod:`flowflops.comparison`: a diff of two reports and the side-by-side table of
several, as text, Markdown, LaTeX, HTML, CSV and JSON (a helper of :mod:`flowflops.export`)."""
from __future__ import annotations

import html
import json
from typing import Any, Callable, List, Optional, Sequence, Union

from ..analysis.diff import Comparison, Numbers, ReportDiff, Row
from .units import flops_to_string, params_to_string, real_flops_to_string

__all__ = [
    "COMPARE_FORMATS", "mismatch_message", "MODULE_HEAD", "OP_HEAD", "diff_text", "diff_markdown", "diff_latex",
    "DIFF_CSS", "diff_html", "compare_render"
]

COMPARE_FORMATS = ("text", "markdown", "latex", "html", "csv", "json")


def mismatch_message(result: Union[ReportDiff, Comparison]) -> str:
    """One line saying what the compared counts differ in besides the model."""
    if isinstance(result, ReportDiff):
        parts = [f"{what} {x} ({result.a.name}) vs {y} ({result.b.name})" for what, x, y in result.mismatches]
    else:
        parts = [f"{what}: {seen}" for what, _, seen in result.mismatches]
    return ("these counts differ in " + "; ".join(parts) +
            ": their numbers are not like for like (count both the same way to compare the models)")


def _signed(v: int) -> str:
    return f"{v:+,}"


def _rel(d: int, base: int) -> str:
    return "{:+.2%}".format(d / base) if base else ("new" if d else "0.00%")


def _status(r: Row) -> str:
    s = f"renamed from {r.old_path}" if r.status == "renamed" else r.status
    return s + (f" (+{r.inside} inside)" if r.inside else "")


def _module_name(r: Row) -> str:
    return r.path or "model"


def _side_line(side: Any) -> str:
    return f"{side.name}: {side.mode} count, inputs {json.dumps(side.inputs)}" + (
        f", convention {side.convention}" if side.convention else "")


def _totals(result: ReportDiff) -> List[List[str]]:
    a, b = result.a.totals, result.b.totals
    return [
        ["MACs", f"{a.macs:,}", f"{b.macs:,}", _signed(b.macs - a.macs), _rel(b.macs - a.macs, a.macs)],
        ["FLOPs", f"{a.flops:,}", f"{b.flops:,}", _signed(b.flops - a.flops), _rel(b.flops - a.flops, a.flops)],
        ["params", f"{a.params:,}", f"{b.params:,}", _signed(b.params - a.params), _rel(b.params - a.params, a.params)],
    ]


def _module_cells(r: Row) -> List[str]:
    am, bm = (r.a.macs if r.a else None), (r.b.macs if r.b else None)
    return [_module_name(r), r.type, _status(r), "" if am is None else f"{am:,}", "" if bm is None else f"{bm:,}",
            _signed(r.d_macs), _rel(r.d_macs, am or 0), _signed(r.d_params)]


MODULE_HEAD = ["module", "type", "status", "A MACs", "B MACs", "B - A MACs", "change", "B - A params"]
OP_HEAD = ["op type", "A calls", "B calls", "A MACs", "B MACs", "B - A MACs", "change", "B - A FLOPs"]


def _op_cells(r: Row) -> List[str]:
    a, b = r.a or Numbers(), r.b or Numbers()
    return [r.path, str(a.calls) if r.a else "", str(b.calls) if r.b else "", f"{a.macs:,}" if r.a else "",
            f"{b.macs:,}" if r.b else "", _signed(r.d_macs), _rel(r.d_macs, a.macs), _signed(r.d_flops)]


def _ops(result: ReportDiff, everything: bool) -> List[Row]:
    return [r for r in result.operators if everything or r.status != "same"]


def _head(result: ReportDiff) -> List[str]:
    lines = [f"A = {_side_line(result.a)}", f"B = {_side_line(result.b)}"]
    if result.mismatches:
        lines.append("WARNING: " + mismatch_message(result))
    return lines


def diff_text(result: ReportDiff, depth: Optional[int] = None, everything: bool = False) -> str:
    """The diff as plain-text tables: totals, the modules that differ, the op types that differ."""
    from prettytable import PrettyTable

    def table(head: Sequence[str], rows: List[List[str]], left: int) -> str:
        t = PrettyTable(list(head))
        t.align = "r"
        for h in head[:left]:
            t.align[h] = "l"
        for row in rows:
            t.add_row(row)
        return t.get_string()

    mods = result.changed_modules(depth, everything)
    ops = _ops(result, everything)
    out = _head(result)
    out.append(table(["total", "A", "B", "B - A", "change"], _totals(result), 1))
    out.append(f"Modules ({'all' if everything else 'those that differ'}, matched by path):")
    out.append(table(MODULE_HEAD, [_module_cells(r) for r in mods], 3) if mods else "  none differ")
    out.append(f"Op types ({'all' if everything else 'those that differ'}):")
    out.append(table(OP_HEAD, [_op_cells(r) for r in ops], 1) if ops else "  none differ")
    return "\n".join(out) + "\n"


def _md(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def diff_markdown(result: ReportDiff, depth: Optional[int] = None, everything: bool = False) -> str:
    """The diff as Markdown tables."""
    out = [f"- {line}" if not line.startswith("WARNING") else f"> **{line}**" for line in _head(result)]
    out += ["", _md(["total", "A", "B", "B - A", "change"]), "|---|---:|---:|---:|---:|"]
    out += [_md(r) for r in _totals(result)]
    mods, ops = result.changed_modules(depth, everything), _ops(result, everything)
    out += ["", _md(MODULE_HEAD), "|---|---|---|---:|---:|---:|---:|---:|"] + [_md(_module_cells(r)) for r in mods]
    out += ["", _md(OP_HEAD), "|---|---:|---:|---:|---:|---:|---:|---:|"] + [_md(_op_cells(r)) for r in ops]
    return "\n".join(out) + "\n"


def _tex(s: str) -> str:
    from .export import _tex as esc

    return esc(s).replace("+", "$+$").replace("->", r"$\to$")


def _tabular(head: Sequence[str], rows: List[List[str]], left: int) -> List[str]:
    spec = "l" * left + "r" * (len(head) - left)
    lines = [r"\begin{tabular}{" + spec + "}", r"\hline", " & ".join(_tex(h) for h in head) + r" \\", r"\hline"]
    lines += [" & ".join(_tex(c) for c in row) + r" \\" for row in rows]
    return lines + [r"\hline", r"\end{tabular}"]


def diff_latex(result: ReportDiff, depth: Optional[int] = None, everything: bool = False) -> str:
    """The diff as LaTeX ``tabular``s (comment lines name A and B)."""
    out = [f"% {line}" for line in _head(result)]
    out += _tabular(["total", "A", "B", "B - A", "change"], _totals(result), 1) + [""]
    out += _tabular(MODULE_HEAD, [_module_cells(r) for r in result.changed_modules(depth, everything)], 3) + [""]
    out += _tabular(OP_HEAD, [_op_cells(r) for r in _ops(result, everything)], 1)
    return "\n".join(out) + "\n"


def _html_table(head: Sequence[str], rows: List[List[str]], left: int, classes: Optional[List[str]] = None,
                table_id: str = "") -> str:
    esc = html.escape
    h = "".join(f"<th class=\"{'l' if k < left else ''}\">{esc(c)}</th>" for k, c in enumerate(head))
    body = []
    for i, row in enumerate(rows):
        cls = f" class=\"ff-{classes[i]}\"" if classes else ""
        tds = "".join(f"<td class=\"{_cell_class(c, k < left)}\">{esc(c)}</td>" for k, c in enumerate(row))
        body.append(f"<tr{cls}>{tds}</tr>")
    return (f"<table class=\"ff-table\" id=\"{table_id}\"><thead><tr>{h}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _cell_class(c: str, label: bool) -> str:
    """A diff cell's class: ``l`` for a label column, else green for a decrease, red for an increase."""
    if label:
        return "l"
    if c.startswith("-"):
        return "ff-neg"
    return "ff-pos" if c.startswith("+") and c != "+0" else ""


DIFF_CSS = """
.ff-neg { color: #0a7a2f; } .ff-pos { color: #b3261e; }
tr.ff-added td { background: #eef8ee; }
tr.ff-removed td { background: #fbeeee; text-decoration: line-through #b3261e55; }
tr.ff-renamed td { background: #eef3fb; }
.ff-warnbox { background: #fff4e0; border: 1px solid #e0b060; padding: 8px 12px; border-radius: 6px; }
"""


def _page(title: str, body: str) -> str:
    from .html import _asset

    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)} - flowflops</title>\n<style>\n{_asset('report.css')}{DIFF_CSS}</style>\n"
            f"</head>\n<body>\n<div id=\"ff-app\">\n{body}\n</div>\n</body>\n</html>\n")


def diff_html(result: ReportDiff, depth: Optional[int] = None, everything: bool = False) -> str:
    """The diff as one self-contained HTML page (no scripts, no network)."""
    esc = html.escape
    mods, ops = result.changed_modules(depth, everything), _ops(result, everything)
    body = [f"<h1>flowflops diff: {esc(result.a.name)} &rarr; {esc(result.b.name)}</h1>",
            f"<div class=\"ff-sub\">A = {esc(_side_line(result.a))}<br>B = {esc(_side_line(result.b))}</div>"]
    if result.mismatches:
        body.append(f"<div class=\"ff-warnbox\" id=\"ff-mismatch\">Warning: {esc(mismatch_message(result))}</div>")
    body.append("<h2>Totals</h2>"
                + _html_table(["total", "A", "B", "B - A", "change"], _totals(result), 1, table_id="ff-totals"))
    body.append(f"<h2>Modules ({'all' if everything else 'those that differ'}, matched by path)</h2>" +
                _html_table(MODULE_HEAD, [_module_cells(r) for r in mods], 3, [r.status for r in mods], "ff-modules"))
    body.append(f"<h2>Op types ({'all' if everything else 'those that differ'})</h2>" +
                _html_table(OP_HEAD, [_op_cells(r) for r in ops], 1, [r.status for r in ops], "ff-ops"))
    return _page(f"{result.a.name} vs {result.b.name}", "\n".join(body))


# -- several reports ---------------------------------------------------------------------------------

def _compare_tables(c: Comparison, human: bool) -> List[List[List[str]]]:
    """``[totals table, modules table]``, each a list of rows, the first row the header."""
    base = c.sides[0].totals
    mac: Callable[[int], str] = (lambda v: flops_to_string(v)) if human else (lambda v: f"{v:,}")
    par: Callable[[int], str] = (lambda v: params_to_string(v)) if human else (lambda v: f"{v:,}")
    flo: Callable[[int], str] = (lambda v: real_flops_to_string(v)) if human else (lambda v: f"{v:,}")
    totals = [["report", "mode", "inputs", "params", "MACs", "FLOPs", "MACs vs first", "params vs first"]]
    for s in c.sides:
        t = s.totals
        totals.append([s.name, s.mode, json.dumps(s.inputs), par(t.params), mac(t.macs), flo(t.flops),
                       _rel(t.macs - base.macs, base.macs), _rel(t.params - base.params, base.params)])
    tables = [totals]
    if c.modules:
        mods = [["module"] + [f"{s.name} MACs" for s in c.sides]]
        for path, nums in c.modules:
            mods.append([path or "model"] + ["-" if n is None else mac(n.macs) for n in nums])
        tables.append(mods)
    return tables


def compare_render(c: Comparison, fmt: str = "text") -> str:
    """The side-by-side table in ``fmt`` (one of :data:`COMPARE_FORMATS`)."""
    if fmt not in COMPARE_FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(COMPARE_FORMATS)}")
    if fmt == "json":
        return json.dumps(dict(c.to_dict(), warning=mismatch_message(c) if c.mismatches else None), indent=2) + "\n"
    warn = ("WARNING: " + mismatch_message(c)) if c.mismatches else ""
    tables = _compare_tables(c, human=fmt == "text")
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for t in tables:
            w.writerows([[cell.replace(",", "") if k and cell[:1].isdigit() else cell for k, cell in enumerate(row)]
                         for row in t])
        return buf.getvalue()
    if fmt == "text":
        from prettytable import PrettyTable

        out = [warn] if warn else []
        for t in tables:
            pt = PrettyTable(t[0])
            pt.align = "r"
            pt.align[t[0][0]] = "l"
            for row in t[1:]:
                pt.add_row(row)
            out.append(pt.get_string())
        return "\n".join(out) + "\n"
    if fmt == "markdown":
        out = [f"> **{warn}**", ""] if warn else []
        for t in tables:
            out += [_md(t[0]), "|" + "---|" + "---:|" * (len(t[0]) - 1)] + [_md(r) for r in t[1:]] + [""]
        return "\n".join(out)
    if fmt == "latex":
        out = [f"% {warn}"] if warn else []
        for t in tables:
            out += _tabular(t[0], t[1:], 3 if len(t[0]) == 8 else 1) + [""]
        return "\n".join(out)
    body = ["<h1>flowflops: " + " vs ".join(html.escape(s.name) for s in c.sides) + "</h1>"]
    if warn:
        body.append(f"<div class=\"ff-warnbox\" id=\"ff-mismatch\">{html.escape(warn)}</div>")
    for k, t in enumerate(tables):
        body.append(_html_table(t[0], t[1:], 3 if k == 0 else 1, table_id=("ff-compare", "ff-compare-modules")[k]))
    return _page("comparison", "\n".join(body))
