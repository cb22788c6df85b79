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
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from .analysis import agreement as agreements
from .analysis import diff as diffs
from .analysis import explain as explains
from .analysis import gate as gates
from .analysis import memory as memories
from .analysis import rollup
from .analysis import ranks
from .analysis import roofline as rooflines
from .analysis.hardware import Device
from .errors import ReportFileError
from .records import Cost, ModuleInfo, OpRecord
from .render import diff as diff_render
from .render.agreement import agreement_text
from .render import export
from .render.explain import explanation_text
from .render.gate import gate_text
from .render.methods import methods_text
from .render.rollup import type_table
from .report import Aggregate
from .report_json import report_data_problem

__all__ = ["Report", "Agreement", "Roofline", "Fit", "ReportDiff", "Comparison", "Explanation", "GateResult",
           "diff", "compare", "check", "load_report", "Source"]

R = TypeVar("R")
Source = Union[Aggregate, Dict[str, Any], str, "os.PathLike[str]"]


def _with_renderings(cls: Type[R], result: Any) -> R:
    """An analysis result (a dataclass) as ``cls``, its subclass here that adds the renderings."""
    return cls(**{f.name: getattr(result, f.name) for f in fields(result)})


# -- analysis results with their renderings ----------------------------------------------------

class Agreement(agreements.Agreement):
    """Eager+functional vs graph (:class:`flowflops.analysis.agreement.Agreement`) and its text."""

    def to_text(self) -> str:
        return agreement_text(self)

    def __str__(self) -> str:
        return self.to_text()


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


class Explanation(explains.Explanation):
    """The chain behind a number (:class:`flowflops.analysis.explain.Explanation`), printed."""

    def to_text(self) -> str:
        return explanation_text(self)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()


class GateResult(gates.GateResult):
    """A cost gate's verdict (:class:`flowflops.analysis.gate.GateResult`): ``passed`` and
    ``grown``, and the text ``flowflops check`` prints."""

    def to_text(self) -> str:
        return gate_text(self)

    def __str__(self) -> str:
        return self.to_text()


# -- the Report users get ---------------------------------------------------------------------

class Report(Aggregate):
    """A count: the aggregate's numbers (totals, ``by_module()``, ``by_operator()``,
    ``by_phase()``...), its analyses, its renderings (tables and every export format) and the
    JSON round trip. ``profile`` returns it; ``flowflops.Report`` names it."""

    #: ``(flowflops version, OneFlow version)`` of a report read from JSON (``None``: counted here)
    counted_with: Optional[Tuple[str, str]] = None
    #: ``profile(..., verify=True)``: where eager+functional and graph counts differ
    verification: Optional[Agreement] = None

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

    def explain(self, target: Optional[str] = None) -> Explanation:
        """The chain behind a number: ``target`` a module path (``"layer1.0.conv1"``), an op
        type (``"conv2d"``, or ``"op:conv2d"`` when a module has that name) or ``None`` for the
        total. It lists the module's op records (op type, input and output shapes, dtype), the
        formula that priced each with its arithmetic, the convention's rule, the children's
        shares and the sum, what was counted zero there and how to price it, and where in your
        code the work was made. ``print(report.explain(...))`` shows it; the fields are data
        (:class:`flowflops.analysis.explain.Explanation`). ``ValueError`` for a name the report
        does not hold, naming the closest ones."""
        return _with_renderings(Explanation, explains.explain(self, target))

    def by_type(self) -> "Dict[str, rollup.TypeCost]":
        """Module type name -> :class:`~flowflops.analysis.rollup.TypeCost`: ``cost`` (the work
        its instances made themselves), ``count`` (instances), ``inclusive`` (everything inside
        them, DeepSpeed's figure) and ``params``; most expensive first, the model's own ops under
        the key ``""`` last. The ``cost`` values sum to the total."""
        return rollup.by_type(self)

    def by_depth_type(self, k: int = 3) -> "Dict[int, List[rollup.TypeCost]]":
        """Depth (0: the model) -> the ``k`` module types with the most MACs at that depth (the
        modules of each type at that depth summed), as DeepSpeed's profiler lists them."""
        return rollup.by_depth_type(self, k)

    # -- renderings (flowflops.render) -----------------------------------------------------------
    def to_text(self, depth: int = 3, units: Optional[str] = None, precision: int = 2,
                fold_repeats: bool = False) -> str:
        """The module tree to ``depth`` as a table (single-child wrappers folded); with
        ``fold_repeats``, identical sibling blocks as one row (``blocks.0-11``, ``Block x 12``,
        the sum and one copy's MACs)."""
        rows = rollup.folded_rows(self, depth) if fold_repeats else None
        return export.module_table(self, depth, units, precision, rows=rows)

    table = to_text  # the name before to_text(), kept for one release

    def __str__(self) -> str:
        return self.to_text()

    def printout(self, fold_repeats: bool = False, units: Optional[str] = None, precision: int = 2) -> str:
        """The per-layer printout (ptflops' layout, as ``get_model_complexity_info`` prints it);
        with ``fold_repeats`` each group of identical sibling blocks printed once, as
        ``(0-11): 12 x Block(...)`` with one copy's numbers."""
        groups = rollup.repeat_groups(self) if fold_repeats else None
        return export.module_tree_text(self, units, precision, groups=groups)

    def top_text(self, k: int = 10, fold_repeats: bool = False) -> str:
        """The ``k`` most expensive leaf-most modules; with ``fold_repeats`` identical copies
        together (``blocks.0-11.mlp.fc1 (Linear x 12)``: their sum and one copy's)."""
        return export.top_text(self, k, rollup.folded_top(self, k) if fold_repeats else None)

    def type_table(self, k: Optional[int] = None) -> str:
        """:meth:`by_type` as a table (``k``: the most expensive types only), then the top types
        per depth."""
        return type_table(self.by_type(), self.by_depth_type(3), self.macs, k)

    def methods_text(self) -> str:
        """One sentence for a paper's methods section: MACs and FLOPs with their unit, the
        convention and what it counts, the parameters, the input shape and batch, the engine
        and the versions."""
        return methods_text(self)

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

        return to_html(self, title, roofline, self._page_extras())

    #: the page carries the explanations of at most this many modules (the first in the tree)
    PAGE_EXPLAIN_LIMIT = 1000

    def _page_extras(self) -> Dict[str, Any]:
        """What the page shows beyond the numbers: each module's explanation (clicking it shows
        the chain behind its number) and the groups of identical blocks the treemap folds."""
        paths = list(self.modules)[: self.PAGE_EXPLAIN_LIMIT]
        texts = {p: explanation_text(e, max_ops=50) for p, e in explains.explain_modules(self, paths).items()}
        repeats = [[rollup.group_label(g), self.modules[g[0]].type_name, g]
                   for groups in rollup.repeat_groups(self).values() for g in groups if len(g) > 1]
        return {"explain": texts, "explain_limit": self.PAGE_EXPLAIN_LIMIT, "repeats": repeats}

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
        """Rebuild a report from :meth:`to_dict`'s data. :class:`ReportFileError` (one line
        naming the field) for data that is not a report's: wrongly typed or missing fields,
        negative counts, two modules with one path, children that form a cycle, no root."""
        problem = report_data_problem(data)
        if problem is not None:
            raise ReportFileError(f"not a flowflops report: {problem}; give a file written by "
                                  "`flowflops MODEL --format json` or Report.to_json()")
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
        if data.get("flowflops_version") and data.get("oneflow_version"):  # who counted it (methods_text)
            report.counted_with = (str(data["flowflops_version"]), str(data["oneflow_version"]))
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
    data = _read_json(path)
    if isinstance(data, dict) and key is None and set(data) == {"eager", "graph"}:
        raise ReportFileError(f"{path!r} holds two reports (a --mode both count): name one as "
                              f"{path}:eager or {path}:graph")
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            raise ReportFileError(f"{path!r} has no report {key!r}")
        data = data[key]
    return _from_data(data, label, repr(path)), label


