"""The report as one self-contained HTML page (a helper of :mod:`flowflops.export`).

The page holds its data as one JSON block and draws everything with the script and styles in
``flowflops/assets`` (written for this project, inlined: the file opens offline). It shows the
totals, a treemap of the module tree (click a module to zoom in) sized by MACs, FLOPs,
parameters, bytes moved or (after ``report.roofline(device)``) predicted time, a sortable and
searchable per-module table, the per-op-type table, what was counted as zero, every op record,
and the inputs and convention. A training count can be switched between its phases, a
distributed count between its ranks ("views"); every number in a view is per batch, for the
inputs as given.
"""
from __future__ import annotations

import base64
import html
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple

from ..records import PHASE, ZERO, Cost, OpRecord, ancestors

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = ["ASSETS", "PHASES", "Pick", "record_metrics", "page_data", "to_html", "REPR_FULL_LIMIT", "repr_html"]

ASSETS = Path(__file__).parent / "assets"
PHASES = ("forward", "backward", "optimizer")
# pick(i, record, cost): the cost of report.entries[i] in a view (None: not in that view)
Pick = Callable[[int, OpRecord, Cost], Optional[Cost]]


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def record_metrics(report: "Aggregate", roofline: Any = None) -> Tuple[List[str], List[Tuple[float, ...]]]:
    """``(names, rows)``: the per-record numbers the page can size by, one row per entry of
    ``report.entries``: ``macs`` and ``flops`` (0 for an op without formula), ``bytes`` (read plus
    written, :meth:`Report.record_traffic`) and, given a roofline, ``time`` (its predicted
    seconds)."""
    names = ["macs", "flops"]
    costs = [(c.macs, c.flops) if c is not None else (0, 0) for _, c in report.entries]
    columns: List[List[float]] = [[m for m, _ in costs], [f for _, f in costs]]
    names.append("bytes")
    columns.append([t.total for t in report.record_traffic()])
    if roofline is not None and len(roofline.ops) == len(report.entries):
        names.append("time")
        columns.append([o.time for o in roofline.ops])
    # tuples, not lists: the collector stops watching a tuple of numbers at its next pass, so
    # a 100,000-module report's rows do not make it walk the whole process again and again
    return names, list(zip(*columns)) if report.entries else []


def _views(report: "Aggregate") -> List[Tuple[str, Pick, bool]]:
    """``(label, pick, whole)`` per view; ``whole``: the view keeps whole records (so their
    bytes and time too). Every report has ``"all"``; a training count adds its phases, a count
    of a distributed graph its ranks (MACs and FLOPs only: a rank runs its share of an op)."""
    from ..analysis.ranks import record_rank_costs, report_ranks

    views: List[Tuple[str, Pick, bool]] = [("all", lambda i, rec, c: c, True)]
    if report.mode == "train":
        views += [(ph, _phase_pick(ph), True) for ph in PHASES]
    ranks = report_ranks(report)
    if len(ranks) > 1:
        per_record = record_rank_costs(report)
        views += [(f"rank {r}", _rank_pick(per_record, r), False) for r in ranks]
    return views


def _phase_pick(phase: str) -> Pick:
    def pick(i: int, rec: OpRecord, c: Cost) -> Optional[Cost]:
        return c if rec.attrs.get(PHASE, "forward") == phase else None
    return pick


def _rank_pick(per_record: List[Dict[int, Cost]], rank: int) -> Pick:
    def pick(i: int, rec: OpRecord, c: Cost) -> Optional[Cost]:
        return per_record[i].get(rank)
    return pick


def _view_values(report: "Aggregate", index: Dict[str, int], names: List[str], rows: List[Tuple[float, ...]],
                 pick: Pick, whole: bool) -> Tuple[Dict[str, List[Any]], List[List[Any]]]:
    """Per module (inclusive of its submodules) and per op type: each metric summed over the
    records that ``pick`` keeps (only MACs and FLOPs unless the view is ``whole``)."""
    names = names if whole else names[:2]
    around: Dict[str, Tuple[int, ...]] = {}  # module path -> its row and the rows of its ancestors
    per_module: Dict[str, List[Any]] = {m: [0] * len(index) for m in names}
    per_op: Dict[str, List[Any]] = {}
    columns = [per_module[m] for m in names]
    more = slice(2, len(names))
    for i, ((rec, c), row) in enumerate(zip(report.entries, rows)):
        got = pick(i, rec, c if c is not None else ZERO)
        if got is None:
            continue
        vals = (got.macs, got.flops, *row[more])
        op: Optional[List[Any]] = per_op.get(rec.op_type)
        if op is None:
            op = per_op[rec.op_type] = [rec.op_type, 0, *[0] * len(names)]
        op[1] += 1
        for k, v in enumerate(vals, 2):
            op[k] += v
        at_rows = around.get(rec.module)
        if at_rows is None:
            at_rows = around[rec.module] = tuple(index[p] for p in ancestors(rec.module) if p in index)
        for col, v in zip(columns, vals):
            for at in at_rows:
                col[at] += v
    return per_module, sorted(per_op.values(), key=lambda r: -r[2])


