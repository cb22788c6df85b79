"""flowflops.symbolic: how long one evaluation of a formula takes, and how long the analysis
takes against one count of the same model.

1. *Evaluation*: ``sym.macs(B=8, H=512, W=512)`` (resnet18's formula in B, H, W, domain H and
   W multiples of 32) and the decoder's ``sym.macs(B=8, T=16)``, ``timeit`` over 100,000 calls,
   best of 5 repeats, per call; also ``sym.at(...)`` (all four quantities) and, for reference,
   the same polynomial evaluated with :class:`fractions.Fraction` (``Formula.exact``).
2. *Analysis*: ``flowflops.symbolic(...)`` (graph mode, default checks) against one graph-mode
   count of the same model, both in CPU time of this process (``time.process_time``: every
   thread of it, and far less sensitive than the wall clock to other work on a shared machine),
   interleaved after a warm-up count: count, analysis, count, analysis, count (``--repeats``
   analyses); the medians. The count is at the analysis's own first grid shape (B=2, H=W=64;
   B=T=2) and, for reference, at a typical one (B=1, 224x224; B=1, T=16). Also the analysis
   over the mean of its own counts (each timed inside it) and the fitting time (the analysis
   less its own counts).

    PYTHONPATH=. .venv/bin/python benchmarks/symbolic.py [--models resnet18,resnet50,gpt] [--repeats 2]

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
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    import flowflops
    import flowflops.api as api

    rows = []
    load_before = load_average()
    for name in args.models.split(","):
        model, spec, domain, ic, at, typical = case(name)
        first = {d: (domain.get(d, 1) if isinstance(domain.get(d, 1), int) else domain[d][0]) * 2 for d in spec
                 if isinstance(d, str)}
        shape = tuple(first[s] if isinstance(s, str) else s for s in spec)

        def one(s: tuple) -> float:
            t0 = time.process_time()
            flowflops.profile(model, s, input_constructor=ic, mode="graph")
            return time.process_time() - t0

        one(shape)  # warm-up
        counts, typical_counts, analyses, own, walls = [one(shape)], [one(typical)], [], [], []
        plain = api.profile
        for _ in range(args.repeats):
            counting = [0.0]

            def timed(*a, **k):  # the analysis's own counts, timed one by one
                t = time.process_time()
                try:
                    return plain(*a, **k)
                finally:
                    counting[0] += time.process_time() - t

            api.profile = timed
            try:
                w0, t0 = time.perf_counter(), time.process_time()
                sym = flowflops.symbolic(model, spec, domain=domain, input_constructor=ic)
                analyses.append(time.process_time() - t0)
                walls.append(time.perf_counter() - w0)
            finally:
                api.profile = plain
            own.append(counting[0])
            counts.append(one(shape))
            typical_counts.append(one(typical))
        analysis, count, count_typ = (statistics.median(x) for x in (analyses, counts, typical_counts))
        k = analyses.index(statistics.median_low(analyses))
        f = sym.macs
        eval_us = per_call_us(lambda: f(**at))
        at_us = per_call_us(lambda: sym.at(**at), 20_000)
        exact_us = per_call_us(lambda: f.exact(at), 20_000)
        rows.append(dict(
            name=name, spec="(" + ", ".join(map(str, spec)) + ")", counts=sym.counts, analysis=analysis,
            wall=statistics.median(walls), count=count, ratio=analysis / count, count_typ=count_typ,
            ratio_typ=analysis / count_typ, fitting=analyses[k] - own[k],
            own_ratio=analyses[k] / (own[k] / sym.counts), eval_us=eval_us, at_us=at_us, exact_us=exact_us,
            shape="x".join(map(str, shape)), typical="x".join(map(str, typical)), value=f"{f(**at):,}",
            all=", ".join(f"{a:.2f}" for a in analyses), all_counts=", ".join(f"{c:.3f}" for c in counts)))
        print(rows[-1], flush=True)
    m = machine()
    lines = [
        "## Exact formulas: flowflops.symbolic",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB, Python {m['python']}; {m['date']}; "
        f"load average {load_before} before, {load_average()} after (a shared machine).",
        "Evaluation: per call, best of 5 x 100,000 calls (`sym.at` and the Fraction reference: 20,000).",
        f"Analysis: `flowflops.symbolic` (graph mode, default checks) and graph-mode counts of the same model, "
        f"in CPU seconds of the process (`time.process_time`), interleaved after a warm-up count: count, "
        f"then {args.repeats} x (analysis, count); medians. \"One count\": at the analysis's first grid shape; "
        "\"typical\": at B=1, 224x224 (B=1, T=16 for the decoder).",
        "",
        "| model | input | counts | analysis CPU s | one count CPU s | **analysis / count** | typical count CPU s | "
        "analysis / typical | analysis / its mean count | fitting CPU s | analysis wall s | "
        "`sym.macs(...)` us | `sym.at(...)` us | Fraction eval us | MACs at |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['spec']} | {r['counts']} | {r['analysis']:.2f} | {r['count']:.3f} | "
                     f"**{r['ratio']:.1f}** | {r['count_typ']:.3f} | {r['ratio_typ']:.1f} | {r['own_ratio']:.1f} | "
                     f"{r['fitting']:.2f} | {r['wall']:.2f} | {r['eval_us']:.2f} | {r['at_us']:.2f} | "
                     f"{r['exact_us']:.1f} | {r['value']} |")
    lines.append("")
    lines.append("Each analysis's CPU s: " + "; ".join(f"{r['name']} {r['all']} (counts at {r['shape']}: "
                                                        f"{r['all_counts']})" for r in rows) + ".")
    lines.append("MACs at: B=8, H=W=512 (image models), B=8, T=16 (the decoder of tests/gpt.py). "
                 "Fitting: the analysis less its own counts (interpolation, checks, formulas), of the "
                 "median analysis; analysis / its mean count: the same analysis over the mean of the "
                 "counts it made.")
    write_section("symbolic", "\n".join(lines))


if __name__ == "__main__":
    main()
