"""Every string a user sees, read from a report: the per-layer printout (ptflops' layout),
tables (prettytable), totals, the per-rank table, CSV, Markdown, LaTeX and JSON, and the
command line's zoo table. Its neighbours: :mod:`flowflops.render.html` (the HTML page and notebook
view), :mod:`flowflops.render.diff` (diffs and ablation tables). The one ``Report`` users get,
with these renderings as methods, is :class:`flowflops.result.Report`."""
from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from ..records import NO_TRAFFIC, ZERO, Cost
from ..report import Aggregate
from ..report import backward_forward_ratio, top_modules
from .json_text import _PLAIN, _SKIP, _json_safe
from .units import bytes_to_string, flops_to_string, params_to_string, real_flops_to_string

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.memory import Fit, Memory
    from ..analysis.roofline import Roofline

__all__ = [
    "Row", "module_tree_text", "print_report", "zero_op_warnings", "missing_rule_warnings", "ZERO_SHARE_LOUD",
    "coverage_parts", "coverage_text", "zero_share_warning", "module_rows", "module_table", "operator_table",
    "CSV_FIELDS", "to_csv", "to_markdown", "convention_note", "convention_totals", "convention_table", "to_latex",
    "to_dict", "to_json", "totals_text", "top_text", "both_text", "per_rank_table", "progress_line", "zoo_text",
    "zoo_flat", "roofline_table", "memory_text", "fit_text", "device_text", "memory_section", "measurement_text",
    "mfu_text"
]

Row = Dict[str, Any]


# -- the per-layer printout (ptflops' layout) -------------------------------------------------

def _indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + ln for ln in lines[1:]])


def module_tree_text(
    report: Aggregate, units: Optional[str] = None, precision: int = 2, param_units: Optional[str] = None,
    groups: Optional[Dict[str, List[List[str]]]] = None,
) -> str:
    """The module tree as ``repr(model)`` prints it, each module's line starting with its
    params, % of params, MACs and % of MACs. ``units``/``param_units`` as in
    :func:`flowflops.flops_to_string` / :func:`flowflops.params_to_string` (``None``: the unit
    each number reaches, as ptflops 0.7.5 prints it). ``groups`` (parent path -> its children
    as groups of identical siblings, :func:`flowflops.analysis.rollup.repeat_groups`) prints
    each group of n > 1 once, as ``(0-11): 12 x Block(...)`` with one copy's numbers."""
    by_module = report.by_module()
    total_macs = max(report.macs, 1)
    total_params = max(report.params, 1)

    def stats(path: str) -> str:
        info = report.modules[path]
        macs = by_module[path].macs if path in by_module else 0
        parts = [
            params_to_string(info.params, units=param_units, precision=precision),
            "{:.3%} Params".format(info.params / total_params),
            flops_to_string(macs, units=units, precision=precision),
            "{:.3%} MACs".format(macs / total_macs),
        ]
        if info.extra_repr:
            parts.append(info.extra_repr)
        return ", ".join(parts)

    def render(path: str) -> str:
        info = report.modules[path]
        extra_lines = stats(path).split("\n")
        if groups is not None and path in groups:
            child_lines = []
            for g in groups[path]:
                names = [c.rpartition(".")[2] for c in g]
                label = names[0] if len(g) == 1 else f"{names[0]}-{names[-1]}"
                times = "" if len(g) == 1 else f"{len(g)} x "
                child_lines.append(f"({label}): {times}" + _indent(render(g[0]), 2))
        else:
            child_lines = [f"({name}): " + _indent(render(child), 2) for name, child in info.children]
        lines = extra_lines + child_lines
        main = info.type_name + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    return render("")


def print_report(
    report: Aggregate, ost: TextIO = sys.stdout, units: Optional[str] = None, precision: int = 2,
    param_units: Optional[str] = None,
) -> None:
    """Print the per-layer statistics of ``report`` to ``ost``, then its coverage (and the
    warning of :func:`zero_share_warning`, when there is one)."""
    print(module_tree_text(report, units=units, precision=precision, param_units=param_units), file=ost)
    print(coverage_text(report), file=ost)
    warning = zero_share_warning(report)
    if warning:
        print(warning, file=ost)


def zero_op_warnings(report: Aggregate) -> List[str]:
    """ptflops' ``verbose`` lines for what was counted as zero: ``Warning: module Softsign is
    treated as a zero-op.`` for a module type (eager), ``Warning: softsign operation is treated
    as a zero-op`` for an op type (graph, functional calls), once per type."""
    ops = {rec.op_type for rec, cost in report.entries if cost is None}
    return [
        f"Warning: {name} operation is treated as a zero-op" if name in ops
        else f"Warning: module {name} is treated as a zero-op."
        for name in report.unsupported
    ]


