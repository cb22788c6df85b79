"""flowflops.symbolic: how long one evaluation of a formula takes, and how long the analysis
takes against one count of the same model.

1. *Evaluation*: ``sym.macs(B=8, H=512, W=512)`` (resnet18's formula in B, H, W, domain H and
   W multiples of 32) and the decoder's ``sym.macs(B=8, T=16)``, ``timeit`` over 100,000 calls,
   best of 5 repeats, per call; also ``sym.at(...)`` (all four quantities) and, for reference,
   the same polynomial evaluated with :class:`fractions.Fraction` (``Formula.exact``).
2. *Analysis*: ``flowflops.symbolic(...)`` (graph mode, default checks) against one graph-mode
   count of the same model at a typical shape (B=1, 224x224; the decoder B=1, T=16), both in
   CPU time of this process (``time.process_time``: every thread of it; on a shared machine far
   steadier than the wall clock, yet it still drifts with the load). Interleaved: right after
   each of the analysis's own counts, one such count is made (and left out of the analysis's
   time), so both are measured in the same seconds; "one count" is their median. ``--repeats``
   analyses (the median one reported). Also the analysis over the mean of its own counts, and
   the fitting time (the analysis less its own counts).

    PYTHONPATH=. .venv/bin/python benchmarks/symbolic.py [--models resnet18,resnet50,gpt] [--repeats 3]

Writes its section of ``benchmarks/RESULTS.md`` (machine, date, load average included).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _common import load_average, machine, write_section  # noqa: E402


def per_call_us(fn, number: int = 100_000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def case(name: str):
    import oneflow as flow

    if name == "gpt":
        from tests.gpt import GPTBlock

        model = GPTBlock()
        ic = lambda s: {"idx": flow.zeros(*s, dtype=flow.int64)}  # noqa: E731
        return model, ("B", "T"), {"T": range(1, 17)}, ic, {"B": 8, "T": 16}, (1, 16)
    import flowvision

    model = getattr(flowvision.models, name)()
    return model, ("B", 3, "H", "W"), {"H": 32, "W": 32}, None, {"B": 8, "H": 512, "W": 512}, (1, 3, 224, 224)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet18,resnet50,gpt")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import flowflops
    import flowflops.api as api

    rows = []
    load_before = load_average()
    plain = api.profile
    for name in args.models.split(","):
        model, spec, domain, ic, at, typical = case(name)
        plain(model, typical, input_constructor=ic, mode="graph")  # warm-up
        runs = []
        for _ in range(args.repeats):
            own, ref, left_out = [0.0], [], [0.0]

            def timed(*a, **k):  # the analysis's own count, then one reference count (left out)
                t = time.process_time()
                try:
                    return plain(*a, **k)
                finally:
                    t1 = time.process_time()
                    own[0] += t1 - t
                    plain(model, typical, input_constructor=ic, mode="graph")
                    t2 = time.process_time()
                    ref.append(t2 - t1)
                    left_out[0] += t2 - t1

            api.profile = timed
            try:
                w0, t0 = time.perf_counter(), time.process_time()
                sym = flowflops.symbolic(model, spec, domain=domain, input_constructor=ic)
                total = time.process_time() - t0
                wall = time.perf_counter() - w0
            finally:
                api.profile = plain
            analysis = total - left_out[0]
            runs.append(dict(analysis=analysis, count=statistics.median(ref), own=own[0], wall=wall,
                             refs=ref))
        runs.sort(key=lambda r: r["analysis"] / r["count"])
        r = runs[(len(runs) - 1) // 2]  # the median run (the lower one of two)
        f = sym.macs
        eval_us = per_call_us(lambda: f(**at))
        at_us = per_call_us(lambda: sym.at(**at), 20_000)
        exact_us = per_call_us(lambda: f.exact(at), 20_000)
        rows.append(dict(
            name=name, spec="(" + ", ".join(map(str, spec)) + ")", counts=sym.counts, analysis=r["analysis"],
            wall=r["wall"], count=r["count"], ratio=r["analysis"] / r["count"], fitting=r["analysis"] - r["own"],
            own_ratio=r["analysis"] / (r["own"] / sym.counts), eval_us=eval_us, at_us=at_us, exact_us=exact_us,
            typical="x".join(map(str, typical)), value=f"{f(**at):,}",
            all=", ".join(f"{x['analysis'] / x['count']:.1f}" for x in runs),
            refs=", ".join(f"{c:.2f}" for c in r["refs"])))
        print(rows[-1], flush=True)
    m = machine()
    lines = [
        "## Exact formulas: flowflops.symbolic",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB, Python {m['python']}; {m['date']}; "
        f"load average {load_before} before, {load_average()} after (a shared machine).",
        "Evaluation: per call, best of 5 x 100,000 calls (`sym.at` and the Fraction reference: 20,000).",
        f"Analysis: `flowflops.symbolic` (graph mode, default checks) against one graph-mode count at a typical "
        f"shape (B=1, 224x224; the decoder B=1, T=16), in CPU seconds of the process (`time.process_time`), "
        f"interleaved: one such count right after each of the analysis's own counts (left out of its time); "
        f"one count = their median. The median of {args.repeats} analyses (by the ratio; the lower of two).",
        "",
        "| model | input | counts | analysis CPU s | one count CPU s | **analysis / one count** | analysis / its "
        "mean count | fitting CPU s | analysis wall s | `sym.macs(...)` us | `sym.at(...)` us | Fraction eval us "
        "| MACs at |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['spec']} | {r['counts']} | {r['analysis']:.2f} | {r['count']:.3f} | "
                     f"**{r['ratio']:.1f}** | {r['own_ratio']:.1f} | {r['fitting']:.2f} | {r['wall']:.2f} | "
                     f"{r['eval_us']:.2f} | {r['at_us']:.2f} | {r['exact_us']:.1f} | {r['value']} |")
    lines.append("")
    lines.append("Analysis / one count of every run: " + "; ".join(f"{r['name']} {r['all']}" for r in rows)
                 + ". The reported run's reference counts (CPU s): "
                 + "; ".join(f"{r['name']} {r['refs']}" for r in rows) + ".")
    lines.append("MACs at: B=8, H=W=512 (image models), B=8, T=16 (the decoder of tests/gpt.py). "
                 "Fitting: the analysis less its own counts (interpolation, checks, formulas); analysis / its "
                 "mean count: the analysis over the mean of the counts it made.")
    write_section("symbolic", "\n".join(lines))


if __name__ == "__main__":
    main()
