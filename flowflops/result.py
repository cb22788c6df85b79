"""The results users get. :class:`Report` is one count: the aggregate's numbers
(:class:`flowflops.report.Aggregate`: totals, ``by_module()``, ``by_operator()``, ``by_phase()``...)
with the analyses (``roofline()``, ``memory()``, ``fits()``, ``by_rank()``), the renderings and
the JSON round trip. :func:`diff` and :func:`compare` read reports (objects, dicts or JSON files).
:class:`Roofline`, :class:`Fit`, :class:`ReportDiff` and :class:`Comparison` are the results of
:mod:`flowflops.analysis` with their renderings.

One verb renders every result: ``to_text()`` (what ``str()`` gives), and ``to_markdown()``,
``to_latex()``, ``to_html()``... where the format exists. Nothing here computes a number
(``report.py``, ``analysis/``) or makes a string (``render/``)."""
from __future__ import annotations

import json
import os
import warnings
from collections import OrderedDict
from dataclasses import fields
from typing import Any, Dict, Optional, Sequence, Tuple, Type, TypeVar, Union

from .analysis import diff as diffs
from .analysis import memory as memories
from .analysis import ranks
from .analysis import roofline as rooflines
from .analysis.hardware import Device
from .errors import ReportFileError
from .records import Cost, ModuleInfo, OpRecord
from .render import diff as diff_render
from .render import export
from .report import Aggregate

__all__ = ["Report", "Roofline", "Fit", "ReportDiff", "Comparison", "diff", "compare", "load_report", "Source"]

R = TypeVar("R")
Source = Union[Aggregate, Dict[str, Any], str, "os.PathLike[str]"]


def _with_renderings(cls: Type[R], result: Any) -> R:
    """An analysis result (a dataclass) as ``cls``, its subclass here that adds the renderings."""
    return cls(**{f.name: getattr(result, f.name) for f in fields(result)})


# -- analysis results with their renderings ----------------------------------------------------

class Roofline(rooflines.Roofline):
    """Predicted times (:class:`flowflops.analysis.roofline.Roofline`) and their table."""

    def to_text(self, depth: int = 2) -> str:
        """Per module to ``depth``: FLOPs, bytes, FLOP/B, bound and predicted time; the total."""
        return export.roofline_table(self, depth)

    table = to_text  # the name before to_text(), kept for one release

    def __str__(self) -> str:
        return self.to_text()


class Fit(memories.Fit):
    """Whether a count fits on a device (:class:`flowflops.analysis.memory.Fit`), as a line."""

    def to_text(self) -> str:
        return export.fit_text(self)

    def __str__(self) -> str:
        return self.to_text()


class ReportDiff(diffs.ReportDiff):
    """The differences between two reports (:class:`flowflops.analysis.diff.ReportDiff`) and
    their printouts: modules that differ (all with ``everything``) to ``depth``, op types."""

    def to_text(self, depth: Optional[int] = None, everything: bool = False) -> str:
        return diff_render.diff_text(self, depth, everything)

    def to_markdown(self, depth: Optional[int] = None, everything: bool = False) -> str:
        return diff_render.diff_markdown(self, depth, everything)

    def to_latex(self, depth: Optional[int] = None, everything: bool = False) -> str:
        return diff_render.diff_latex(self, depth, everything)

    def to_html(self, depth: Optional[int] = None, everything: bool = False) -> str:
        return diff_render.diff_html(self, depth, everything)

    def __str__(self) -> str:
        return self.to_text()


class Comparison(diffs.Comparison):
    """Several reports side by side (:class:`flowflops.analysis.diff.Comparison`) and the table."""

    def render(self, fmt: str = "text") -> str:
        """The table in ``fmt``: one of ``text``, ``markdown``, ``latex``, ``html``, ``csv``, ``json``."""
        return diff_render.compare_render(self, fmt)

    def to_text(self) -> str:
        return self.render("text")

    def to_markdown(self) -> str:
        return self.render("markdown")

    def to_latex(self) -> str:
        return self.render("latex")

    def to_html(self) -> str:
        return self.render("html")

    def to_csv(self) -> str:
        return self.render("csv")

    def to_json(self) -> str:
        return self.render("json")

    def __str__(self) -> str:
        return self.to_text()


