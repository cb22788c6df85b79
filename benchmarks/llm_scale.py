"""Language models at scale: GPT-2-medium and a LLaMA-2-70B-shaped decoder counted in graph
mode (compiled, never run): prefill, decode steps at several cache lengths, a whole generation
(prompt 512, 512 new tokens), the 6N-style rule of thumb against the exact counts, and where
memory goes when a model is larger than memory.

    .venv/bin/python benchmarks/llm_scale.py [--skip-70b] [--timeout 900]

Every point is a fresh process; time is the wall time of the counting call(s), memory the
child's peak RSS (``ru_maxrss``) and its RSS after building the model. Writes
``benchmarks/llm_raw.json`` and the ``llm_scale`` section of ``benchmarks/RESULTS.md``.
The 70B-shaped model is built with ``DecoderConfig(lazy=True)``: parameters on untouched zero
pages (``numpy.zeros`` shared through ``flow.from_numpy``), never initialised, never run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, load_average, machine, run_child, versions, write_section  # noqa: E402

RAW = HERE / "llm_raw.json"

# A child: build a model, run one job, emit the numbers. argv: job name, JSON arguments.
CHILD = r"""
job, a = sys.argv[1], json.loads(sys.argv[2])
import oneflow as flow, oneflow.nn as nn
import flowflops
from flowflops import llm
from flowflops.models import Decoder, DecoderConfig, gpt2_medium, llama2_70b
presets = {"gpt2_medium": gpt2_medium, "llama2_70b": llama2_70b}
rss0 = rss_kb()
t0 = time.perf_counter()
out = {}
if job == "linear_stack":
    # what touches parameter memory: nn.Linear layers (OneFlow's allocator), init skipped
    saved = {n: getattr(nn.init, n) for n in dir(nn.init) if n.endswith("_") and not n.startswith("_")}
    for n in saved:
        setattr(nn.init, n, lambda t, *x, **k: t)
    m = nn.Sequential(*[nn.Linear(a["d"], a["d"], bias=False) for _ in range(a["n"])])
    for n, f in saved.items():
        setattr(nn.init, n, f)
    flow._oneflow_internal.eager.Sync()
    built_kb = rss_kb()
    t1 = time.perf_counter()
    r = flowflops.profile(m, (1, a["d"]), mode="graph")
    out = dict(macs=r.macs)
else:
    cfg = presets[a["preset"]](**a.get("kw", {}))
    m = Decoder(cfg)
    params = sum(p.numel() for p in m.parameters())
    embed = m.embed.weight.numel() + (m.pos.weight.numel() if m.pos is not None else 0)
    built_kb = rss_kb()
    t1 = time.perf_counter()
    out = dict(params=params, embedding_params=embed)
    if job == "generation":
        g = llm.generation(m, a["P"], a["N"], attention=a.get("attention", "dense"))
        (p0, *rest) = g.pieces
        out.update(prefill=[g.prefill.macs, g.prefill.flops], decode=[g.decode.macs, g.decode.flops],
                   total=[g.total.macs, g.total.flops], counts=g.counts,
                   poly=[str(c) for c in p0.macs], poly_flops=[str(c) for c in p0.flops],
                   steps={str(L): [g.step(L).macs, g.step(L).flops] for L in a.get("at", [])})
    elif job == "step":
        if a.get("use_cache"):  # the same decoder, returning its new cache as well
            class WithCache(nn.Module):
                def __init__(self, m):
                    super().__init__()
                    self.m, self.empty_cache = m, m.empty_cache
                def forward(self, idx, past):
                    return self.m(idx, past, use_cache=True)
            m = WithCache(m)
        r = llm.count_step(m, tokens=a["T"], cache_len=a.get("L", 0), attention=a.get("attention", "dense"))
        out.update(macs=r.macs, flops=r.flops, unsupported=r.unsupported,
                   dense=r.upper_bounds.get("dense", r.cost).macs)