def missing_rule_warnings(report: Aggregate) -> List[str]:
    """thop's ``report_missing`` lines, once per type counted as zero."""
    return [f"[WARN] Cannot find rule for {name}. Treat it as zero Macs and zero Params."
            for name in report.unsupported]


#: Share of the parameters in modules counted as zero from which eager mode warns.
ZERO_SHARE_LOUD = 0.10


def coverage_parts(report: Aggregate) -> Tuple[str, str]:
    """``("97.50%", "incomplete, counted as zero (no formula): X x2")`` or ``("100.00%",
    "complete")``: :attr:`Report.coverage` and what it leaves out (the text's and the HTML
    card's words)."""
    value = "{:.2%}".format(report.coverage)
    if report.complete:
        return value, "complete"
    items = ", ".join(f"{k} x{v}" for k, v in report.unsupported.items())
    return value, f"incomplete, counted as zero (no formula): {items}"


def coverage_text(report: Aggregate) -> str:
    """``Coverage: 97.50% of ops priced; incomplete, counted as zero (no formula): X x2`` or
    ``...; complete``."""
    value, note = coverage_parts(report)
    return f"Coverage: {value} of ops priced; {note}"


def zero_share_warning(report: Aggregate) -> str:
    """When at least :data:`ZERO_SHARE_LOUD` of the parameters sit in modules an eager count
    priced as zero: a warning naming those module types and what to do; else ``""``."""
    share = 1.0 - report.param_coverage
    if share < ZERO_SHARE_LOUD or not report.unpriced_modules:
        return ""
    types = Counter(report.unpriced_modules.values())
    names = ", ".join(f"{t} x{n}" for t, n in types.most_common())
    return (f"WARNING: {share:.1%} of the parameters ({params_to_string(report.unpriced_params)} of "
            f"{params_to_string(report.params)}) sit in modules counted as zero, having no "
            f"formula: {names}. Their work is missing from the MACs: count with "
            "backend_specific_config={'count_functional': True} (eager) or mode='graph' "
            "(CLI: --count-functional or --mode graph).")


def _pct(part: int, whole: int) -> str:
    return "{:.2%}".format(part / whole) if whole else "0.00%"


def module_rows(report: Aggregate, depth: int = 3, fold: bool = True) -> List[Row]:
    """One row per module down to ``depth`` (the model itself is depth 0), in tree order.
    With ``fold``, a module with a single child that holds all of its cost and parameters is
    shown as one row named ``parent.child`` (as fvcore folds wrappers)."""
    by_module = report.by_module()
    by_bytes = report.by_module_bytes()
    rows: List[Row] = []

    def visit(path: str, level: int) -> None:
        info = report.modules[path]
        name, shown = path, path
        while fold and len(info.children) == 1:
            child = info.children[0][1]
            cinfo = report.modules[child]
            same_cost = by_module.get(child, ZERO) == by_module.get(shown, ZERO)
            if not (same_cost and cinfo.params == info.params):
                break
            shown, info = child, cinfo
        cost = by_module.get(shown, ZERO)
        rows.append({
            "module": shown if shown else "model", "path": shown, "depth": level,
            "type": (report.modules[name].type_name if shown == name
                     else f"{report.modules[name].type_name}>{info.type_name}"),
            "params": info.params, "trainable_params": info.trainable_params,
            "macs": cost.macs, "flops": cost.flops,
            "bytes_read": by_bytes.get(shown, NO_TRAFFIC).bytes_read,
            "bytes_written": by_bytes.get(shown, NO_TRAFFIC).bytes_written,
            "output_shape": report.module_outputs.get(shown),
        })
        if level < depth:
            for _, child in info.children:
                visit(child, level + 1)

    if "" in report.modules:
        visit("", 0)
    return rows


