"""A 12-point sweep of the LLaMA-2-70B-shaped decoder (``flowflops.llm.sweep``, graph mode,
``lazy=True`` weights), with repeated blocks traced once (``repeats="once"``, the default)
against every call traced (``repeats="trace"``, what a sweep cost before issue 30), in one
process: the two sweeps alternate ``--rounds`` times. The MACs of the two must be equal at
every point, to the unit; the script exits 1 otherwise.

    .venv/bin/python benchmarks/sweep_70b.py [--rounds 1] [--lengths 16,32,...]

Writes the ``sweep_70b`` section of RESULTS.md (wall clock and CPU seconds of this process).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LENGTHS = [16, 32, 64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    args = ap.parse_args()
    from _common import load_average, machine, write_section

    import flowflops
    import flowflops.api as api
    from flowflops.models import Decoder, llama2_70b

    lengths = [int(t) for t in args.lengths.split(",")]
    model = Decoder(llama2_70b(lazy=True)).eval()
    profile = api.profile

    def run(repeats: str) -> Any:
        def patched(*a: Any, **k: Any) -> Any:  # the sweep's counts, with ``repeats`` set
            return profile(*a, repeats=repeats, **k)

        api.profile = patched  # (count_step imports it at call time)
        try:
            return flowflops.llm.sweep(model, lengths)
        finally:
            api.profile = profile

    load0 = load_average()
    times: Dict[str, List[float]] = {"trace": [], "once": []}
    cpu: Dict[str, List[float]] = {"trace": [], "once": []}
    macs: Dict[str, Any] = {}
    for _ in range(args.rounds):
        for rep in ("trace", "once"):
            t, c = time.perf_counter(), time.process_time()
            s = run(rep)
            times[rep].append(time.perf_counter() - t)
            cpu[rep].append(time.process_time() - c)
            macs[rep] = {k: v.macs for k, v in s.points.items()}
            print(f"{rep}: {times[rep][-1]:.1f} s wall, {cpu[rep][-1]:.1f} s CPU", flush=True)
    same = macs["trace"] == macs["once"]
    m = machine()
    med = {k: statistics.median(v) for k, v in times.items()}
    medc = {k: statistics.median(v) for k, v in cpu.items()}
    lines = ["## A 12-point sweep of the LLaMA-2-70B shape (benchmarks/sweep_70b.py)", "",
             f"Taken {m['date']} on {m['arch']}, {m['cpu']}, {m['cores']} cores, shared with other work; load "
             f"average at start {load0}, at end {load_average()}. `flowflops.llm.sweep(Decoder(llama2_70b(lazy=True)), "
             f"{lengths})` in graph mode (prompts of those lengths, batch 1), every call traced "
             "(`repeats=\"trace\"`, the sweep before issue 30) against repeated blocks traced once (the "
             f"default), alternated {args.rounds} time(s) in one process; medians.", "",
             "| sweep | wall clock (s) | CPU (s) |", "|---|---:|---:|",
             f"| every call traced | {med['trace']:.1f} | {medc['trace']:.1f} |",
             f"| repeated blocks once | {med['once']:.1f} | {medc['once']:.1f} |",
             f"| ratio | {med['trace'] / med['once']:.1f}x | {medc['trace'] / medc['once']:.1f}x |", "",
             "MACs of the two sweeps at all 12 points: " + ("equal to the unit." if same else "DIFFER."),
             f"At 2048 tokens: {macs['once'][(1, max(lengths))]:,} MACs."]
    write_section("sweep_70b", "\n".join(lines) + "\n")
    print("\n".join(lines))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