dt = time.perf_counter() - t1
emit(job=job, args=a, seconds=dt, rss_start_kb=rss0, built_kb=built_kb, peak_kb=peak_kb(), **out)
"""


def jobs(skip_70b: bool) -> List[tuple]:
    g2, l70 = {"preset": "gpt2_medium", "kw": {"lazy": True}}, {"preset": "llama2_70b", "kw": {"lazy": True}}
    out = [
        ("linear_stack", {"n": 8, "d": 8192}),
        ("step", {**g2, "T": 1024}),
        ("step", {**g2, "T": 1024, "attention": "causal"}),
        ("generation", {**g2, "P": 512, "N": 512, "at": [512, 768, 1022]}),
        ("generation", {**g2, "P": 512, "N": 512, "attention": "causal", "at": [512, 1022]}),
        ("step", {**g2, "T": 1, "L": 1023}),
    ]
    if not skip_70b:
        out += [
            ("generation", {**l70, "P": 512, "N": 512, "at": [512, 768, 1022]}),
            ("step", {**l70, "T": 2048}),
            ("step", {**l70, "T": 2048, "attention": "causal"}),
            ("step", {**l70, "T": 1, "L": 4095}),
            # the stack by repetition, against the full count above (prefill 512)
            ("step", {"preset": "llama2_70b", "kw": {"lazy": True, "layers": 1}, "T": 512}),
            ("step", {"preset": "llama2_70b", "kw": {"lazy": True, "layers": 2}, "T": 512}),
            # graph outputs are allocated (twice): returning the cache copies it
            ("step", {"preset": "llama2_70b", "kw": {"lazy": True, "layers": 8}, "T": 1, "L": 4095}),
            ("step", {"preset": "llama2_70b", "kw": {"lazy": True, "layers": 8}, "T": 1, "L": 4095,
                      "use_cache": True}),
        ]
    return out


def fmt(n: float) -> str:
    for unit, k in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if abs(n) >= k:
            return f"{n / k:.2f} {unit}"
    return f"{n:,.0f}"


def render(data: Dict[str, Any]) -> str:
    mach, ver = data["machine"], data["versions"]
    pts = data["points"]
    mib = lambda kb: f"{kb / 1024:,.0f}"  # noqa: E731
    lines = [
        "## Language models: GPT-2-medium and a LLaMA-2-70B-shaped decoder (graph mode)",
        "",
        f"Taken {mach['date']} on {mach['arch']}, {mach['cpu']}, {mach['cores']} cores, {mach['mem_gib']} GiB "
        f"(shared); oneflow {ver.get('oneflow')}, flowflops {ver.get('flowflops')}. Load average at start "
        f"{data['load_start']}, at end {data['load_end']}. `benchmarks/llm_scale.py`, one fresh process per row; "
        "batch 1; time is the counting call(s) only; RSS: after building the model, and the peak.",
        "",
        *([data["note"], ""] if data.get("note") else []),
        "| model | what | counts | time (s) | RSS built MiB | peak RSS MiB | MACs | FLOPs |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in pts:
        a = p.get("args", {})
        name = a.get("preset", p.get("job"))
        kw = a.get("kw", {})
        if kw.get("layers"):
            name += f" ({kw['layers']} layers)"
        if p.get("error"):
            lines.append(f"| {name} | {p.get('job')} {a} | — | failed: {p['error'][:80]} | | | | |")
            continue
        att = a.get("attention", "dense")
        if p["job"] == "generation":
            what = f"generation P={a['P']}, N={a['N']} ({att})"
            macs, flops, counts = p["total"][0], p["total"][1], p["counts"]
        elif p["job"] == "linear_stack":
            what, macs, flops, counts = f"{a['n']} x nn.Linear({a['d']}, {a['d']}), init skipped", p["macs"], None, 1
        else:
            what = (f"prefill T={a['T']}" if not a.get("L") else f"decode step at L={a['L']}") + f" ({att})"
            if a.get("use_cache"):
                what += ", cache returned"
            macs, flops, counts = p["macs"], p["flops"], 1
        lines.append(f"| {name} | {what} | {counts} | {p['seconds']:.1f} | {mib(p['built_kb'])} | "
                     f"{mib(p['peak_kb'])} | {macs:,} | {'—' if flops is None else f'{flops:,}'} |")
    lines.append("")
    lines += rule_of_thumb(pts)
    return "\n".join(lines)


DIMS = {"gpt2_medium": (24, 1024), "llama2_70b": (80, 8192)}  # layers, hidden (= heads * head_dim)


def rule_of_thumb(pts: List[Dict[str, Any]]) -> List[str]:
    """The exact FLOPs per token against ``2N`` (N: every parameter but the embedding tables,
    which are lookups) and against ``2N + 4 * layers * keys * hidden`` (the scores and their
    weighted sum: 2 FLOPs per key per query-head dimension, twice)."""
    rows = []
    for p in pts:
        a = p.get("args", {})
        if p.get("error") or p.get("job") == "linear_stack" or a.get("kw", {}).get("layers") or a.get("use_cache"):
            continue
        layers, d = DIMS[a["preset"]]
        n = p["params"] - p["embedding_params"]
        att = a.get("attention", "dense")
        if p["job"] == "generation":
            cases = [(f"prefill T={a['P']}", p["prefill"][1] / a["P"], a["P"] / 2 if att == "causal" else a["P"])]
            cases += [(f"decode at L={L}", fl, int(L) + 1) for L, (_, fl) in p["steps"].items()]
        elif a.get("L"):
            cases = [(f"decode at L={a['L']}", p["flops"], a["L"] + 1)]
        else:
            cases = [(f"prefill T={a['T']}", p["flops"] / a["T"], a["T"] / 2 if att == "causal" else a["T"])]
        for what, exact, keys in cases:
            rule = 2 * n
            rule_att = rule + 4 * layers * keys * d
            rows.append(f"| {a['preset']} | {what} ({att}) | {n:,} | {exact:,.0f} | {rule:,} ({exact / rule:.3f}) | "
                        f"{rule_att:,.0f} ({exact / rule_att:.3f}) |")
    if not rows:
        return []
    return ["### FLOPs per token: the exact count against the 2N rule of thumb", "",
            "N = parameters outside the embedding tables (a lookup is free; the LM head is a matmul). "
            "Training's 6N is this forward's 2N plus a backward of 4N. In brackets: exact / rule. The second "
            "rule adds the attention scores and their weighted sum, 4 FLOPs per key per hidden unit per layer "
            "(on average T/2 keys per query in a causal prefill).", "",
            "| model | what | N | exact FLOPs per token | 2N | 2N + 4·layers·keys·hidden |",
            "|---|---|---:|---:|---:|---:|", *rows, ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-70b", action="store_true")
    ap.add_argument("--only", default=None, help="comma-separated row indices to run")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from llm_raw.json")
    args = ap.parse_args()
    if args.render:
        write_section("llm_scale", render(json.loads(RAW.read_text())))
        return
    todo = list(enumerate(jobs(args.skip_70b)))
    data: Dict[str, Any] = {"machine": machine(), "versions": versions(), "load_start": load_average(), "points": []}
    if args.only:  # rerun these rows, keep the others from llm_raw.json
        keep = {int(i) for i in args.only.split(",")}
        todo = [(i, j) for i, j in todo if i in keep]
        old = json.loads(RAW.read_text())
        data["points"] = old["points"]
        data["note"] = f"rows {sorted(keep)} rerun {data['machine']['date']} (load {data['load_start']}); " \
                       f"the others from {old['machine']['date']} (load {old['load_start']})"
        data["machine"], data["load_start"] = old["machine"], old["load_start"]
    start = time.time()
    for i, (job, a) in todo:
        r = run_child(CHILD, [job, json.dumps(a)], args.timeout)
        r.setdefault("job", job)
        r.setdefault("args", a)
        if i < len(data["points"]):
            data["points"][i] = r
        else:
            data["points"].append(r)
        print(f"[{time.time() - start:6.0f}s] {job} {a}: "
              + (r.get("error") or f"{r['seconds']:.1f}s peak {r['peak_kb'] / 1024:,.0f} MiB"),
              file=sys.stderr, flush=True)
    data["load_end"] = load_average()
    RAW.write_text(json.dumps(data, indent=1))
    text = render(data)
    print(text)
    write_section("llm_scale", text)


if __name__ == "__main__":
    main()