#: the largest report file read (a count of a very large model writes tens of MB)
MAX_REPORT_BYTES = 256 * 2 ** 20


def _not_finite(name: str) -> Any:
    raise ValueError(f"{name} is not a count")


def _read_json(path: str) -> Any:
    """The JSON in ``path``, or a one-line :class:`ReportFileError`: not a regular file
    (``/dev/zero`` would be read until memory runs out), larger than
    :data:`MAX_REPORT_BYTES`, not JSON, nested too deep, an integer of more digits than Python
    reads, ``NaN`` or ``Infinity``."""
    fix = "give a file written by `flowflops MODEL --format json` or Report.to_json()"
    try:
        if not os.path.isfile(path):
            if not os.path.exists(path):
                raise FileNotFoundError(2, "No such file or directory")
            raise ReportFileError(f"cannot read report {path!r}: not a regular file; {fix}")
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_REPORT_BYTES + 1)
    except OSError as err:
        raise ReportFileError(f"cannot read report {path!r}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ReportFileError(f"cannot read report {path!r}: not JSON ({err}); {fix}") from None
    if len(text) > MAX_REPORT_BYTES:
        raise ReportFileError(f"cannot read report {path!r}: larger than {MAX_REPORT_BYTES // 2 ** 20} MiB; {fix}")
    try:
        return json.loads(text, parse_constant=_not_finite)
    except RecursionError:
        raise ReportFileError(f"cannot read report {path!r}: nested too deep to be a report; {fix}") from None
    except json.JSONDecodeError as err:
        raise ReportFileError(f"cannot read report {path!r}: not JSON ({err}); {fix}") from None
    except ValueError as err:  # NaN/Infinity, an integer of thousands of digits
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ReportFileError(f"cannot read report {path!r}: not a report's JSON ({first}); {fix}") from None


def _from_data(data: Any, label: str, where: str) -> Report:
    if not isinstance(data, dict) or not {"mode", "modules", "records"} <= set(data):
        raise ReportFileError(f"{where} is not a flowflops report (no mode/modules/records); give a "
                              "file written by `flowflops MODEL --format json` or Report.to_json()")
    try:
        return Report.from_dict(data)
    except ReportFileError as err:
        raise ReportFileError(f"{where} is {err}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as err:
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


def check(baseline: Source, current: Source, *, max_growth: float = 0.0,
          metrics: Sequence[str] = ("macs", "params")) -> GateResult:
    """A cost gate: compare ``current`` with ``baseline`` (each a :class:`Report`, its dict or
    the path of its JSON file); ``passed`` when no total, module or op type grew in ``metrics``
    (``macs``, ``flops``, ``params``, ``bytes``) by more than ``max_growth`` (a fraction:
    0.005 = 0.5%), else ``grown`` names each one that did. :class:`ReportFileError` for a file
    that is not a report."""
    result = gates.check_growth(load_report(baseline, "baseline"), load_report(current, "current"),
                                max_growth=max_growth, metrics=metrics)
    return _with_renderings(GateResult, result)


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