def _shape(shapes: Iterable[Iterable[int]]) -> str:
    return "; ".join(["x".join(map(str, s)) or "scalar" for s in shapes])


def page_data(report: "Aggregate", title: Optional[str] = None, roofline: Any = None,
              extras: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Everything the page draws, as JSON-ready data (module columns as parallel lists);
    ``extras`` (made by :meth:`flowflops.Report.to_html`): ``explain`` (module path -> the
    text of its explanation, shown when the module is clicked) and ``repeats`` (groups of
    identical sibling blocks, ``[label, type, paths]``, that the treemap can fold)."""
    import oneflow

    from .._version import __version__
    from .export import _json_safe, _ranks, convention_note, coverage_parts

    paths = list(report.modules)
    # modules the records name but the tree lacks (a parsed graph's scopes) still get a row
    known = set(paths)
    closed = all(p.rpartition(".")[0] in known for p in paths if p)  # every module's parent is in the tree
    for module in dict.fromkeys(rec.module for rec, _ in report.entries):
        if closed and module in known:
            continue
        for p in ancestors(module):
            if p not in known:
                known.add(p)
                paths.append(p)
    index = {p: i for i, p in enumerate(paths)}
    pred = roofline if roofline is not None else getattr(report, "prediction", None)
    metrics, rows = record_metrics(report, pred)
    values, operators = {}, {}
    for label, pick, whole in _views(report):
        values[label], operators[label] = _view_values(report, index, metrics, rows, pick, whole)

    def parent(p: str) -> int:
        return -1 if p == "" else index.get(p.rpartition(".")[0], 0)

    infos = [report.modules.get(p) for p in paths]
    ops = sorted({rec.op_type for rec, _ in report.entries})
    op_index = {o: i for i, o in enumerate(ops)}
    phase_of = {ph: i for i, ph in enumerate(PHASES)}
    texts: Dict[Any, str] = {}  # shapes -> their text, made once per distinct shapes

    def shape(shapes: Any) -> str:
        try:
            got = texts.get(shapes)
        except TypeError:  # (not hashable)
            return _shape(shapes)
        if got is None:
            got = texts[shapes] = _shape(shapes)
        return got

    records = [(op_index[rec.op_type], index.get(rec.module, 0), shape(rec.inputs), shape(rec.outputs),
                None if c is None else c.macs, None if c is None else c.flops,
                phase_of.get(rec.attrs.get(PHASE, "forward"), 0))  # (a JSON array, as a list)
               for rec, c in report.entries]
    root_type = infos[0].type_name if infos and infos[0] else "model"
    priced = sum(1 for _, c in report.entries if c is not None)
    cov_value, cov_note = coverage_parts(report)
    return {
        **(extras or {}),
        "title": title or f"{root_type}: {report.mode} count",
        "mode": report.mode,
        "convention": report.convention,
        "convention_note": convention_note(report),
        "inputs": _json_safe(report.inputs),
        "versions": {"flowflops": __version__, "oneflow": oneflow.__version__},
        "totals": {"macs": report.macs, "flops": report.flops, "params": report.params,
                   "trainable_params": report.trainable_params},
        "phases": ({k: {"macs": c.macs, "flops": c.flops} for k, c in report.by_phase().items()}
                   if report.mode == "train" else None),
        "ranks": _ranks(report),
        "metrics": metrics,
        "device": None if pred is None else f"{pred.device.name} at {pred.dtype}",
        "views": list(values),
        "modules": {
            "path": paths,
            "name": [p.rpartition(".")[2] if p else "model" for p in paths],
            "type": [i.type_name if i else "" for i in infos],
            "parent": [parent(p) for p in paths],
            "params": [i.params if i else 0 for i in infos],
            "trainable": [i.trainable_params if i else 0 for i in infos],
            "shape": [_shape([report.module_outputs[p]]) if p in report.module_outputs else "" for p in paths],
        },
        "values": values,
        "operators": operators,
        "unsupported": dict(report.unsupported),
        # the card: report.coverage (ops priced, module calls without a formula included) and
        # what was counted as zero; red when incomplete
        "coverage": {"share": report.coverage, "value": cov_value, "note": cov_note,
                     "complete": report.complete, "priced": priced,
                     "seen": priced + sum(report.unsupported.values())},
        "op_names": ops,
        "phase_names": list(PHASES),
        "records": records,
    }


def _script_json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_html(report: "Aggregate", title: Optional[str] = None, roofline: Any = None,
            extras: Optional[Dict[str, Any]] = None) -> str:
    """The full interactive page, one self-contained file (no network needed to open it). With
    ``roofline`` (from ``report.roofline(device)``; by default the last one computed, if any) the
    page can also size modules by predicted time."""
    data = page_data(report, title, roofline, extras)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(data['title'])} - flowflops</title>\n"
        f"<style>\n{_asset('report.css')}</style>\n</head>\n<body>\n"
        "<div id=\"ff-app\"><noscript>This report draws itself with JavaScript: open it in a "
        "browser with scripts enabled.</noscript></div>\n"
        f"<script type=\"application/json\" id=\"ff-data\">{_script_json(data)}</script>\n"
        f"<script>\n{_asset('report.js')}</script>\n</body>\n</html>\n"
    )


# -- notebook view -------------------------------------------------------------------------------

REPR_FULL_LIMIT = 8 << 20  # bytes of full page carried inside a notebook cell's output


def repr_html(report: "Aggregate", depth: int = 1) -> str:
    """A compact table for Jupyter (totals and the modules to ``depth``) with a button that opens
    the full interactive page and a link that saves it; for a page over
    :data:`REPR_FULL_LIMIT` the cell says to call ``report.to_html()`` instead."""
    from .export import module_rows
    from .units import flops_to_string, params_to_string, real_flops_to_string

    esc = html.escape
    rows = "".join(
        f"<tr><td style=\"text-align:left;padding-left:{0.3 + 1.2 * r['depth']}em\">{esc(r['module'])}</td>"
        f"<td style=\"text-align:left\">{esc(r['type'])}</td><td>{esc(params_to_string(r['params']))}</td>"
        f"<td>{esc(flops_to_string(r['macs']))}</td><td>{esc(real_flops_to_string(r['flops']))}</td></tr>"
        for r in module_rows(report, depth))
    conv = getattr(report, "convention", None)
    head = (f"<b>flowflops</b> {esc(report.mode)} count: <b>{esc(flops_to_string(report.macs))}</b> "
            f"({report.macs:,} MACs), {esc(real_flops_to_string(report.flops))}, "
            f"<b>{esc(params_to_string(report.params))}</b> params"
            + (f", convention {esc(str(conv))}" if conv else ""))
    if report.unsupported:
        zeros = ", ".join(f"{k} x{v}" for k, v in report.unsupported.items())
        head += "<br>Counted as zero (no formula): " + esc(zeros)
    full = to_html(report)
    if len(full) <= REPR_FULL_LIMIT:
        b64 = base64.b64encode(full.encode("utf-8")).decode("ascii")
        links = (
            "<button onclick=\"(function(b){var s=atob(b),a=new Uint8Array(s.length);"
            "for(var i=0;i<s.length;i++)a[i]=s.charCodeAt(i);"
            "window.open(window.URL.createObjectURL(new Blob([a],{type:'text/html'})),'_blank');})"
            f"(this.nextElementSibling.getAttribute('data-b64'))\">Open full view</button>"
            f"<span data-b64=\"{b64}\" style=\"display:none\"></span> "
            f"<a download=\"flowflops-report.html\" href=\"data:text/html;base64,{b64}\">save it as HTML</a>"
        )
    else:
        links = "<i>full view: call <code>report.to_html()</code> and open the file it writes</i>"
    return (
        "<div class=\"flowflops-report\"><div>" + head + "</div>"
        "<table><thead><tr><th style=\"text-align:left\">module</th><th style=\"text-align:left\">type</th>"
        "<th>params</th><th>MACs</th><th>FLOPs</th></tr></thead><tbody>" + rows + "</tbody></table>"
        "<div>" + links + "</div></div>"
    )