# -- the Report users get ---------------------------------------------------------------------

class Report(Aggregate):
    """A count: the aggregate's numbers (totals, ``by_module()``, ``by_operator()``,
    ``by_phase()``...), its analyses, its renderings (tables and every export format) and the
    JSON round trip. ``profile`` returns it; ``flowflops.Report`` names it."""

    # -- analyses (flowflops.analysis) ---------------------------------------------------------
    def roofline(self, device: Union[str, Device] = "cpu", dtype: str = "fp32") -> Roofline:
        """Predicted time per op, module and in total on ``device`` at ``dtype``, and what
        bounds each (a :class:`Roofline`; also kept as ``self.prediction``)."""
        self.prediction = _with_renderings(Roofline, rooflines.roofline(self, device, dtype))
        return self.prediction

    def memory(self, rank: int = 0) -> memories.Memory:
        """Bytes held: parameters, gradients, optimizer state, saved activations and the
        activation peak (a :class:`flowflops.analysis.memory.Memory`; graph and train counts only)."""
        return memories.memory(self, rank)

    def memory_by_rank(self) -> Dict[int, memories.Memory]:
        return memories.memory_by_rank(self)

    def fits(self, device: Union[str, Device]) -> Fit:
        """Whether the weights, the training state and everything fit in ``device``'s memory
        (a :class:`Fit`, true when all of it fits)."""
        return _with_renderings(Fit, memories.fits(self, device))

    def by_rank(self) -> Dict[int, Cost]:
        """Rank -> cost of the ops that rank runs, for a graph count of global tensors (see
        :func:`flowflops.analysis.ranks.cost_by_rank` for the rules)."""
        return ranks.cost_by_rank(self)

    def comm_bytes_by_rank(self, direction: str = "sent") -> Dict[int, int]:
        """Rank -> bytes it sends (or, with ``direction="received"``, receives)."""
        return ranks.comm_bytes_by_rank(self, direction)

    # -- renderings (flowflops.render) -----------------------------------------------------------
    def to_text(self, depth: int = 3, units: Optional[str] = None, precision: int = 2) -> str:
        """The module tree to ``depth`` as a table (single-child wrappers folded)."""
        return export.module_table(self, depth, units, precision)

    table = to_text  # the name before to_text(), kept for one release

    def __str__(self) -> str:
        return self.to_text()

    def operator_table(self, units: Optional[str] = None, precision: int = 2) -> str:
        """Cost per op type as a table."""
        return export.operator_table(self, units, precision)

    def convention_table(self, units: Optional[str] = None, precision: int = 2) -> str:
        """Every convention's MACs and FLOPs for this count, and where they differ, as a table."""
        return export.convention_table(self, units, precision)

    def rank_table(self, units: Optional[str] = None, precision: int = 2) -> str:
        """Per-rank MACs, FLOPs and communication, as a table."""
        return export.per_rank_table(self, units, precision)

    def to_csv(self) -> str:
        """One row per module: path, type, depth, params, trainable params, MACs, FLOPs."""
        return export.to_csv(self)

    def to_markdown(self, depth: int = 2) -> str:
        return export.to_markdown(self, depth)

    def to_latex(self, depth: int = 2) -> str:
        return export.to_latex(self, depth)

    def to_html(self, title: Optional[str] = None, roofline: Optional[Roofline] = None) -> str:
        """One self-contained interactive HTML page: treemap, sortable and searchable tables,
        no network (see :mod:`flowflops.render.html`)."""
        from .render.html import to_html

        return to_html(self, title, roofline)

    def _repr_html_(self) -> str:
        """Jupyter: a compact table with a button to the full page."""
        from .render.html import repr_html

        return repr_html(self)

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return export.to_dict(self)

    def to_json(self, indent: Optional[int] = 2) -> str:
        """Totals, inputs, mode, versions, module tree, operators, unsupported ops and every
        priced record; :meth:`from_json` reads it back."""
        return export.to_json(self, indent)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Report":
        """Rebuild a report from :meth:`to_dict`'s data."""
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
        report = cls(entries, modules, mode=data["mode"], inputs=data.get("inputs"),
                     unsupported={k: v for k, v in unsupported.items() if v}, module_outputs=outputs,
                     convention=data.get("convention", "flowflops"),
                     unpriced_modules=data.get("unpriced_modules", {}))
        report.attention = data.get("attention", "dense")
        report.upper_bounds = {k: Cost(v["macs"], v["flops"]) for k, v in data.get("upper_bounds", {}).items()}
        return report

    @classmethod
    def from_json(cls, text: str) -> "Report":
        return cls.from_dict(json.loads(text))


