"""Graph count time against depth, repeated blocks traced once (``repeats="once"``, the
default) against every call traced (``repeats="trace"``), alternated in one process per model
family, with the MACs of both (they must be equal to the unit).

    .venv/bin/python benchmarks/repeats.py [--rounds 3] [--skip-70b] [--timeout 1200]

Families: the reference decoder at width 256, 4 heads, SwiGLU 1024, 128 tokens (1, 2, 12, 48
and 96 layers); a ResNet-style stack of BasicBlocks (64 channels, 56x56, batch 1; same
depths); zoo models where little or nothing repeats (densenet121, mobilenet_v3_large) and
where stages repeat (resnet50, vit_tiny, swin_tiny); the LLaMA-2-70B-shaped decoder
(``lazy=True``), one decode step at cache length 4095 and a 512-token prefill. Each point is
the median of ``--rounds`` alternations (trace, once, trace, once...) after one warm-up count
of each. Writes ``benchmarks/repeats_raw.json`` and the ``repeats`` section of RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, load_average, machine, run_child, versions, write_section  # noqa: E402

RAW = HERE / "repeats_raw.json"

CHILD = r"""
family, a = sys.argv[1], json.loads(sys.argv[2])
import statistics
import oneflow as flow, oneflow.nn as nn
import flowflops
from flowflops.models import Decoder, DecoderConfig, llama2_70b

def count(m, rep, **kw):
    t = time.perf_counter()
    r = flowflops.profile(m, None, mode="graph", repeats=rep, **kw)
    return time.perf_counter() - t, r.macs

def alternate(m, rounds, warm=True, **kw):
    times = {"trace": [], "once": []}
    macs = {}
    if warm:
        for rep in ("trace", "once"):
            count(m, rep, **kw)
    for _ in range(rounds):
        for rep in ("trace", "once"):
            t, macs[rep] = count(m, rep, **kw)
            times[rep].append(t)
    return {rep: statistics.median(v) for rep, v in times.items()}, macs

class BasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
    def forward(self, x):
        y = self.bn1(self.conv1(x)).relu()
        return (self.bn2(self.conv2(y)) + x).relu()

rows = []
if family == "decoder":
    for n in a["depths"]:
        m = Decoder(DecoderConfig(vocab=256, layers=n, hidden=256, heads=4, ffn=1024)).eval()
        idx = flow.zeros(1, 128, dtype=flow.int64)
        t, macs = alternate(m, a["rounds"], input_constructor=lambda _: {"idx": idx})
        rows.append(dict(model=f"decoder L={n}", layers=n, trace_s=t["trace"], once_s=t["once"],
                         macs_trace=macs["trace"], macs_once=macs["once"]))
elif family == "resnet":
    for n in a["depths"]:
        m = nn.Sequential(*[BasicBlock(64) for _ in range(n)]).eval()
        x = flow.zeros(1, 64, 56, 56)
        t, macs = alternate(m, a["rounds"], input_constructor=lambda _: x)
        rows.append(dict(model=f"BasicBlock(64) x {n}", layers=n, trace_s=t["trace"], once_s=t["once"],
                         macs_trace=macs["trace"], macs_once=macs["once"]))
elif family == "zoo":
    import flowvision.models as fm
    for name in a["models"]:
        m = getattr(fm, name)().eval()
        x = flow.zeros(1, 3, 224, 224)
        t, macs = alternate(m, a["rounds"], input_constructor=lambda _: x)
        rows.append(dict(model=name, trace_s=t["trace"], once_s=t["once"],
                         macs_trace=macs["trace"], macs_once=macs["once"]))
elif family == "llama70b":
    m = Decoder(llama2_70b(lazy=True)).eval()
    for what, tokens, cache in (("decode step, cache 4095", 1, 4095), ("prefill 512", 512, 0)):
        def make(_, tokens=tokens, cache=cache):
            d = {"idx": flow.zeros(1, tokens, dtype=flow.int64)}
            if cache:
                d["past"] = m.empty_cache(1, cache)
            return d
        t, macs = alternate(m, a["rounds"], warm=False, input_constructor=make)
        rows.append(dict(model=f"LLaMA-2-70B shape, {what}", trace_s=t["trace"], once_s=t["once"],
                         macs_trace=macs["trace"], macs_once=macs["once"]))
emit(rows=rows, peak_kb=peak_kb())
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-70b", action="store_true")
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--only", default="", help="comma-separated families (decoder,resnet,zoo,llama70b)")
    args = ap.parse_args()
    depths = [1, 2, 12, 48, 96]
    jobs: List[Any] = [
        ("decoder", {"depths": depths, "rounds": args.rounds}),
        ("resnet", {"depths": depths, "rounds": args.rounds}),
        ("zoo", {"models": ["densenet121", "mobilenet_v3_large", "resnet50", "vit_tiny_patch16_224",
                            "swin_tiny_patch4_window7_224"], "rounds": args.rounds}),
    ]
    if not args.skip_70b:
        jobs.append(("llama70b", {"rounds": 1}))
    if args.only:
        keep = set(args.only.split(","))
        jobs = [j for j in jobs if j[0] in keep]
    load0 = load_average()
    results: Dict[str, Any] = {}
    for family, a in jobs:
        res = run_child(CHILD, [family, json.dumps(a)], args.timeout)
        results[family] = res
        print(family, json.dumps(res)[:400], flush=True)
    info = {"machine": machine(), "versions": versions(), "load_start": load0, "load_end": load_average(),
            "rounds": args.rounds, "results": results}
    old = json.loads(RAW.read_text()) if RAW.exists() else {}
    old.update({f: info | {"results": {f: r}} for f, r in results.items()})
    RAW.write_text(json.dumps(old, indent=1))
    write_section("repeats", render(old))


def render(raw: Dict[str, Any]) -> str:
    lines = ["## Repeated blocks traced once: graph count time against depth", ""]
    for family, info in raw.items():
        m, v = info["machine"], info["versions"]
        lines.append(
            f"**{family}**: taken {m['date']} on {m['arch']}, {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB "
            f"(shared with other work); oneflow {v.get('oneflow', '?')}, flowflops {v.get('flowflops', '?')}. "
            f"Load average at start {info['load_start']}, at end {info['load_end']}; "
            + ("one count of each (trace, then once), no warm-up." if family == "llama70b" else
               f"median of {info['rounds']} alternations after a warm-up count of each.")
        )
        lines.append("")
        res = info["results"][family]
        if "error" in res:
            lines += [f"error: {res['error']}", ""]
            continue
        lines += ["| model | repeats='trace' (s) | repeats='once' (s) | once / trace | MACs equal |",
                  "|---|---:|---:|---:|---|"]
        for r in res["rows"]:
            same = "yes" if r["macs_trace"] == r["macs_once"] else f"NO ({r['macs_trace']} vs {r['macs_once']})"
            lines.append(f"| {r['model']} | {r['trace_s']:.2f} | {r['once_s']:.2f} | "
                         f"{r['once_s'] / r['trace_s']:.2f} | {same} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