def module_table(report: Aggregate, depth: int = 3, units: Optional[str] = None, precision: int = 2,
                 rows: Optional[List[Row]] = None) -> str:
    """The module tree to ``depth`` as a prettytable: module, type, params, % params, MACs,
    % MACs, FLOPs, output shape; unsupported ops listed under it. ``rows``: the rows to show
    (default :func:`module_rows`); a row with ``copies`` > 1 (identical blocks folded, see
    :func:`flowflops.analysis.rollup.folded_rows`) shows ``Block x 12`` and its MACs as the sum
    and ``12 x`` one copy's."""
    from .grid import grid

    fields = ["module", "type", "params", "% params", "MACs", "% MACs", "FLOPs", "bytes", "output shape"]
    table: List[List[str]] = []
    total_params, total_macs = report.params, report.macs  # once: each is a walk of the records
    for r in (module_rows(report, depth) if rows is None else rows):
        n = r.get("copies", 1)
        macs = flops_to_string(r["macs"], units=_mac_unit(units), precision=precision)
        if n > 1:
            macs += f" ({n} x {flops_to_string(r['per_copy'].macs, units=_mac_unit(units), precision=precision)})"
        table.append([
            "  " * r["depth"] + r["module"],
            r["type"] + (f" x {n}" if n > 1 else ""),
            params_to_string(r["params"], units=_param_unit(units), precision=precision),
            _pct(r["params"], total_params), macs,
            _pct(r["macs"], total_macs), real_flops_to_string(r["flops"], precision=precision),
            bytes_to_string(r["bytes_read"] + r["bytes_written"], precision),
            "" if r["output_shape"] is None else str(tuple(r["output_shape"])),
        ])
    return grid(fields, table, {"module": "l", "type": "l"}, default="r") + _unsupported_note(report)


def operator_table(report: Aggregate, units: Optional[str] = None, precision: int = 2) -> str:
    """Per op type: calls, MACs, % MACs, FLOPs; unsupported ops listed under it."""
    from .grid import grid

    counts = report.operator_counts()
    by_bytes = report.by_operator_bytes()
    fields = ["operator", "calls", "MACs", "% MACs", "FLOPs", "bytes", "FLOP/B"]
    table: List[List[Any]] = []
    total_macs = report.macs
    for op, c in report.by_operator().items():
        b = by_bytes.get(op, NO_TRAFFIC).total
        table.append([op, counts.get(op, 0), flops_to_string(c.macs, units=_mac_unit(units), precision=precision),
                   _pct(c.macs, total_macs), real_flops_to_string(c.flops, precision=precision),
                   bytes_to_string(b, precision), f"{c.flops / b:.2f}" if b else "-"])
    return grid(fields, table, {"operator": "l"}, default="r") + _unsupported_note(report)


def _mac_unit(units: Optional[str]) -> Optional[str]:
    return units if units in ("GMac", "MMac", "KMac", "Mac") else None


def _param_unit(units: Optional[str]) -> Optional[str]:
    return {"GMac": "M", "MMac": "M", "KMac": "K"}.get(units or "", None)


def _unsupported_note(report: Aggregate) -> str:
    if not report.unsupported:
        return ""
    items = ", ".join(f"{k} x{v}" for k, v in report.unsupported.items())
    return f"\nCounted as zero (no formula): {items}"


# -- flat formats ------------------------------------------------------------------------------

CSV_FIELDS = ["module", "type", "depth", "params", "trainable_params", "macs", "flops", "bytes_read",
              "bytes_written", "output_shape"]


