"""flowflops.symbolic: how long one evaluation of a formula takes, and how long the analysis
takes against one count of the same model.

1. *Evaluation*: ``sym.macs(B=8, H=512, W=512)`` (resnet18's formula in B, H, W, domain H and
   W multiples of 32) and the decoder's ``sym.macs(B=8, T=16)``, ``timeit`` over 100,000 calls,
   best of 5 repeats, per call; also ``sym.at(...)`` (all four quantities) and, for reference,
   the same polynomial evaluated with :class:`fractions.Fraction` (``Formula.exact``).
2. *Analysis*: ``flowflops.symbolic(...)`` (graph mode, default checks) against the median of 3
   graph-mode counts of the same model at its smallest fitted shape, counted right before it in
   the same process (after a warm-up count): the analysis in "counts' time".

    PYTHONPATH=. .venv/bin/python benchmarks/symbolic.py [--models resnet18,resnet50,gpt]

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
        return model, ("B", "T"), {"T": range(1, 17)}, ic, {"B": 8, "T": 16}
    import flowvision

    model = getattr(flowvision.models, name)()
    return model, ("B", 3, "H", "W"), {"H": 32, "W": 32}, None, {"B": 8, "H": 512, "W": 512}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet18,resnet50,gpt")
    args = ap.parse_args()
    import flowflops

    rows = []
    load_before = load_average()
    for name in args.models.split(","):
        model, spec, domain, ic, at = case(name)
        first = {d: (domain.get(d, 1) if isinstance(domain.get(d, 1), int) else domain[d][0]) * 2 for d in spec
                 if isinstance(d, str)}
        shape = tuple(first[s] if isinstance(s, str) else s for s in spec)
        flowflops.profile(model, shape, input_constructor=ic, mode="graph")  # warm-up
        one = []
        for _ in range(3):
            t0 = time.perf_counter()
            flowflops.profile(model, shape, input_constructor=ic, mode="graph")
            one.append(time.perf_counter() - t0)
        import flowflops.api as api

        counting = [0.0]
        plain = api.profile

        def timed(*a, **k):  # the analysis's own counts, timed one by one
            t = time.perf_counter()
            try:
                return plain(*a, **k)
            finally:
                counting[0] += time.perf_counter() - t

        api.profile = timed
        try:
            t0 = time.perf_counter()
            sym = flowflops.symbolic(model, spec, domain=domain, input_constructor=ic)
            analysis = time.perf_counter() - t0
        finally:
            api.profile = plain
        count = statistics.median(one)
        f = sym.macs
        eval_us = per_call_us(lambda: f(**at))
        at_us = per_call_us(lambda: sym.at(**at), 20_000)
        exact_us = per_call_us(lambda: f.exact(at), 20_000)
        rows.append((name, "(" + ", ".join(map(str, spec)) + ")", sym.counts, analysis, count, analysis / count,
                     eval_us, at_us, exact_us, f"{f(**at):,}", analysis - counting[0],
                     analysis / (counting[0] / sym.counts)))
        print(rows[-1], flush=True)
    m = machine()
    lines = [
        "## Exact formulas: flowflops.symbolic",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB, Python {m['python']}; {m['date']}; "
        f"load average {load_before} before, {load_average()} after (a shared machine).",
        "Evaluation: per call, best of 5 x 100,000 calls (`sym.at` and the Fraction reference: 20,000).",
        "Analysis: `flowflops.symbolic` (graph mode, default checks) over the median of 3 graph-mode "
        "counts of the same model at its second-smallest shape, same process, after a warm-up.",
        "",
        "| model | input | counts | analysis s | one count s | analysis / count | fitting s | analysis / "
        "its mean count | `sym.macs(...)` us | `sym.at(...)` us | Fraction eval us | MACs at |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.2f} | {r[4]:.3f} | {r[5]:.1f} | {r[10]:.2f} | {r[11]:.1f} | "
                     f"{r[6]:.2f} | {r[7]:.2f} | {r[8]:.1f} | {r[9]} |")
    lines.append("")
    lines.append("MACs at: B=8, H=W=512 (image models), B=8, T=16 (the decoder of tests/gpt.py). "
                 "Fitting s: the analysis less its own counts (interpolation, checks, formulas); "
                 "analysis / its mean count: the analysis over the mean of the counts it made, which "
                 "on a loaded machine varies less than the ratio to a count made before it.")
    write_section("symbolic", "\n".join(lines))


if __name__ == "__main__":
    main()
