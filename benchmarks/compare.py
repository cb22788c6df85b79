"""flowflops side by side with the original flowflops (PyPI ``flowflops==0.0.1.post2211300851``)
and with the plain OneFlow work each mode stands on, per model, every measurement in a fresh
process.

Six kinds of run per model, alternated ``A B A B ...``: every repeat runs each kind once, in
the order below on even repeats and reversed on odd ones:

    ours_eager   flowflops.get_model_complexity_info(mode="eager")
    plain        a plain forward: eval, no_grad, output read back with .numpy()
    ours_graph   flowflops.get_model_complexity_info(mode="graph")
    build_graph  a bare ``build_graph`` of the model in a plain nn.Graph wrapper
    orig_eager   the original package, mode="eager"
    orig_graph   the original package, mode="graph"

One discarded warm-up run of every kind (squeezenet1_1) comes first: it byte-compiles both
packages and fills the OS file cache. Each child builds the model (random weights), waits until oneflow's queue is empty
(``flow._oneflow_internal.eager.Sync()``), then times the call and a second ``Sync()`` after it:
eager ops are asynchronous, so the timed region ends only when every op the call queued has
run. It reports wall time, CPU time, the RSS just before the call (``VmRSS``), the peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``, whole process) and the MACs. A failure (exception or
timeout) is recorded, not raised.

The original is installed with ``pip install --no-deps --target benchmarks/.original`` (never
into the project's environment) and imported from there: its children put that folder first on
``sys.path``; each child checks which ``flowflops`` it imported.

    .venv/bin/python benchmarks/compare.py [--repeats 3] [--models a,b] [--timeout 300]
    .venv/bin/python benchmarks/compare.py --render      # rewrite RESULTS.md from compare_raw.json

Writes ``benchmarks/compare_raw.json`` (every run) and its section of ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, load_average, machine, run_child, versions, write_section  # noqa: E402

ORIGINAL = "flowflops==0.0.1.post2211300851"
ORIGINAL_DIR = HERE / ".original"
RAW = HERE / "compare_raw.json"

ARTICLE = ["alexnet", "vgg11", "vgg11_bn", "squeezenet1_0", "squeezenet1_1", "resnet18", "resnet50",
           "resnext50_32x4d", "shufflenet_v2_x0_5", "regnet_x_16gf", "efficientnet_b0", "densenet121"]
MODERN = ["mobilenet_v2", "mobilenet_v3_large", "vit_tiny_patch16_224", "swin_tiny_patch4_window7_224",
          "convnext_tiny_224"]
MODELS = ARTICLE + MODERN
KINDS = ["ours_eager", "plain", "ours_graph", "build_graph", "orig_eager", "orig_graph"]

CHILD = r"""
name, kind, orig_dir = sys.argv[1], sys.argv[2], sys.argv[3]
if kind.startswith("orig_"):
    sys.path.insert(0, orig_dir)          # the original package shadows the project's one
import oneflow as flow
import flowvision.models as zoo
Sync = flow._oneflow_internal.eager.Sync
side = 227 if name == "alexnet" else 224
shape = (1, 3, side, side)
flow.manual_seed(0)
model = getattr(zoo, name)().eval()
origin = None
if kind in ("ours_eager", "ours_graph", "orig_eager", "orig_graph"):
    import flowflops
    origin = flowflops.__file__
    want_orig = kind.startswith("orig_")
    if want_orig != origin.startswith(orig_dir):
        emit(error=f"ImportError: wrong flowflops imported: {origin}")
        sys.exit(0)
if kind in ("plain", "build_graph"):
    x = flow.ones(*shape)
    class Wrapper(flow.nn.Graph):
        def __init__(self, m):
            super().__init__()
            self.model = m
        def build(self, x):
            return self.model(x)
Sync()                                     # model init and input creation are done
rss0, peak0, c0 = rss_kb(), peak_kb(), cpu_s()
t0 = time.perf_counter()
macs, err = None, None
try:
    if kind == "plain":
        with flow.no_grad():
            out = model(x)
        while isinstance(out, (tuple, list)):
            out = out[0]
        out.numpy()
    elif kind == "build_graph":
        Wrapper(model).build_graph(x)
    else:
        macs, _ = flowflops.get_model_complexity_info(
            model, shape, as_strings=False, print_per_layer_stat=False, mode=kind.split("_")[1])
        macs = int(macs)
    Sync()                                 # every op the call queued has run
