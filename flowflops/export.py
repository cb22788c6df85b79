"""Results as data: tables (prettytable), CSV, Markdown, LaTeX and JSON, all read from a
:class:`~flowflops.report.Report`."""
from __future__ import annotations

import csv
import io
import json
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .records import NO_TRAFFIC, ZERO, Cost, OpRecord
from .units import bytes_to_string, flops_to_string, params_to_string, real_flops_to_string

if TYPE_CHECKING:  # pragma: no cover
    from .report import Report

Row = Dict[str, Any]


def _pct(part: int, whole: int) -> str:
    return "{:.2%}".format(part / whole) if whole else "0.00%"


def module_rows(report: "Report", depth: int = 3, fold: bool = True) -> List[Row]:
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
            "type": report.modules[name].type_name if shown == name else f"{report.modules[name].type_name}>{info.type_name}",
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


def module_table(report: "Report", depth: int = 3, units: Optional[str] = None, precision: int = 2) -> str:
    """The module tree to ``depth`` as a prettytable: module, type, params, % params, MACs,
    % MACs, FLOPs, output shape; unsupported ops listed under it."""
    from prettytable import PrettyTable

    t = PrettyTable(["module", "type", "params", "% params", "MACs", "% MACs", "FLOPs", "bytes", "output shape"])
    t.align = "r"
    t.align["module"] = t.align["type"] = "l"
    for r in module_rows(report, depth):
        t.add_row([
            "  " * r["depth"] + r["module"],
            r["type"], params_to_string(r["params"], units=_param_unit(units), precision=precision),
            _pct(r["params"], report.params), flops_to_string(r["macs"], units=_mac_unit(units), precision=precision),
            _pct(r["macs"], report.macs), real_flops_to_string(r["flops"], precision=precision),
            bytes_to_string(r["bytes_read"] + r["bytes_written"], precision),
            "" if r["output_shape"] is None else str(tuple(r["output_shape"])),
        ])
    return t.get_string() + _unsupported_note(report)


def operator_table(report: "Report", units: Optional[str] = None, precision: int = 2) -> str:
    """Per op type: calls, MACs, % MACs, FLOPs; unsupported ops listed under it."""
    from prettytable import PrettyTable

    counts = report.operator_counts()
    by_bytes = report.by_operator_bytes()
    t = PrettyTable(["operator", "calls", "MACs", "% MACs", "FLOPs", "bytes", "FLOP/B"])
    t.align = "r"
    t.align["operator"] = "l"
    for op, c in report.by_operator().items():
        b = by_bytes.get(op, NO_TRAFFIC).total
        t.add_row([op, counts.get(op, 0), flops_to_string(c.macs, units=_mac_unit(units), precision=precision),
                   _pct(c.macs, report.macs), real_flops_to_string(c.flops, precision=precision),
                   bytes_to_string(b, precision), f"{c.flops / b:.2f}" if b else "-"])
    return t.get_string() + _unsupported_note(report)


def _mac_unit(units: Optional[str]) -> Optional[str]:
    return units if units in ("GMac", "MMac", "KMac", "Mac") else None


def _param_unit(units: Optional[str]) -> Optional[str]:
    return {"GMac": "M", "MMac": "M", "KMac": "K"}.get(units or "", None)


def _unsupported_note(report: "Report") -> str:
    if not report.unsupported:
        return ""
    items = ", ".join(f"{k} x{v}" for k, v in report.unsupported.items())
    return f"\nCounted as zero (no formula): {items}"


# -- flat formats ------------------------------------------------------------------------------

CSV_FIELDS = ["module", "type", "depth", "params", "trainable_params", "macs", "flops", "bytes_read",
              "bytes_written", "output_shape"]


def to_csv(report: "Report", depth: int = 1_000) -> str:
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


def to_markdown(report: "Report", depth: int = 2) -> str:
    """A Markdown table of the module tree to ``depth`` (integer counts and ptflops strings)."""
    lines = ["| module | type | params | MACs | FLOPs | bytes |", "|---|---|---:|---:|---:|---:|"]
    for r in module_rows(report, depth):
        name = "&nbsp;&nbsp;" * r["depth"] + (r["module"] or "model")
        lines.append(f"| {_md_escape(name)} | {_md_escape(r['type'])} | {r['params']:,} | {r['macs']:,} "
                     f"({flops_to_string(r['macs'])}) | {r['flops']:,} | {r['bytes_read'] + r['bytes_written']:,} |")
    return "\n".join(lines) + "\n"