def to_csv(report: Aggregate, depth: int = 1_000) -> str:
    """One row per module (every module of the tree by default, unfolded), integer counts."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in module_rows(report, depth, fold=False):
        r = dict(r, module=r["path"], output_shape="x".join(map(str, r["output_shape"] or ())))
        w.writerow(r)
    return buf.getvalue()


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def to_markdown(report: Aggregate, depth: int = 2) -> str:
    """A Markdown table of the module tree to ``depth`` (integer counts and ptflops strings)."""
    lines = ["| module | type | params | MACs | FLOPs | bytes |", "|---|---|---:|---:|---:|---:|"]
    for r in module_rows(report, depth):
        name = "&nbsp;&nbsp;" * r["depth"] + (r["module"] or "model")
        lines.append(f"| {_md_escape(name)} | {_md_escape(r['type'])} | {r['params']:,} | {r['macs']:,} "
                     f"({flops_to_string(r['macs'])}) | {r['flops']:,} | {r['bytes_read'] + r['bytes_written']:,} |")
    return "\n".join(lines) + "\n" + f"\n{convention_note(report)}\n"


def convention_note(report: Aggregate) -> str:
    """One line naming the convention the counts are in (the Markdown/LaTeX footnote)."""
    from ..conventions import CONVENTIONS

    c = CONVENTIONS[report.convention]
    return f"Counts in the {c.name} convention ({c.peer}): {c.counts}."


def convention_totals(report: Aggregate, names: Optional[Sequence[str]] = None,
                      functional: Optional[Aggregate] = None) -> Dict[str, Cost]:
    """Convention -> total. With ``functional`` (the same model counted in eager mode with
    functional calls priced), each convention's total comes from the count it makes by default
    (``profile(model, convention=name)``): flowflops' from ``report``, the peers' (who see
    functional calls) from ``functional``."""
    from ..conventions import CONVENTIONS, NAMES

    if functional is None:
        return report.by_convention(names)
    return {n: (functional if CONVENTIONS[n].count_functional else report).by_convention([n])[n]
            for n in (names or NAMES)}


def convention_table(report: Aggregate, units: Optional[str] = None, precision: int = 2,
                     names: Optional[Sequence[str]] = None, functional: Optional[Aggregate] = None) -> str:
    """Every convention's MACs and FLOPs for one count (see ``Report.by_convention``), then, for
    each peer, the op types it prices differently from flowflops, with the MAC difference.
    With ``functional``, see :func:`convention_totals`."""
    from prettytable import PrettyTable

    from ..conventions import CONVENTIONS, FUNCTION_ATTR

    t = PrettyTable(["convention", "MACs", "", "FLOPs", "reproduces", "engine"])
    t.align = "r"
    t.align["convention"] = t.align["reproduces"] = t.align["engine"] = "l"
    totals = convention_totals(report, names, functional)
    if functional is not None:
        lines_head = (f"(each convention's own default: flowflops from the {report.mode} count of "
                      f"{len(report.entries)} op records, the peers from the count with functional "
                      f"calls priced, {len(functional.entries)} op records; differences by op type "
                      "from the latter)")
        report = functional
    for name, c in totals.items():
        t.add_row([name, f"{c.macs:,}", flops_to_string(c.macs, units=_mac_unit(units), precision=precision),
                   f"{c.flops:,}", CONVENTIONS[name].peer, CONVENTIONS[name].engine])
    if functional is not None:
        lines = [t.get_string(), lines_head]
    else:
        priced_functional = any(FUNCTION_ATTR in r.attrs for r, _ in report.entries)
        lines = [t.get_string(), f"(one {report.mode} count of {len(report.entries)} op records"
                 + (", functional calls priced)" if priced_functional else ")")]
    for name in totals:
        diff = report.convention_diff("flowflops", name) if name != "flowflops" else {}
        if diff:
            items = ", ".join(f"{op} {b.macs - a.macs:+,}" for op, (a, b) in diff.items())
            lines.append(f"{name} - flowflops, by op type: {items}")
    return "\n".join(lines)


def _tex(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"), (">", r"$>$")):
        s = s.replace(a, b)
    return s


def to_latex(report: Aggregate, depth: int = 2) -> str:
    """A LaTeX ``tabular`` of the module tree to ``depth``, for a paper's appendix."""
    lines = [r"\begin{tabular}{llrrrr}", r"\hline", r"Module & Type & Params & MACs & FLOPs & Bytes \\", r"\hline"]
    for r in module_rows(report, depth):
        name = r"\quad " * r["depth"] + _tex(r["module"] or "model")
        lines.append(f"{name} & {_tex(r['type'])} & {r['params']:,} & {r['macs']:,} & {r['flops']:,} & "
                     f"{r['bytes_read'] + r['bytes_written']:,} \\\\")
    lines += [r"\hline", r"\end{tabular}", r"\footnotetext{" + _tex(convention_note(report)) + "}"]
    return "\n".join(lines) + "\n"


# -- JSON --------------------------------------------------------------------------------------

def to_dict(report: Aggregate) -> Dict[str, Any]:
    """Everything a report holds, as plain JSON-ready data."""
    return _data(report, list)