except Exception as e:
    msg = (str(e).strip().splitlines() or [""])[0][:160]
    err = f"{type(e).__name__}: {msg}"
dt, cpu = time.perf_counter() - t0, cpu_s() - c0
emit(seconds=dt, cpu_seconds=cpu, rss_before_kb=rss0, peak_before_kb=peak0, peak_kb=peak_kb(),
     macs=macs, error=err, flowflops_file=origin)
"""


def ensure_original() -> str:
    """Install the original into its own folder (once); return its version."""
    dist = list(ORIGINAL_DIR.glob("flowflops-*.dist-info"))
    if not dist:
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(ORIGINAL_DIR), ORIGINAL]
        print("installing the original:", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)
        dist = list(ORIGINAL_DIR.glob("flowflops-*.dist-info"))
    return dist[0].name[len("flowflops-"):-len(".dist-info")]


def measure(name: str, kind: str, timeout: float) -> Dict[str, Any]:
    r = run_child(CHILD, [name, kind, str(ORIGINAL_DIR)], timeout)
    r.setdefault("error", None)
    r.update(model=name, kind=kind)
    return r


# -- rendering -------------------------------------------------------------------------------------
def _ok(runs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [r for r in runs if not r.get("error")]


def med(runs: List[Dict[str, Any]], key: str = "seconds") -> Optional[float]:
    vals = [r[key] for r in _ok(runs) if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def _f(x: Optional[float], fmt: str = "{:.3f}") -> str:
    return "—" if x is None else fmt.format(x)


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None or b == 0 else a / b


def _cell(r: Optional[float], limit: float) -> str:
    if r is None:
        return "—"
    return f"{r:.2f}" if round(r, 2) <= limit else f"**{r:.2f}** ✗"   # targets are given to 2 decimals


def _mib(kb: Optional[float]) -> Optional[float]:
    return None if kb is None else kb / 1024


TARGETS = [
    # key, description, numerator, denominator, value, limit
    ("eager_vs_plain", "flowflops eager / plain synced forward", "ours_eager", "plain", "seconds", 1.10),
    ("eager_vs_orig", "flowflops eager / original eager", "ours_eager", "orig_eager", "seconds", 1.00),
    ("graph_vs_build", "flowflops graph / bare build_graph", "ours_graph", "build_graph", "seconds", 1.10),
    ("graph_vs_orig", "flowflops graph / original graph", "ours_graph", "orig_graph", "seconds", 0.50),
    ("rss_graph_vs_orig", "peak RSS: flowflops graph / original graph", "ours_graph", "orig_graph", "peak_kb", 1.00),
]


def render(data: Dict[str, Any]) -> str:
    runs = data["runs"]
    models = data["models"]
    by = {(m, k): [r for r in runs if r["model"] == m and r["kind"] == k] for m in models for k in KINDS}
    M = lambda m, k, key="seconds": med(by[(m, k)], key)  # noqa: E731
    mach, ver = data["machine"], data["versions"]
    lines = [
        "## flowflops vs the original flowflops and vs plain OneFlow",
        "",
        f"Taken {mach['date']} on {mach['arch']}, {mach['cpu']}, {mach['cores']} cores, {mach['mem_gib']} GiB, "
        f"Linux {mach['kernel']}, Python {mach['python']}; oneflow {ver.get('oneflow')}, flowvision "
        f"{ver.get('flowvision')}, flowflops {ver.get('flowflops')} (this project) vs the original "
        f"flowflops {data['original']} (PyPI, installed into `benchmarks/.original`). CPU only, batch 1, random "
        f"weights, alexnet at 227x227, every other model at 224x224.",
        "",
        f"Median of {data['repeats']} runs per cell; every run a fresh process; the six kinds alternated in each "
        f"repeat ({', '.join(KINDS)}; reversed on odd repeats), after one discarded warm-up run of each kind. "
        f"Load average (1, 5, 15 min) at start {data['load_start']}, at end "
        f"{data['load_end']}; the whole run took {data['wall_minutes']:.1f} min.",
        "",
    ]
    if data.get("note"):
        lines += [data["note"], ""]
    lines += [
        "Timed region: from just after a `flow._oneflow_internal.eager.Sync()` (model built, weights "
        "initialised, input made) to just after a second `Sync()` following the call (the plain forward "
        "also reads its output with `.numpy()`). `Sync()` waits until oneflow's virtual machine has run "
        "every instruction queued so far, so asynchronous eager work is inside the timed region. Peak RSS is "
        "`getrusage(RUSAGE_SELF).ru_maxrss` of the child (the whole process: oneflow, the model and the call); "
        "Δ is the peak minus `VmRSS` just before the call. Ratios are ratios of medians; cells that miss "
        "their target are bold with ✗.",
        "",
    ]

    # summary
    lines += ["### Targets", "",
              "| target | limit | median over models | worst model (ratio) | models meeting it |",
              "|---|---:|---:|---|---:|"]
    for key, desc, a, b, value, limit in TARGETS:
        ratios = {m: _ratio(M(m, a, value), M(m, b, value)) for m in models}
        have = {m: r for m, r in ratios.items() if r is not None}
        if not have:
            lines.append(f"| {desc} | {limit:.2f} | — | — | 0 / 0 |")
            continue
        worst = max(have, key=have.get)
        ok = sum(round(r, 2) <= limit for r in have.values())
        missing = len(models) - len(have)
        extra = f" ({missing} not comparable: a run failed)" if missing else ""
        lines.append(f"| {desc} | {limit:.2f} | {statistics.median(have.values()):.2f} | "
                     f"{worst} ({have[worst]:.2f}) | {ok} / {len(have)}{extra} |")
    lines.append("")

    lines += ["### Eager mode (wall seconds, median)", "",
              "| model | flowflops eager | plain forward | flowflops / plain | original eager | flowflops / original |",
              "|---|---:|---:|---:|---:|---:|"]
    for m in models:
        a, p, o = M(m, "ours_eager"), M(m, "plain"), M(m, "orig_eager")
        lines.append(f"| {m} | {_f(a)} | {_f(p)} | {_cell(_ratio(a, p), 1.10)} | "
                     f"{_f(o)} | {_cell(_ratio(a, o), 1.0)} |")
    lines.append("")

    lines += ["### Graph mode (wall seconds, median)", "",
              "| model | flowflops graph | bare build_graph | flowflops / build_graph | original graph "
              "| flowflops / original |",
              "|---|---:|---:|---:|---:|---:|"]
    for m in models:
        a, b, o = M(m, "ours_graph"), M(m, "build_graph"), M(m, "orig_graph")
        lines.append(f"| {m} | {_f(a)} | {_f(b)} | {_cell(_ratio(a, b), 1.10)} | "
                     f"{_f(o)} | {_cell(_ratio(a, o), 0.5)} |")
    lines.append("")

    lines += ["### CPU seconds of the timed region (user + sys, median; "
              "less sensitive to other load than wall time)", "",
              "| model | flowflops eager | plain forward | original eager | flowflops graph | build_graph "
              "| original graph |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for m in models:
        kinds = ("ours_eager", "plain", "orig_eager", "ours_graph", "build_graph", "orig_graph")
        cells = [_f(M(m, k, "cpu_seconds"), "{:.2f}") for k in kinds]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines.append("")

    lines += ["### Peak RSS (MiB, median; Δ = peak minus RSS just before the call)", "",
              "| model | flowflops graph (Δ) | original graph (Δ) | graph / original | build_graph (Δ) "
              "| flowflops eager (Δ) | original eager (Δ) | plain forward (Δ) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def rss(m: str, k: str) -> str:
        ok = _ok(by[(m, k)])
        if not ok:
            return "—"
        peak = statistics.median(r["peak_kb"] for r in ok)
        delta = statistics.median(max(0, r["peak_kb"] - r["rss_before_kb"]) for r in ok)
        return f"{peak / 1024:.0f} ({delta / 1024:+.0f})"

    for m in models:
        r = _ratio(M(m, "ours_graph", "peak_kb"), M(m, "orig_graph", "peak_kb"))
        lines.append(f"| {m} | {rss(m, 'ours_graph')} | {rss(m, 'orig_graph')} | {_cell(r, 1.0)} | "
                     f"{rss(m, 'build_graph')} | {rss(m, 'ours_eager')} | {rss(m, 'orig_eager')} | {rss(m, 'plain')} |")
    lines.append("")

    def macs(m: str, k: str) -> str:
        ok = _ok(by[(m, k)])
        vals = sorted({r["macs"] for r in ok})
        if not vals:
            return "failed" if by[(m, k)] else "—"
        return " / ".join(f"{v:,}" for v in vals)

    lines += ["### MACs reported", "",
              "| model | flowflops eager | original eager | flowflops graph | original graph |",
              "|---|---:|---:|---:|---:|"]
    for m in models:
        lines.append(f"| {m} | {macs(m, 'ours_eager')} | {macs(m, 'orig_eager')} | "
                     f"{macs(m, 'ours_graph')} | {macs(m, 'orig_graph')} |")
    lines.append("")

    fails = {}
    for r in runs:
        if r.get("error"):
            fails.setdefault((r["model"], r["kind"]), []).append(r["error"])
    if fails:
        lines += ["### Failures", "", "| model | run | failed | error (type: first line) |", "|---|---|---:|---|"]
        for (m, k), errs in fails.items():
            n = len(by[(m, k)])
            for e in sorted(set(errs)):
                lines.append(f"| {m} | {k} | {errs.count(e)} / {n} | `{e.replace('|', '/')}` |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated flowvision names")
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of " + ",".join(KINDS))
    ap.add_argument("--timeout", type=float, default=300, help="seconds per run (default 300)")
    ap.add_argument("--note", default="", help="a sentence printed under the header (e.g. about machine load)")
    ap.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from compare_raw.json")
    ap.add_argument("--no-write", action="store_true", help="print the tables, leave RESULTS.md and compare_raw.json")
    ap.add_argument("--raw", default="", help="also save every run to this JSON file (with --no-write too)")
    args = ap.parse_args()

    if args.render:
        data = json.loads(RAW.read_text())
        if args.note:
            data["note"] = args.note
        write_section("compare", render(data))
        return

    models = [m for m in args.models.split(",") if m]
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        ap.error(f"unknown kinds {sorted(unknown)}")
    original = ensure_original()
    data: Dict[str, Any] = {"machine": machine(), "versions": versions(), "original": original,
                            "repeats": args.repeats, "models": models, "kinds": kinds,
                            "load_start": load_average(), "note": args.note, "runs": []}
    # warm-up, discarded: byte-compiles both packages and fills the OS file cache, so the first
    # measured run of a kind does not pay for it
    for k in kinds:
        measure("squeezenet1_1", k, args.timeout)
    start = time.time()
    for m in models:
        for rep in range(args.repeats):
            # A B A B ...: every kind once per repeat, the order reversed on odd repeats so that
            # no kind always runs first (or right after the same neighbour)
            for k in (kinds if rep % 2 == 0 else kinds[::-1]):
                r = measure(m, k, args.timeout)
                r["repeat"] = rep
                data["runs"].append(r)
                status = r["error"] or f"{r['seconds']:.3f}s  peak {r['peak_kb'] / 1024:.0f} MiB  macs {r['macs']}"
                print(f"[{time.time() - start:6.0f}s] {m:30s} {k:12s} {status}", file=sys.stderr, flush=True)
    data["load_end"] = load_average()
    data["wall_minutes"] = (time.time() - start) / 60
    text = render(data)
    print(text)
    if args.raw:
        Path(args.raw).write_text(json.dumps(data, indent=1))
    if not args.no_write:
        RAW.write_text(json.dumps(data, indent=1))
        write_section("compare", text)


if __name__ == "__main__":
    main()