# -- reading reports, diffs and comparisons ---------------------------------------------------------

def load_report(source: Source, name: Optional[str] = None) -> Tuple[Aggregate, str]:
    """``(report, name)`` from a :class:`Report`, a :meth:`Report.to_dict` dict or the path of a
    JSON file written by ``--format json`` / :meth:`Report.to_json`. For a file of
    ``--mode both``, ``FILE.json:eager`` or ``FILE.json:graph`` picks one of its two reports.
    Raises :class:`ReportFileError` (one line) for a file that is missing or is not a report."""
    if isinstance(source, Aggregate):  # the aggregate or Report, its subclass
        return source, name or f"{source.mode} count"
    if isinstance(source, dict):
        return _from_data(source, name or "report", "the dict"), name or "report"
    path, key = os.fspath(source), None
    if not os.path.exists(path) and ":" in path:
        path, _, key = path.rpartition(":")
    label = name or os.path.splitext(os.path.basename(path))[0]
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as err:
        raise ReportFileError(f"cannot read report {path!r}: {err.strerror or err}")
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReportFileError(f"cannot read report {path!r}: not JSON ({err}); give a file written by "
                              "`flowflops MODEL --format json` or Report.to_json()") from None
    if isinstance(data, dict) and key is None and set(data) == {"eager", "graph"}:
        raise ReportFileError(f"{path!r} holds two reports (a --mode both count): name one as "
                              f"{path}:eager or {path}:graph")
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            raise ReportFileError(f"{path!r} has no report {key!r}")
        data = data[key]
    return _from_data(data, label, repr(path)), label


def _from_data(data: Any, label: str, where: str) -> Report:
    if not isinstance(data, dict) or not {"mode", "modules", "records"} <= set(data):
        raise ReportFileError(f"{where} is not a flowflops report (no mode/modules/records); give a "
                              "file written by `flowflops MODEL --format json` or Report.to_json()")
    try:
        return Report.from_dict(data)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise ReportFileError(f"{where} is not a readable flowflops report ({type(err).__name__}: {err})") from None


def diff(a: Source, b: Source, *, names: Optional[Sequence[str]] = None) -> ReportDiff:
    """The differences from ``a`` to ``b`` (each a :class:`Report`, its dict, or the path of its
    JSON file): totals, every module matched by path (renamed, added and removed ones listed)
    and every op type, as ``b - a``. Warns (and the printouts say so) when the two counts differ
    in mode or convention."""
    loaded = load_report(a, names[0] if names else None), load_report(b, names[1] if names else None)
    result = _with_renderings(ReportDiff, diffs.report_diff(*loaded))
    if result.mismatches:
        warnings.warn(diff_render.mismatch_message(result), stacklevel=2)
    return result


def compare(reports: Sequence[Source], *, names: Optional[Sequence[str]] = None,
            depth: Optional[int] = None) -> Comparison:
    """An ablation table: totals of every report, with differences from the first; with
    ``depth``, also each module to that depth (matched by path) in every report."""
    if len(reports) < 2:
        raise ValueError("compare needs at least two reports")
    loaded = [load_report(r, names[i] if names and i < len(names) else None) for i, r in enumerate(reports)]
    result = _with_renderings(Comparison, diffs.comparison(loaded, depth))
    if result.mismatches:
        warnings.warn(diff_render.mismatch_message(result), stacklevel=2)
    return result