def _data(report: Aggregate, seq: Any, rows_text: bool = False) -> Dict[str, Any]:
    """:func:`to_dict`, with ``seq`` (``list`` or ``tuple``) for its arrays. :func:`to_json`
    takes tuples: the same text, and the tuples of numbers (shapes, children) are objects the
    garbage collector stops tracking at its next pass, so a 100,000-module report's million
    arrays do not make each full collection longer. ``rows_text``: the module rows and the
    op records as :class:`~flowflops.render.json_text.Raw` values that write their own text
    (:mod:`flowflops.render.json_rows`), for :func:`to_json`."""
    import oneflow

    from .._version import __version__

    by_module = report.by_module()
    by_bytes = report.by_module_bytes()
    traffics = report.record_traffic()
    outputs = report.module_outputs
    op_bytes = report.by_operator_bytes()
    calls = report.operator_counts()
    cost = report.cost  # once: report.macs and report.flops each sum every record
    total = report.traffic

    def records() -> List[Dict[str, Any]]:
        plain = _PLAIN
        out = []
        for (rec, cost), traffic in zip(report.entries, traffics):
            attrs = {}
            for k, v in rec.attrs.items():
                if type(v) not in plain:
                    v = _json_safe(v, seq)
                    if v is _SKIP:
                        continue
                attrs[k] = v
            out.append({
                "op_type": rec.op_type, "module": rec.module, "name": rec.name,
                "inputs": seq(map(seq, rec.inputs)), "outputs": seq(map(seq, rec.outputs)),
                "attrs": attrs,
                "macs": None if cost is None else cost.macs, "flops": None if cost is None else cost.flops,
                "bytes_read": traffic.bytes_read, "bytes_written": traffic.bytes_written,
            })
        return out

    def modules() -> List[Dict[str, Any]]:
        return [
            {"path": p, "type": i.type_name, "extra_repr": i.extra_repr, "params": i.params,
             "trainable_params": i.trainable_params, "children": seq(map(seq, i.children)),
             "macs": by_module.get(p, ZERO).macs, "flops": by_module.get(p, ZERO).flops,
             "bytes_read": by_bytes.get(p, NO_TRAFFIC).bytes_read,
             "bytes_written": by_bytes.get(p, NO_TRAFFIC).bytes_written,
             "output_shape": _json_safe(outputs.get(p), seq)}
            for p, i in report.modules.items()
        ]

    if rows_text:
        from .json_rows import module_rows, record_rows

        module_list: Any = module_rows(report.modules, by_module, by_bytes, outputs, modules)
        record_list: Any = record_rows(report.entries, traffics, records)
    else:
        module_list, record_list = modules(), records()
    return {
        "flowflops_version": __version__, "oneflow_version": oneflow.__version__,
        "mode": report.mode, "convention": report.convention, "inputs": _json_safe(report.inputs, seq),
        "totals": {"macs": cost.macs, "flops": cost.flops, "params": report.params,
                   "trainable_params": report.trainable_params},
        "bytes": {"read": total.bytes_read, "param_read": total.param_read, "written": total.bytes_written},
        "modules": module_list,
        "operators": {op: {"macs": c.macs, "flops": c.flops, "calls": calls.get(op, 0),
                           "bytes": op_bytes.get(op, NO_TRAFFIC).total}
                      for op, c in report.by_operator().items()},
        "unsupported": dict(report.unsupported),
        "coverage": report.coverage, "complete": report.complete,
        "unpriced_modules": dict(report.unpriced_modules),
        "phases": {k: {"macs": c.macs, "flops": c.flops} for k, c in report.by_phase().items()}
        if report.mode == "train" else None,
        "ranks": _ranks(report),
        "attention": report.attention,
        "upper_bounds": {k: {"macs": c.macs, "flops": c.flops} for k, c in report.upper_bounds.items()},
        "records": record_list,
    }


def _ranks(report: Aggregate) -> Optional[Dict[str, Any]]:
    """Per-rank cost and bytes sent/received, for reports of distributed graphs."""
    from ..analysis.ranks import comm_bytes_by_rank, cost_by_rank, report_ranks

    if len(report_ranks(report)) < 2:
        return None
    sent, received = comm_bytes_by_rank(report, "sent"), comm_bytes_by_rank(report, "received")
    return {str(r): {"macs": c.macs, "flops": c.flops, "bytes_sent": sent.get(r, 0),
                     "bytes_received": received.get(r, 0)} for r, c in cost_by_rank(report).items()}


def to_json(report: Aggregate, indent: Optional[int] = 2) -> str:
    from .json_text import dumps

    return dumps(_data(report, tuple, rows_text=indent is not None), indent)


# -- totals and the command line's summaries ------------------------------------------------

