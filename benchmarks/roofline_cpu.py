"""Predicted against measured forward time on this machine's CPU.

Method: the CPU profile is measured first (``flowflops.hardware.measure_cpu``: the best of ten
512x512 float32 matmuls and of ten 32 MB copies). Two models (a CNN and a transformer)
are measured per module (``flowflops.measure``: warm-up, then synchronised hooks on every
module, median of the repeats) and ``flowflops.calibrate`` fits per-family efficiencies and a
per-op overhead to their leaf modules. Five other zoo models are then predicted
(``report.roofline(device)``, eager count with functional calls priced, batch 1 at 224x224)
with the calibrated profile and with the bare roofline (peak rates, no overhead), and their
forward is measured (the fastest of ``--repeats`` synchronised calls after a warm-up: on a
machine shared with other work the least disturbed run is the one to predict). The error is
(predicted - measured) / measured. Everything runs in one process, one model after the other;
``uptime`` is recorded before and after.

    .venv/bin/python benchmarks/roofline_cpu.py [--repeats 5]

Writes ``benchmarks/roofline_cpu_raw.json`` and its section of ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, machine, write_section  # noqa: E402

RAW = HERE / "roofline_cpu_raw.json"
CALIBRATE = ["mobilenet_v2", "vit_tiny_patch16_224"]
PREDICT = ["resnet18", "squeezenet1_1", "shufflenet_v2_x0_5", "efficientnet_b0",
           "swin_tiny_patch4_window7_224"]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run(repeats: int) -> dict:
    import flowvision.models as zoo

    import flowflops
    from flowflops.analysis.hardware import measure_cpu

    out: dict = {"uptime_before": uptime(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    cpu = measure_cpu()
    out["cpu"] = {"matmul_flops": cpu.peak("fp32"), "copy_bandwidth": cpu.bandwidth}
    shape = (1, 3, 224, 224)
    cal_runs = []
    for name in CALIBRATE:
        model = zoo.__dict__[name]()
        report = flowflops.profile(model, shape, backend_specific_config={"count_functional": True})
        m = flowflops.measure(model, shape, device=cpu, report=report, repeats=repeats, statistic="min")
        cal_runs.append((report, m))
        out.setdefault("calibration_models", {})[name] = {"measured": m.time, "flops": report.flops}
    cal = flowflops.calibrate(cal_runs, device=cpu)
    out["efficiency"], out["overhead"] = cal.efficiency, cal.overhead
    for name, (report, m) in zip(CALIBRATE, cal_runs):
        out["calibration_models"][name].update(
            roofline=report.roofline(cpu).total, calibrated=report.roofline(cal).total)
    rows = {}
    for name in PREDICT:
        model = zoo.__dict__[name]()
        report = flowflops.profile(model, shape, backend_specific_config={"count_functional": True})
        m = flowflops.measure(model, shape, device=cpu, report=report, repeats=repeats, per_module=False,
                              statistic="min")
        rows[name] = {"measured": m.time, "times": m.times, "flops": report.flops, "bytes": report.bytes,
                      "roofline": report.roofline(cpu).total, "calibrated": report.roofline(cal).total}
        print(name, rows[name], flush=True)
    out["predicted"] = rows
    out["uptime_after"] = uptime()
    return out


def render(data: dict) -> str:
    def err(p: float, m: float) -> str:
        return f"{(p - m) / m:+.0%}"

    lines = [
        "## Roofline on this CPU: predicted vs measured forward time",
        "",
        f"Run {data['date']} on {machine()['cpu']} (2 cores, shared). `uptime` before: "
        f"`{data['uptime_before']}`; after: `{data['uptime_after']}`.",
        "",
        f"CPU profile measured at the start: {data['cpu']['matmul_flops'] / 1e9:.2f} GFLOP/s "
        f"(float32 matmul), {data['cpu']['copy_bandwidth'] / 1e9:.2f} GB/s (copy).",
        "Calibration (fitted on " + ", ".join(CALIBRATE) + "): efficiency "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(data["efficiency"].items()))
        + f"; overhead {data['overhead'] * 1e6:.1f} us per op.",
        "",
        "| model | role | measured | roofline (peak) | error | calibrated | error |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in data["calibration_models"].items():
        lines.append(f"| {name} | calibration | {r['measured'] * 1e3:.1f} ms | {r['roofline'] * 1e3:.1f} ms | "
                     f"{err(r['roofline'], r['measured'])} | {r['calibrated'] * 1e3:.1f} ms | "
                     f"{err(r['calibrated'], r['measured'])} |")
    errs_cal, errs_raw = [], []
    for name, r in data["predicted"].items():
        errs_cal.append(abs(r["calibrated"] - r["measured"]) / r["measured"])
        errs_raw.append(abs(r["roofline"] - r["measured"]) / r["measured"])
        lines.append(f"| {name} | predicted | {r['measured'] * 1e3:.1f} ms | {r['roofline'] * 1e3:.1f} ms | "
                     f"{err(r['roofline'], r['measured'])} | {r['calibrated'] * 1e3:.1f} ms | "
                     f"{err(r['calibrated'], r['measured'])} |")
    lines += [
        "",
        f"On the five predicted models the calibrated roofline's absolute error is "
        f"{statistics.median(errs_cal):.0%} median, {max(errs_cal):.0%} worst; the bare roofline's "
        f"{statistics.median(errs_raw):.0%} median, {max(errs_raw):.0%} worst.",
        "",
        "Method: see the docstring of `benchmarks/roofline_cpu.py` (measured: fastest of synchronised "
        "forward calls after a warm-up; predicted: sum over the eager count's records of "
        "max(FLOPs / peak, bytes / bandwidth) / efficiency + overhead).",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--render", action="store_true", help="rewrite the section from the raw JSON")
    a = p.parse_args()
    data = json.loads(RAW.read_text()) if a.render else run(a.repeats)
    RAW.write_text(json.dumps(data, indent=2))
    text = render(data)
    write_section("roofline_cpu", text)
    print(text)


if __name__ == "__main__":
    main()
