"""``calibrate``: fit per-op-family efficiencies (and a per-op overhead) from measured runs, so
that roofline predictions use the rates this machine reaches rather than its peak.

Model, per module ``m`` of the measured runs with records of its own (as the eager count
attributes them: a leaf layer's, or an attention module's functional matmuls and softmax;
``r_f(m)``: the roofline seconds of those records of family ``f`` at peak rates; ``n(m)``: how
many of them do any work; ``own(m)``: its measured time minus its children's; ``overhead``:
the cost of one small op, measured by :func:`op_overhead`)::

    own(m) - n(m) * overhead ~= sum_f r_f(m) / efficiency_f

and, per model, the same over all its records against its measured time without hooks;
fitted by non-negative least squares on the seconds themselves (so the modules that take the
time weigh the most, as they do in a model's total), each model's total row weighted as much
as all module rows together. Modules are measured with the least
disturbed of the repeats (``statistic="min"``). A family that no calibration module exercises
keeps efficiency 1 (it is predicted at the roofline).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from ..analysis.hardware import Device, get_device
from ..analysis.roofline import FAMILIES, roofline

if TYPE_CHECKING:  # pragma: no cover
    from ..result import Report

__all__ = ["module_rows", "calibrate", "op_overhead"]


def _nnls(a: Any, b: Any) -> Any:
    """Least squares with x >= 0 (active set: drop the most negative variable, refit)."""
    import numpy as np

    active = list(range(a.shape[1]))
    x = np.zeros(a.shape[1])
    while active:
        sol, *_ = np.linalg.lstsq(a[:, active], b, rcond=None)
        if (sol >= 0).all():
            x[:] = 0
            x[active] = sol
            return x
        active.pop(int(np.argmin(sol)))
    return x


def module_rows(report: "Report", measurement: Any, device: Device, dtype: str) -> List[Tuple[List[float], float]]:
    """The model's row (every record; its measured time without hooks), then one row per
    measured module with records of its own: ([r_f for f in FAMILIES] + [n], its own measured
    seconds: its time minus its children's)."""
    pred = roofline(report, device.calibrated({}, 0.0), dtype)
    per: Dict[str, List[float]] = {}
    for (rec, _), op in zip(report.entries, pred.ops):
        if op.time <= 0:
            continue
        row = per.setdefault(rec.module, [0.0] * (len(FAMILIES) + 1))
        row[FAMILIES.index(op.family)] += op.time
        row[-1] += 1
    rows = [([sum(col) for col in zip(*per.values())], measurement.time)] if per else []
    times = measurement.module_times
    for path, feats in per.items():
        info = report.modules.get(path)
        if info is None or path not in times:
            continue
        own = times[path] - sum(times.get(child, 0.0) for _, child in info.children)
        if own > 0:
            rows.append((feats, own))
    return rows


def calibrate(runs: Sequence[Any], device: Any = "cpu", dtype: str = "fp32", repeats: int = 5,
              overhead: Optional[float] = None) -> Device:
    """A copy of ``device``'s profile with fitted ``efficiency`` per op family and ``overhead``.

    ``runs``: ``(model, input_res)`` pairs (each measured here with :func:`flowflops.measure`,
    per module, and counted eagerly with functional calls priced) or ``(report, measurement)``
    pairs from earlier runs on the same device. ``overhead``: seconds per op (default: measured
    now by :func:`op_overhead`); the efficiencies are fitted to what remains.
    """
    import numpy as np

    from ..api import profile
    from .measure import Measurement, measure

    dev = get_device(device)
    rows: List[Tuple[List[float], float]] = []
    totals = set()
    for run in runs:
        first, second = run
        if isinstance(second, Measurement):
            report, m = first, second
        else:
            report = profile(first, second, backend_specific_config={"count_functional": True})
            m = measure(first, second, device=dev, dtype=dtype, report=report, repeats=repeats, statistic="min")
        totals.add(len(rows))
        rows.extend(module_rows(report, m, dev, dtype))
    if not rows:
        raise ValueError("no measured module did any counted work: calibrate on models with layers "
                         "flowflops counts (e.g. [(flowvision.models.resnet18(), (1, 3, 224, 224))])")
    a = np.array([f for f, _ in rows], dtype=float)
    y = np.array([t for _, t in rows], dtype=float)
    if overhead is None:
        overhead = op_overhead()
    y = np.maximum(y - a[:, -1] * overhead, 0.0)  # what the kernels themselves took
    a = a[:, :-1]
    # each model's total row weighs as much as all module rows together (the totals are what
    # a prediction is for; the modules tell the families apart)
    w = np.array([len(rows) if i in totals else 1.0 for i in range(len(rows))])
    a, y = a * w[:, None], y * w
    used = [j for j in range(a.shape[1]) if a[:, j].any()]
    x = _nnls(a[:, used], y)
    coef = dict(zip(used, x))
    eff = {fam: 1.0 / coef[j] for j, fam in enumerate(FAMILIES) if coef.get(j, 0) > 0}
    return dev.calibrated(eff, float(overhead))


def op_overhead(calls: int = 300, repeats: int = 5) -> float:
    """Seconds one small eager op costs beyond its arithmetic (dispatch, allocation): the best
    of ``repeats`` runs of ``calls`` ReLUs on an 8-element tensor, synchronised once per run."""
    import oneflow as flow

    from ..analysis.hardware import best_time

    x = flow.ones(8)
    flow.relu(x)

    def run() -> None:
        for _ in range(calls):
            flow.relu(x)

    return best_time(run, repeats) / calls
