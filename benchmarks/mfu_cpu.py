"""Measured FLOP/s and MFU on this CPU: flowflops against a plain timed matmul, the MFU of
resnet18 training steps, the per-phase times against the step time, and the meter's overhead.

1. *Matmul agreement*: ``flowflops.measure(nn.Linear(n, n, bias=False), (n, n))`` (one
   synchronised forward call after a warm-up; FLOPs 2 n^3 counted) and, right after it, a plain
   timing of the same op, ``F.linear(x, w)`` under ``no_grad``, with ``Sync()`` and
   ``time.perf_counter()``; 20 such pairs, and the median of the per-pair ratios (the two
   calls of a pair run seconds apart, so the machine's changing load hits both alike).
2. *resnet18 training*: ``MFUMeter`` (count of one SGD training step at batch 4, compiled, not
   run) over eager training steps with the phases wrapped; MFU against the CPU peak measured
   by ``flowflops.hardware.measure_cpu``. The sum of the phase times is compared with the
   step time.
3. *Meter overhead*: a 3-layer MLP (width 1024, batch 64) trained for blocks of 40 steps,
   alternately with and without ``meter.step()`` (8 blocks each), the best steps/s of each
   side; and the cost of one ``meter.step()`` call alone (nothing queued), as a share of
   the step.

    .venv/bin/python benchmarks/mfu_cpu.py [--only matmul|resnet18|overhead]

Writes ``benchmarks/mfu_cpu_raw.json`` and its section of ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, write_section  # noqa: E402

RAW = HERE / "mfu_cpu_raw.json"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def matmul_agreement(n: int = 1024, rounds: int = 20) -> dict:
    import oneflow as flow
    import oneflow.nn as nn

    import flowflops
    from flowflops.tools.measure import clock

    lin = nn.Linear(n, n, bias=False)
    x = flow.randn(n, n)
    cpu = flowflops.get_device("cpu")
    ff, plain, ratios = [], [], []
    for _ in range(rounds):
        m = flowflops.measure(lin, (n, n), input_constructor=lambda _: x, warmup=1, repeats=1,
                              per_module=False, device=cpu)
        with flow.no_grad():
            t0 = clock()
            flow.nn.functional.linear(x, lin.weight)
            t = clock() - t0
        ff.append(m.flops / m.time)
        plain.append(2 * n ** 3 / t)
        ratios.append(ff[-1] / plain[-1])
    return {"n": n, "flowflops": statistics.median(ff), "plain": statistics.median(plain),
            "difference": statistics.median(ratios) - 1, "rounds_flowflops": ff, "rounds_plain": plain,
            "ratios": ratios}


def resnet18_mfu(steps: int = 8, batch: int = 4) -> dict:
    import flowvision
    import oneflow as flow
    import oneflow.nn.functional as F

    import flowflops
    from flowflops.tools.measure import clock

    model = flowvision.models.resnet18()
    opt = flow.optim.SGD(model.parameters(), lr=0.01)
    meter = flowflops.MFUMeter(model, (batch, 3, 224, 224), optimizer=opt, device="cpu", warmup=2)
    x, y = flow.randn(batch, 3, 224, 224), flow.randint(0, 1000, (batch,))
    step_times = []
    for _ in range(steps):
        t0 = clock()
        with meter.phase("forward"):
            loss = F.cross_entropy(model(x), y)
        with meter.phase("backward"):
            loss.backward()
        with meter.phase("optimizer"):
            opt.step()
            opt.zero_grad()
        meter.step(batch_size=batch)
        step_times.append(clock() - t0)
    s = meter.summary()
    phase_sum = sum(sec for sec, _ in s.phases.values())
    return {"steps": s.steps, "seconds_per_step": s.seconds_per_step, "achieved": s.achieved_flops,
            "mfu": s.mfu, "peak": s.peak, "phases": {k: v[0] for k, v in s.phases.items()},
            "phase_sum": phase_sum, "phase_gap": (phase_sum - s.seconds_per_step) / s.seconds_per_step,
            "flags": s.flags, "text": str(s)}


def meter_overhead(blocks: int = 8, steps: int = 40) -> dict:
    import oneflow as flow
    import oneflow.nn as nn
    import oneflow.nn.functional as F

    import flowflops
    from flowflops.tools.measure import clock

    model = nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    opt = flow.optim.SGD(model.parameters(), lr=0.01)
    meter = flowflops.MFUMeter(model, (64, 1024), optimizer=opt, device="cpu", warmup=1)
    x, y = flow.randn(64, 1024), flow.randint(0, 10, (64,))

    def block(with_meter: bool) -> float:
        t0 = clock()
        for _ in range(steps):
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            if with_meter:
                meter.step(batch_size=64)
        return steps / (clock() - t0)

    block(False)
    with_m, without = [], []
    for _ in range(blocks):
        without.append(block(False))
        with_m.append(block(True))
    a, b = max(with_m), max(without)
    # the meter's own cost, alone: step() on an empty queue (one Sync and one clock reading)
    idle = meter_step_cost(meter)
    return {"steps_per_s_with": a, "steps_per_s_without": b, "overhead": (b - a) / b,
            "blocks_with": with_m, "blocks_without": without, "mfu": meter.summary().mfu,
            "step_call_s": idle, "step_call_share": idle * b}


def meter_step_cost(meter, calls: int = 2000) -> float:
    """Seconds per ``meter.step()`` call with nothing queued (best of five batches)."""
    from flowflops.analysis.hardware import best_time

    def run() -> None:
        for _ in range(calls):
            meter.step(batch_size=64)

    return best_time(run, 5) / calls


def main() -> None:
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    data = json.loads(RAW.read_text()) if only else {}
    stamp = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "uptime_before": uptime()}
    if only:
        data[f"{only}_run"] = stamp
    else:
        data.update(stamp)
    for key, fn in (("matmul", matmul_agreement), ("resnet18", resnet18_mfu), ("overhead", meter_overhead)):
        if only in (None, key):
            data[key] = fn()
            print(data[key], flush=True)
    data[f"{only}_run" if only else "uptime_after"] = (
        dict(stamp, uptime_after=uptime()) if only else uptime())
    RAW.write_text(json.dumps(data, indent=2))
    mm, rn, ov = data["matmul"], data["resnet18"], data["overhead"]
    pct = lambda v: "n/a (flagged)" if v is None else f"{v:.1%}"  # noqa: E731
    rerun = data.get("matmul_run")
    lines = [
        "## Measured FLOP/s and MFU on this CPU", "",
        f"Run {data['date']}; `uptime` before: `{data['uptime_before']}`; after: `{data['uptime_after']}`."
        + (f" The matmul pairs were rerun {rerun['date']} (`uptime` before: `{rerun['uptime_before']}`; "
           f"after: `{rerun['uptime_after']}`)." if rerun else ""), "",
        f"- **Matmul agreement** ({mm['n']}x{mm['n']} float32, 20 adjacent pairs): flowflops.measure "
        f"{mm['flowflops'] / 1e9:.3f} GFLOP/s, plain timed matmul {mm['plain'] / 1e9:.3f} GFLOP/s (medians); "
        f"median ratio of the pairs {1 + mm['difference']:.3f} ({mm['difference']:+.1%}; the pairs' ratios "
        f"range {min(mm['ratios']):.2f}-{max(mm['ratios']):.2f}).",
        f"- **resnet18 training** (batch 4, SGD, {rn['steps']} timed steps after 2 warm-up): "
        f"{rn['seconds_per_step']:.3f} s/step, achieved "
        + ("n/a" if rn["achieved"] is None else f"{rn['achieved'] / 1e9:.3f} GFLOP/s")
        + f", MFU {pct(rn['mfu'])} of the measured CPU peak {rn['peak'] / 1e9:.3f} GFLOP/s."
        + (f" Flagged: {'; '.join(rn['flags'])}." if rn["flags"] else ""),
        "- **Phases add up**: " + ", ".join(f"{k} {v:.3f} s" for k, v in rn["phases"].items())
        + f"; their sum {rn['phase_sum']:.3f} s against the step {rn['seconds_per_step']:.3f} s "
        f"({rn['phase_gap']:+.1%}; the rest is the loop's own Python between the phases).",
        f"- **Meter overhead** (MLP 1024 wide, batch 64, 8 alternating blocks of 40 steps, best block of each): "
        f"{ov['steps_per_s_without']:.2f} steps/s without the meter, {ov['steps_per_s_with']:.2f} steps/s with it: "
        f"{ov['overhead']:+.2%} (under this load, blocks of the same kind differ by more than that: "
        f"without {min(ov['blocks_without']):.2f}-{max(ov['blocks_without']):.2f}, with "
        f"{min(ov['blocks_with']):.2f}-{max(ov['blocks_with']):.2f} steps/s). The meter's own cost measured "
        f"alone: {ov['step_call_s'] * 1e6:.1f} us per `step()` (one `Sync()` and one clock reading), "
        f"{ov['step_call_share']:.3%} of this model's step.",
        "", "Method: see the docstring of `benchmarks/mfu_cpu.py`.",
    ]
    write_section("mfu_cpu", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
