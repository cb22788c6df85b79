"""The ``--plot`` bar chart (a helper of :mod:`flowflops.export`): the most expensive leaf-most
modules by MACs, FLOPs, parameters, bytes moved or predicted time, optionally stacked by
training phase. Needs matplotlib."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..records import PHASE, ancestors

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = ["PLOT_METRICS", "PHASES", "UNITS", "LABELS", "PlotRow", "plot_rows", "plot", "check_plot_args"]

PLOT_METRICS = ("macs", "flops", "params", "bytes", "time")
PHASES = ("forward", "backward", "optimizer")
UNITS = {"macs": ("MMac", 1e6), "flops": ("MFLOPs", 1e6), "params": ("M params", 1e6),
         "bytes": ("MB", 1e6), "time": ("ms", 1e-3)}
LABELS = {"macs": "MACs", "flops": "FLOPs", "params": "parameters", "bytes": "bytes moved",
          "time": "predicted time"}
# (path, type name, value per part): parts are the phases, or one part "all"
PlotRow = Tuple[str, str, List[float]]


def _values(report: "Aggregate", metric: str, by_phase: bool,
            roofline: Any) -> Tuple[List[str], Dict[str, List[float]]]:
    """``(parts, module path -> value per part)``, each module's value inclusive of its
    submodules."""
    parts = list(PHASES) if by_phase else ["all"]
    out: Dict[str, List[float]] = {p: [0.0] * len(parts) for p in report.modules}
    if metric == "params":
        if by_phase:
            raise ValueError("parameters have no phase: plot MACs, FLOPs, bytes or time by phase")
        return parts, {p: [float(info.params)] for p, info in report.modules.items()}
    from .html import record_metrics

    names, rows = record_metrics(report, roofline)
    if metric not in names:
        raise ValueError("predicted time needs a device: give --device NAME (or call report.roofline(device) first)")
    col = names.index(metric)
    for (rec, _), row in zip(report.entries, rows):
        k = parts.index(rec.attrs.get(PHASE, "forward")) if by_phase else 0
        for p in ancestors(rec.module):
            if p in out:
                out[p][k] += row[col]
    return parts, out


def plot_rows(report: "Aggregate", k: int = 15, metric: str = "macs", by_phase: bool = False,
              roofline: Any = None) -> Tuple[List[str], List[PlotRow]]:
    """``(parts, rows)``: the ``k`` leaf-most modules (none of their children holds any of the
    metric) with the most ``metric``, largest first; each row's values split by ``parts``
    (the training phases with ``by_phase``, else one part)."""
    if metric not in PLOT_METRICS:
        raise ValueError(f"unknown plot metric {metric!r}: use one of {', '.join(PLOT_METRICS)}")
    if by_phase and report.mode != "train":
        raise ValueError(f"a per-phase plot needs a training count (--mode train); this is a {report.mode} count")
    parts, values = _values(report, metric, by_phase, roofline)
    leaves = []
    for path, info in report.modules.items():
        total = sum(values[path])
        if not path or total <= 0 or any(sum(values.get(c, [0.0])) > 0 for _, c in info.children):
            continue
        leaves.append((path, info.type_name, values[path]))
    return parts, sorted(leaves, key=lambda r: -sum(r[2]))[:k]


def plot(report: "Aggregate", path: str, k: int = 15, metric: str = "macs", by_phase: bool = False,
         roofline: Any = None) -> None:
    """Save the bar chart of :func:`plot_rows` to ``path`` (any format matplotlib writes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts, rows = plot_rows(report, k, metric, by_phase, roofline)
    unit, scale = UNITS[metric]
    rows = rows[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.4))
    labels = [f"{p} ({t})" for p, t, _ in rows]
    left = [0.0] * len(rows)
    for j, part in enumerate(parts):
        widths = [r[2][j] / scale for r in rows]
        ax.barh(labels, widths, left=left, label=part if by_phase else None)
        left = [a + b for a, b in zip(left, widths)]
    if by_phase:
        ax.legend(loc="lower right")
    ax.set_xlabel(unit)
    ax.set_title(f"Top {len(rows)} modules by {LABELS[metric]} ({report.mode}"
                 + (", by phase)" if by_phase else ")"))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def check_plot_args(metric: str, by_phase: bool, mode: str, device: Optional[str]) -> None:
    """Raise ``ValueError`` (one line) for a plot that cannot be drawn, before any counting."""
    if metric not in PLOT_METRICS:
        raise ValueError(f"unknown plot metric {metric!r}: use one of {', '.join(PLOT_METRICS)}")
    if metric == "time" and not device:
        raise ValueError("--plot-metric time needs a device: give --device NAME (e.g. A100-80GB or cpu)")
    if by_phase and mode != "train":
        raise ValueError("--plot-by-phase needs a training count: add --mode train")
    if by_phase and metric == "params":
        raise ValueError("parameters have no phase: plot MACs, FLOPs, bytes or time by phase")