def totals_text(report: Aggregate) -> str:
    """Mode, MACs, FLOPs and params (ptflops strings and exact integers); a training step's
    phases and backward/forward ratio; the op types counted as zero."""
    lines = [
        f"Mode:   {report.mode}",
        f"MACs:   {flops_to_string(report.macs)} ({report.macs:,})",
        f"FLOPs:  {real_flops_to_string(report.flops)} ({report.flops:,})",
        f"Params: {params_to_string(report.params)} ({report.params:,})",
    ]
    if report.trainable_params != report.params:
        lines.append(f"Trainable params: {params_to_string(report.trainable_params)} ({report.trainable_params:,})")
    if report.mode == "train":
        for phase, c in report.by_phase().items():
            lines.append(f"  {phase:<9} {flops_to_string(c.macs)} ({c.macs:,})")
        lines.append(f"Backward / forward: {backward_forward_ratio(report):.3f}")
    if report.convention != "flowflops":
        lines.append(convention_note(report))
    for name, c in getattr(report, "upper_bounds", {}).items():  # see flowflops.sparsity
        lines.append(f"Upper bound ({name}; counted with attention {getattr(report, 'attention', 'dense')}): "
                     f"{flops_to_string(c.macs)} ({c.macs:,})")
    lines.append(coverage_text(report))
    warning = zero_share_warning(report)
    if warning:
        lines.append(warning)
    return "\n".join(lines) + "\n"


def top_text(report: Aggregate, k: int, folded: Optional[List[Tuple[str, str, int, int]]] = None) -> str:
    """The ``k`` most expensive leaf-most modules, one numbered line each; with ``folded``
    (:func:`flowflops.analysis.rollup.folded_top`: identical copies taken together) those rows
    instead, ``blocks.0-11.mlp.fc1 (Linear x 12): sum (each ...)``."""
    rows = [(p, t, m, 1) for p, t, m in top_modules(report, k)] if folded is None else folded[:k]
    total = max(report.macs, 1)
    tail = ", identical copies together):" if folded is not None else "):"
    out = [f"Top {len(rows)} modules by MACs ({report.mode}" + tail]
    for i, (path, typ, macs, n) in enumerate(rows, 1):
        each = f" (each {flops_to_string(macs // n)})" if n > 1 else ""
        times = f" x {n}" if n > 1 else ""
        out.append(f"{i:>3}. {path} ({typ}{times}): {flops_to_string(macs)}{each} ({macs / total:.2%})")
    return "\n".join(out) + "\n"


def both_text(eager: Aggregate, graph: Aggregate, depth: int) -> str:
    """Eager and graph MACs of each module side by side, then both reports' totals."""
    from prettytable import PrettyTable

    g = graph.by_module()
    t = PrettyTable(["module", "type", "eager MACs", "graph MACs", "graph - eager"])
    t.align = "r"
    t.align["module"] = t.align["type"] = "l"
    for r in module_rows(eager, depth, fold=False):
        gm = g[r["path"]].macs if r["path"] in g else 0
        t.add_row(["  " * r["depth"] + r["module"], r["type"], f"{r['macs']:,}", f"{gm:,}", f"{gm - r['macs']:+,}"])
    return t.get_string() + "\n" + totals_text(eager) + totals_text(graph)


# -- per rank --------------------------------------------------------------------------------

def per_rank_table(report: Aggregate, units: Optional[str] = None, precision: int = 2) -> str:
    """A table with one row per rank: MACs, FLOPs, the rank's share of the logical MACs, bytes
    sent and received; then a row for the sum over ranks and one for the logical total (the
    model on one device). Raises ``ValueError`` for a report without placements."""
    from prettytable import PrettyTable

    from ..analysis.ranks import comm_bytes_by_rank, cost_by_rank

    costs = cost_by_rank(report)
    sent = comm_bytes_by_rank(report, "sent")
    received = comm_bytes_by_rank(report, "received")
    logical = report.cost

    def pct(part: int) -> str:
        return "{:.2%}".format(part / logical.macs) if logical.macs else "-"

    def macs(v: int) -> str:
        return flops_to_string(v, units=_mac_unit(units), precision=precision)

    t = PrettyTable(["rank", "MACs", "FLOPs", "% of logical MACs", "sent", "received"])
    t.align = "r"
    for r, c in costs.items():
        t.add_row([r, macs(c.macs), real_flops_to_string(c.flops, precision=precision), pct(c.macs),
                   bytes_to_string(sent.get(r, 0), precision),
                   bytes_to_string(received.get(r, 0), precision)])
    total = sum(costs.values(), ZERO)
    t.add_row(["sum", macs(total.macs), real_flops_to_string(total.flops, precision=precision),
               pct(total.macs), bytes_to_string(sum(sent.values()), precision),
               bytes_to_string(sum(received.values()), precision)])
    t.add_row(["logical", macs(logical.macs), real_flops_to_string(logical.flops, precision=precision),
               pct(logical.macs), "", ""])
    return t.get_string()


# -- the model zoo table (`flowflops zoo`) -----------------------------------------------------