def _tex(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"), (">", r"$>$")):
        s = s.replace(a, b)
    return s


def to_latex(report: "Report", depth: int = 2) -> str:
    """A LaTeX ``tabular`` of the module tree to ``depth``, for a paper's appendix."""
    lines = [r"\begin{tabular}{llrrrr}", r"\hline", r"Module & Type & Params & MACs & FLOPs & Bytes \\", r"\hline"]
    for r in module_rows(report, depth):
        name = r"\quad " * r["depth"] + _tex(r["module"] or "model")
        lines.append(f"{name} & {_tex(r['type'])} & {r['params']:,} & {r['macs']:,} & {r['flops']:,} & "
                     f"{r['bytes_read'] + r['bytes_written']:,} \\\\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


# -- JSON --------------------------------------------------------------------------------------

def _json_safe(v: Any) -> Any:
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, (tuple, list)):
        items = [_json_safe(x) for x in v]
        return None if any(x is _SKIP for x in items) else items
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    return _SKIP


_SKIP = object()


def to_dict(report: "Report") -> Dict[str, Any]:
    """Everything a report holds, as plain JSON-ready data."""
    import oneflow

    from . import __version__

    by_module = report.by_module()
    by_bytes = report.by_module_bytes()
    op_bytes = report.by_operator_bytes()
    total = report.traffic
    records = []
    for (rec, cost), traffic in zip(report.entries, report.record_traffic()):
        attrs = {k: _json_safe(v) for k, v in rec.attrs.items()}
        records.append({
            "op_type": rec.op_type, "module": rec.module, "name": rec.name,
            "inputs": [list(s) for s in rec.inputs], "outputs": [list(s) for s in rec.outputs],
            "attrs": {k: v for k, v in attrs.items() if v is not _SKIP},
            "macs": None if cost is None else cost.macs, "flops": None if cost is None else cost.flops,
            "bytes_read": traffic.bytes_read, "bytes_written": traffic.bytes_written,
        })
    return {
        "flowflops_version": __version__, "oneflow_version": oneflow.__version__,
        "mode": report.mode, "inputs": _json_safe(report.inputs),
        "totals": {"macs": report.macs, "flops": report.flops, "params": report.params,
                   "trainable_params": report.trainable_params},
        "bytes": {"read": total.bytes_read, "param_read": total.param_read, "written": total.bytes_written},
        "modules": [
            {"path": p, "type": i.type_name, "extra_repr": i.extra_repr, "params": i.params,
             "trainable_params": i.trainable_params, "children": [list(c) for c in i.children],
             "macs": by_module.get(p, ZERO).macs, "flops": by_module.get(p, ZERO).flops,
             "bytes_read": by_bytes.get(p, NO_TRAFFIC).bytes_read,
             "bytes_written": by_bytes.get(p, NO_TRAFFIC).bytes_written,
             "output_shape": _json_safe(report.module_outputs.get(p))}
            for p, i in report.modules.items()
        ],
        "operators": {op: {"macs": c.macs, "flops": c.flops, "calls": report.operator_counts().get(op, 0),
                           "bytes": op_bytes.get(op, NO_TRAFFIC).total}
                      for op, c in report.by_operator().items()},
        "unsupported": dict(report.unsupported),
        "phases": {k: {"macs": c.macs, "flops": c.flops} for k, c in report.by_phase().items()}
        if report.mode == "train" else None,
        "ranks": _ranks(report),
        "records": records,
    }


def _ranks(report: "Report") -> Optional[Dict[str, Any]]:
    """Per-rank cost and bytes sent/received, for reports of distributed graphs."""
    from .distributed import report_ranks

    if len(report_ranks(report)) < 2:
        return None
    sent, received = report.comm_bytes_by_rank("sent"), report.comm_bytes_by_rank("received")
    return {str(r): {"macs": c.macs, "flops": c.flops, "bytes_sent": sent.get(r, 0),
                     "bytes_received": received.get(r, 0)} for r, c in report.by_rank().items()}


def to_json(report: "Report", indent: Optional[int] = 2) -> str:
    return json.dumps(to_dict(report), indent=indent)


def from_dict(data: Dict[str, Any]) -> "Report":
    """Rebuild a :class:`Report` from :func:`to_dict`'s data."""
    from .report import ModuleInfo, Report

    modules: "OrderedDict[str, ModuleInfo]" = OrderedDict()
    outputs: Dict[str, Tuple[int, ...]] = {}
    for m in data["modules"]:
        modules[m["path"]] = ModuleInfo(m["type"], m.get("extra_repr", ""), m["params"], m["trainable_params"],
                                        [tuple(c) for c in m.get("children", [])])
        if m.get("output_shape") is not None:
            outputs[m["path"]] = tuple(m["output_shape"])
    entries = []
    for r in data["records"]:
        rec = OpRecord(r["op_type"], r["module"], tuple(tuple(s) for s in r["inputs"]),
                       tuple(tuple(s) for s in r["outputs"]), r.get("attrs", {}), r.get("name", ""))
        entries.append((rec, None if r["macs"] is None else Cost(r["macs"], r["flops"])))
    unsupported = dict(data.get("unsupported", {}))
    for rec, cost in entries:  # Report adds these back itself
        if cost is None:
            unsupported[rec.op_type] -= 1
    return Report(entries, modules, mode=data["mode"], inputs=data.get("inputs"),
                  unsupported={k: v for k, v in unsupported.items() if v}, module_outputs=outputs)


def from_json(text: str) -> "Report":
    return from_dict(json.loads(text))
