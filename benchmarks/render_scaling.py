"""Every view of a report against the model's size: the per-layer printout, ``table()``,
CSV / Markdown / LaTeX / HTML / JSON and ``diff`` of a report with ``--modules`` module rows.

    .venv/bin/python benchmarks/render_scaling.py [--modules 20000,100000] [--profile VIEW] [--no-fresh]

The report is synthesised, not counted (counting 100,000 modules takes minutes on a loaded
2-core machine and is not what is measured here): an eager count of
``Sequential(Sequential(Linear(4, 4), ReLU(), Linear(4, 4)) x 2)``, whose records and module
rows are repeated under ``0.``, ``1.``, ... paths until the report has the asked number of
modules (each block: 4 module rows, 5 op records). The views read what a counted report of the
same shape holds. Times are CPU seconds (``time.process_time``), in two settings:

- one process: the report built once, then one run of each view in turn (a later view reuses the
  per-module sums an earlier one made);
- a fresh process per view (unless ``--no-fresh``): the report built, then the view called twice.
  The first call pays what a user's first call pays (the report's sums, modules imported on
  first use); the second only the view itself.

``--profile VIEW`` prints cProfile's top functions of one view. Writes the ``render_scaling``
section of RESULTS.md (unless ``--profile``).
"""
from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import pstats
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def synthetic(n_modules: int) -> Any:
    import oneflow.nn as nn

    import flowflops
    from flowflops.records import ModuleInfo
    from flowflops.result import Report

    small = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4)) for _ in range(2)]).eval()
    base = flowflops.profile(small, (1, 4))
    blocks = max(1, (n_modules - 1) // 4)
    tree: "OrderedDict[str, ModuleInfo]" = OrderedDict()
    root = dataclasses.replace(base.modules[""], children=[], params=0, trainable_params=0)
    tree[""] = root
    tpl = {p: info for p, info in base.modules.items() if p == "0" or p.startswith("0.")}
    entries: List[Tuple[Any, Any]] = []
    tpl_entries = [(r, c) for r, c in base.entries if r.module == "0" or r.module.startswith("0.")]
    for b in range(blocks):
        s = str(b)
        for p, info in tpl.items():
            q = s + p[1:]
            tree[q] = dataclasses.replace(info, children=[(a, s + c[1:]) for a, c in info.children])
        root.children.append((s, s))
        root.params += tpl["0"].params
        root.trainable_params += tpl["0"].trainable_params
        for r, c in tpl_entries:
            entries.append((dataclasses.replace(r, module=s + r.module[1:], name=s + r.name[1:]), c))
    return Report(entries, tree, mode=base.mode, inputs=base.inputs, convention=base.convention)


VIEWS: Dict[str, Callable[[Any], Any]] = {
    "printout": lambda r: r.printout(),
    "table": lambda r: r.to_text(),
    "operator_table": lambda r: r.operator_table(),
    "csv": lambda r: r.to_csv(),
    "markdown": lambda r: r.to_markdown(),
    "latex": lambda r: r.to_latex(),
    "html": lambda r: r.to_html(),
    "json": lambda r: r.to_json(),
    "diff_text": lambda r: __import__("flowflops").diff(r, r).to_text(),
    "diff_html": lambda r: __import__("flowflops").diff(r, r).to_html(),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", default="20000,100000")
    ap.add_argument("--profile", default="")
    ap.add_argument("--views", default=",".join(VIEWS))
    ap.add_argument("--no-fresh", action="store_true", help="skip the runs in a fresh process per view")
    ap.add_argument("--one", default="", help=argparse.SUPPRESS)  # (the fresh process: one view, twice)
    args = ap.parse_args()
    if args.one:
        rep = synthetic(int(args.modules))
        times = []
        for _ in range(2):
            t = time.process_time()
            out = VIEWS[args.one](rep)
            times.append(time.process_time() - t)
        print(json.dumps({"modules": len(rep.modules), "first": times[0], "second": times[1], "chars": len(out)}))
        return
    from _common import load_average, machine, write_section

    rows = []
    load0 = load_average()
    for n in [int(x) for x in args.modules.split(",")]:
        t = time.process_time()
        rep = synthetic(n)
        build = time.process_time() - t
        print(f"{len(rep.modules)} modules, {len(rep.entries)} records, built in {build:.2f} s", flush=True)
        if args.profile:
            pr = cProfile.Profile()
            pr.enable()
            VIEWS[args.profile](rep)
            pr.disable()
            pstats.Stats(pr).sort_stats("cumulative").print_stats(40)
            continue
        row: Dict[str, Any] = {"modules": len(rep.modules)}
        for name in args.views.split(","):
            t = time.process_time()
            out = VIEWS[name](rep)
            row[name] = time.process_time() - t
            print(f"  {name}: {row[name]:.2f} s ({len(out)} chars)", flush=True)
        rows.append(row)
    if args.profile or not rows:
        return
    fresh: List[Dict[str, Any]] = []
    for n in ([] if args.no_fresh else [int(x) for x in args.modules.split(",")]):
        first: Dict[str, Any] = {"modules": 0, "call": "first"}
        second: Dict[str, Any] = {"modules": 0, "call": "second"}
        for name in args.views.split(","):
            got = subprocess.run([sys.executable, __file__, "--one", name, "--modules", str(n)],
                                 capture_output=True, text=True, check=True)
            data = json.loads(got.stdout.strip().splitlines()[-1])
            first["modules"] = second["modules"] = data["modules"]
            first[name], second[name] = data["first"], data["second"]
            print(f"  fresh process, {name}: first {data['first']:.2f} s, second {data['second']:.2f} s", flush=True)
        fresh += [first, second]
    m = machine()
    names = [k for k in rows[0] if k != "modules"]
    lines = ["## Views against model size (benchmarks/render_scaling.py)", "",
             f"Taken {m['date']} on {m['arch']}, {m['cpu']}, {m['cores']} cores (shared with other work); "
             f"load average at start {load0}, at end {load_average()}. CPU seconds of one run of each view "
             "(`time.process_time`) on a synthesised report (see the script's docstring).", "",
             "| modules | " + " | ".join(names) + " |", "|---:|" + "---:|" * len(names)]
    for r in rows:
        lines.append(f"| {r['modules']} | " + " | ".join(f"{r[k]:.2f}" for k in names) + " |")
    if fresh:
        lines += ["", "A fresh process per view (the report built, then the view called twice; CPU seconds of "
                  f"each call), load average at end {load_average()}:", "",
                  "| modules | call | " + " | ".join(names) + " |", "|---:|---|" + "---:|" * len(names)]
        for r in fresh:
            lines.append(f"| {r['modules']} | {r['call']} | " + " | ".join(f"{r[k]:.2f}" for k in names) + " |")
    write_section("render_scaling", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