def progress_line(done: int, total: int, name: str = "") -> str:
    """The zoo's progress bar on a terminal: ``"\\r[#####     ] 3/12 resnet50"``, rewritten in
    place; the last one (``done == total``, no name) ends the line."""
    if done == total and not name:
        return f"\r[{'#' * 20}] {total}/{total}{' ' * 32}\n"
    bar = "#" * int(20 * done / total)
    return f"\r[{bar:<20}] {done}/{total} {name:<30}"


def zoo_text(rows: List[Row], modes: Sequence[str]) -> str:
    """The article's layout: one table per mode, Model | Params | FLOPs (ptflops strings)."""
    from prettytable import PrettyTable

    out = []
    for mode in modes:
        t = PrettyTable(["Model", "Params", "FLOPs"])
        for r in rows:
            t.add_row([r["model"], params_to_string(r["params"]), flops_to_string(r[f"{mode}_macs"])])
        out.append(f"====== {mode} ======\n{t.get_string()}")
    return "\n".join(out) + "\n"


def zoo_flat(rows: List[Row], modes: Sequence[str], fmt: str, raw: bool = False) -> str:
    """The zoo rows as ``json``, ``csv``, ``markdown`` or ``latex``: columns model, params and
    one ``<mode>_macs`` per mode. JSON and CSV hold the integers; Markdown and LaTeX the
    article's formatted cells (``11.69 M``, ``1.82 GMac``), or with ``raw`` the integers
    (``11,689,512``)."""
    cols = ["model", "params"] + [f"{m}_macs" for m in modes]
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue()

    def cell(r: Row, c: str, escape: Callable[[str], str]) -> str:
        v = r[c]
        if not isinstance(v, int):
            return escape(str(v))
        if raw:
            return f"{v:,}"
        return params_to_string(v) if c == "params" else flops_to_string(v)

    if fmt == "markdown":
        head = "| " + " | ".join(cols) + " |\n|" + "---|" + "---:|" * (len(cols) - 1) + "\n"
        return head + "".join("| " + " | ".join(cell(r, c, _md_escape) for c in cols) + " |\n" for r in rows)
    body = "".join(" & ".join(cell(r, c, _tex) for c in cols) + " \\\\\n" for r in rows)
    return ("\\begin{tabular}{l" + "r" * (len(cols) - 1) + "}\n\\hline\n" + " & ".join(_tex(c) for c in cols)
            + " \\\\\n\\hline\n" + body + "\\hline\n\\end{tabular}\n")


# -- roofline and memory -------------------------------------------------------------------------

def roofline_table(pred: "Roofline", depth: int = 2) -> str:
    """Per module to ``depth``: FLOPs, bytes, FLOP/B, bound and predicted time, then the total."""
    from prettytable import PrettyTable

    from .units import seconds_to_string

    report = pred.report
    times, bounds = pred.by_module(), pred.bound_by_module()
    by_bytes = pred.by_module_bytes()  # at the dtype asked for, as the predicted times
    t = PrettyTable(["module", "type", "FLOPs", f"bytes ({pred.dtype})", "FLOP/B", "bound", "predicted"])
    t.align = "r"
    t.align["module"] = t.align["type"] = "l"
    for r in module_rows(report, depth):
        b = by_bytes.get(r["path"], 0)
        t.add_row(["  " * r["depth"] + r["module"], r["type"], real_flops_to_string(r["flops"]),
                   bytes_to_string(b), f"{r['flops'] / b:.2f}" if b else "-", bounds.get(r["path"], "-"),
                   seconds_to_string(times.get(r["path"], 0.0))])
    dev = pred.device
    head = (f"Roofline on {dev.name} at {pred.dtype}: peak {dev.peak(pred.dtype) / 1e12:.3g} TFLOP/s, "
            f"{dev.bandwidth / 1e9:.4g} GB/s" + (" (measured here)" if dev.measured else "")
            + (", calibrated" if dev.efficiency else ""))
    return f"{head}\n{t.get_string()}\nPredicted total: {seconds_to_string(pred.total)}"


def memory_text(mem: "Memory") -> str:
    """A memory breakdown, one line per part."""
    lines = [f"parameters:        {bytes_to_string(mem.params)}"]
    if mem.gradients:
        lines.append(f"gradients:         {bytes_to_string(mem.gradients)}")
    for kind, b in sorted(mem.optimizer_state.items()):
        lines.append(f"optimizer ({kind}): {bytes_to_string(b)}")
    if mem.saved_activations:
        lines.append(f"saved activations: {bytes_to_string(mem.saved_activations)}")
    lines.append(f"activation peak:   {bytes_to_string(mem.activation_peak)}")
    lines.append(f"total:             {bytes_to_string(mem.total)}")
    return "\n".join(lines)


def fit_text(fit: "Fit") -> str:
    """``Fits on A100-80GB: ...`` with each part and the device's memory."""
    yes = lambda ok: "fits" if ok else "does not fit"  # noqa: E731
    m = fit.memory
    training = (f"; training state {bytes_to_string(m.training_state)} {yes(fit.training_state)}"
                if m.gradients or m.optimizer_state else "")
    return (f"{fit.device} ({bytes_to_string(fit.capacity)}): weights {bytes_to_string(m.params)} "
            f"{yes(fit.weights)}{training}; with activations {bytes_to_string(m.total)} {yes(fit.total)}")


def device_text(pred: "Roofline", mem: Optional["Memory"], fit: Optional["Fit"], depth: int = 2) -> str:
    """The roofline table and, for graph and train counts (``mem`` and ``fit`` given), the
    memory breakdown and whether it fits (the CLI's ``--device``)."""
    text = "\n" + roofline_table(pred, depth) + "\n"
    if mem is not None and fit is not None:
        text += memory_section(mem) + "Fits on " + fit_text(fit) + "\n"
    return text


def memory_section(mem: "Memory") -> str:
    """A memory breakdown (rank 0) under a heading."""
    return "\nMemory (rank 0, dtypes as counted):\n" + memory_text(mem) + "\n"


def measurement_text(m: Any, depth: int = 2) -> str:
    """A :func:`flowflops.measure` run: per module (to ``depth``) the measured time, counted
    FLOPs, achieved FLOP/s and share of peak; then the totals (impossible figures flagged)."""
    from prettytable import PrettyTable

    from .units import seconds_to_string

    achieved = m.module_achieved()
    t = PrettyTable(["module", "time", "FLOPs", "achieved", "% of peak"])
    t.align = "r"
    t.align["module"] = "l"
    for path in m.module_times:
        level = 0 if not path else path.count(".") + 1
        if level > depth:
            continue
        a = achieved.get(path)
        t.add_row(["  " * level + (path or "model"), seconds_to_string(m.module_times[path]),
                   real_flops_to_string(m.module_flops.get(path, 0)),
                   "-" if a is None else f"{a / 1e9:.3g} GFLOP/s", "-" if a is None else f"{a / m.peak:.1%}"])
    head = (f"Measured on {m.device.name} ({m.mode}, {m.dtype}): peak {m.peak / 1e9:.4g} GFLOP/s"
            + (" (measured here)" if m.device.measured else ""))
    lines = [head, t.get_string() if m.module_times else "",
             f"Time per call: {seconds_to_string(m.time)} ({m.statistic} of {len(m.times)})",
             f"FLOPs per call: {real_flops_to_string(m.flops)} ({m.flops:,})"]
    if m.flags:
        lines.append("Not shown (impossible): " + "; ".join(m.flags))
    else:
        lines.append(f"Achieved: {m.achieved / 1e9:.4g} GFLOP/s, {m.share_of_peak:.1%} of peak")
    return "\n".join(x for x in lines if x) + "\n"


def mfu_text(s: Any) -> str:
    """An :class:`flowflops.measure.MFUSummary` as a few lines."""
    from .units import seconds_to_string

    pct = lambda v: "n/a (flagged)" if v is None else f"{v:.2%}"  # noqa: E731
    lines = [f"rank {s.rank}/{s.world_size} on {s.device} ({s.dtype}), {s.steps} timed steps: "
             f"{seconds_to_string(s.seconds_per_step)}/step, {s.samples_per_s:.4g} samples/s"
             + ("" if s.tokens_per_s is None else f", {s.tokens_per_s:.4g} tokens/s"),
             "achieved " + ("n/a (flagged)" if s.achieved_flops is None else f"{s.achieved_flops / 1e9:.4g} GFLOP/s")
             + f", MFU {pct(s.mfu)}, HFU {pct(s.hfu)} (peak {s.peak / 1e9:.4g} GFLOP/s)"]
    for k, (sec, rate) in s.phases.items():
        lines.append(f"  {k:<9} {seconds_to_string(sec)}/step"
                     + ("" if rate is None else f", {rate / 1e9:.4g} GFLOP/s, {rate / s.peak:.1%} of peak"))
    if s.flags:
        lines.append("flagged: " + "; ".join(s.flags))
    return "\n".join(lines)
