"""Scale: a GPT-2-medium-sized decoder (24 layers, width 1024, 16 heads, vocabulary 50257;
random weights) counted in graph mode (compiled, never run) and in eager mode (run once, with
``count_functional=True`` so that both see the attention matmuls, the mask add, the softmax,
the LayerNorms and the residual adds), at sequence lengths 256, 512, 1024 and 2048 (batch 1).

Every point is a fresh process. The timed region is the ``flowflops.profile`` call followed by
``flow._oneflow_internal.eager.Sync()`` (eager ops are asynchronous), after a first ``Sync()``
once the model is built. Peak memory is ``getrusage(RUSAGE_SELF).ru_maxrss`` of the child;
Δ is the peak minus ``VmRSS`` just before the call. The totals of the two modes are compared
with each other and with a count by hand.

    .venv/bin/python benchmarks/gpt2_scale.py [--seqs 256,512,1024,2048] [--eager-limit 180]

Writes ``benchmarks/gpt2_raw.json`` and its section of ``benchmarks/RESULTS.md``. Eager points
run in increasing length; when one takes longer than ``--eager-limit`` seconds (default 180),
the longer ones are not run (and the table says so).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, load_average, machine, run_child, versions, write_section  # noqa: E402

RAW = HERE / "gpt2_raw.json"
LAYERS, WIDTH, HEADS, VOCAB = 24, 1024, 16, 50257

try:
    import oneflow as flow
    import oneflow.nn as nn
except ImportError:  # the parent only needs the model in its children
    flow = nn = None

if nn is not None:

    class Block(nn.Module):
        """Pre-LN decoder block: causal self-attention written with explicit matmuls, GELU MLP."""

        def __init__(self, d: int, heads: int) -> None:
            super().__init__()
            self.d, self.heads = d, heads
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.act, self.out = nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)

        def forward(self, x: "flow.Tensor", mask: "flow.Tensor") -> "flow.Tensor":
            B, T, _ = x.shape
            H, dh = self.heads, self.d // self.heads
            q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=2)
            q = q.reshape(B, T, H, dh).transpose(1, 2)
            k = k.reshape(B, T, H, dh).transpose(1, 2)
            v = v.reshape(B, T, H, dh).transpose(1, 2)
            att = flow.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))
            att = (att + mask).softmax(dim=-1)
            y = flow.matmul(att, v).transpose(1, 2).reshape(B, T, self.d)
            x = x + self.proj(y)
            return x + self.out(self.act(self.fc(self.ln2(x))))

    class GPT2(nn.Module):
        """GPT-2-medium-sized decoder, untied LM head (no bias), context length ``seq``."""

        def __init__(self, seq: int, layers: int = LAYERS, d: int = WIDTH, heads: int = HEADS,
                     vocab: int = VOCAB) -> None:
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(seq, d)
            self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
            self.lnf = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)
            causal = flow.tril(flow.ones(seq, seq))
            self.register_buffer("mask", ((1.0 - causal) * -1e9).reshape(1, 1, seq, seq))

        def forward(self, idx: "flow.Tensor") -> "flow.Tensor":
            T = idx.shape[1]
            x = self.wte(idx) + self.wpe(flow.arange(T, device=idx.device))
            mask = self.mask[:, :, :T, :T]
            for block in self.blocks:
                x = block(x, mask)
            return self.head(self.lnf(x))


def by_hand(T: int, layers: int = LAYERS, d: int = WIDTH, H: int = HEADS, V: int = VOCAB) -> int:
    """MACs of one forward at batch 1 in the project's convention: matmuls 1 per multiply-add,
    bias adds and elementwise ops 1 per output element, adds of two tensors 1 per element;
    LayerNorm as the ops OneFlow runs for it (mean: reduce_sum + scalar_mul, var, + eps, rsqrt
    per row; x - mean, * rstd, * weight, + bias per element: 6 per element + 3 per row, as in
    tests/test_transformers.py)."""
    ln = 6 * T * d + 3 * T
    lin = lambda rows, i, o, bias=True: rows * i * o + (rows * o if bias else 0)  # noqa: E731
    dh = d // H
    att = H * T * T * dh * 2 + 3 * H * T * T      # QK^T, AV; scale, mask add, softmax
    block = (2 * ln + lin(T, d, 3 * d) + att + lin(T, d, d) + T * d
             + lin(T, d, 4 * d) + T * 4 * d + lin(T, 4 * d, d) + T * d)
    return T * d + layers * block + ln + lin(T, d, V, bias=False)


CHILD = r"""
mode, T, bench = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, bench)
import oneflow as flow
import flowflops
from gpt2_scale import GPT2
Sync = flow._oneflow_internal.eager.Sync
flow.manual_seed(0)
t_build = time.perf_counter()
model = GPT2(T).eval()
Sync()
t_build = time.perf_counter() - t_build
params = sum(p.numel() for p in model.parameters())
make = lambda res: flow.zeros(res, dtype=flow.int64)
rss0, peak0, c0 = rss_kb(), peak_kb(), cpu_s()
t0 = time.perf_counter()
cfg = {"count_functional": True} if mode == "eager" else {}
try:
    r = flowflops.profile(model, (1, T), input_constructor=make, mode=mode, backend_specific_config=cfg)
    Sync()
    dt, cpu = time.perf_counter() - t0, cpu_s() - c0
    emit(seconds=dt, cpu_seconds=cpu, rss_before_kb=rss0, peak_before_kb=peak0, peak_kb=peak_kb(),
         macs=r.macs, flops=r.flops, unsupported=dict(r.unsupported), params=params, build_seconds=t_build,
         by_operator={k: v.macs for k, v in r.by_operator().items()}, error=None)
except Exception as e:
    emit(error=f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:160]}",
         seconds=time.perf_counter() - t0, peak_kb=peak_kb(), rss_before_kb=rss0)
"""


def render(data: Dict[str, Any]) -> str:
    mach, ver = data["machine"], data["versions"]
    pts = {(p["mode"], p["seq"]): p for p in data["points"]}
    seqs = data["seqs"]
    lines = [
        "## Scale: a GPT-2-medium-sized decoder, graph mode vs eager mode",
        "",
        f"Taken {mach['date']} on {mach['arch']}, {mach['cpu']}, {mach['cores']} cores, {mach['mem_gib']} GiB; "
        f"oneflow {ver.get('oneflow')}, flowflops {ver.get('flowflops')}. Load average at start "
        f"{data['load_start']}, at end {data['load_end']}.",
        "",
        f"`benchmarks/gpt2_scale.py`: {LAYERS} layers, width {WIDTH}, {HEADS} heads, vocabulary {VOCAB}, "
        "untied LM head, causal self-attention written with explicit matmuls and an additive mask, GELU MLP, "
        "pre-LayerNorm; random weights; batch 1. Graph mode compiles it with `build_graph` and never runs it; "
        "eager mode runs one forward with `count_functional=True`. One fresh process per point; the timed "
        "region is the `flowflops.profile` call plus a `Sync()`; memory is the child's peak RSS "
        "(`ru_maxrss`) and its rise over the RSS just before the call (Δ).",
        "",
    ]
    if data.get("note"):
        lines += [data["note"], ""]
    lines += ["| seq | params | graph (s) | eager (s) | eager / graph | graph peak RSS MiB (Δ) | "
              "eager peak RSS MiB (Δ) | graph MACs | eager MACs | by hand | agree |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]

    def t(p: Any) -> str:
        if p is None:
            return "not run"
        if p.get("error"):
            return f"failed ({p['error'][:60]})"
        return f"{p['seconds']:.2f}"

    def mem(p: Any) -> str:
        if p is None or p.get("error"):
            return "—"
        return f"{p['peak_kb'] / 1024:,.0f} ({(p['peak_kb'] - p['rss_before_kb']) / 1024:+,.0f})"

    for T in seqs:
        g, e = pts.get(("graph", T)), pts.get(("eager", T))
        ok_g, ok_e = g is not None and not g.get("error"), e is not None and not e.get("error")
        gm, em = (g["macs"] if ok_g else None), (e["macs"] if ok_e else None)
        hand = data["by_hand"].get(str(T))
        ratio = f"{e['seconds'] / g['seconds']:.1f}" if ok_g and ok_e else "—"
        vals = [v for v in (gm, em, hand) if v is not None]
        agree = "yes" if len(vals) > 1 and len(set(vals)) == 1 else ("—" if len(vals) < 2 else "**no**")
        params = (g or e or {}).get("params")
        lines.append(f"| {T} | {params:,} | {t(g)} | {t(e)} | {ratio} | {mem(g)} | {mem(e)} | "
                     f"{gm if gm is None else f'{gm:,}'} | {em if em is None else f'{em:,}'} | "
                     f"{hand if hand is None else f'{hand:,}'} | {agree} |" if params else
                     f"| {T} | — | {t(g)} | {t(e)} | {ratio} | {mem(g)} | {mem(e)} | — | — | — | — |")
    lines.append("")
    for p in data["points"]:
        if p.get("unsupported"):
            lines.append(f"- {p['mode']} at {p['seq']}: counted as zero (no formula): {p['unsupported']}")
    if data.get("stopped"):
        lines.append(f"- {data['stopped']}")
    # growth
    ok = lambda m: [(T, pts[(m, T)]) for T in seqs if (m, T) in pts and not pts[(m, T)].get("error")]  # noqa: E731
    for m in ("graph", "eager"):
        o = ok(m)
        if len(o) > 1:
            (t0, p0), (t1, p1) = o[0], o[-1]
            lines.append(f"- {m}: from seq {t0} to {t1} ({t1 // t0}x the tokens, "
                         f"{p1['macs'] / p0['macs']:.1f}x the MACs) time grew {p1['seconds'] / p0['seconds']:.2f}x, "
                         f"peak RSS {p1['peak_kb'] / p0['peak_kb']:.2f}x.")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seqs", default="256,512,1024,2048")
    ap.add_argument("--modes", default="graph,eager")
    ap.add_argument("--eager-limit", type=float, default=180.0,
                    help="after an eager point slower than this (s), skip the longer ones")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--note", default="")
    ap.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from gpt2_raw.json")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.render:
        data = json.loads(RAW.read_text())
        if args.note:
            data["note"] = args.note
        write_section("gpt2_scale", render(data))
        return

    seqs = [int(s) for s in args.seqs.split(",")]
    modes = args.modes.split(",")
    sys.path.insert(0, str(HERE.parent))
    data: Dict[str, Any] = {"machine": machine(), "versions": versions(), "seqs": seqs, "load_start": load_average(),
                            "note": args.note, "points": [], "by_hand": {}}
    try:
        data["by_hand"] = {str(T): by_hand(T) for T in seqs}
    except Exception as err:  # noqa: BLE001  (the by-hand count is a cross-check only)
        print(f"no count by hand: {type(err).__name__}: {err}", file=sys.stderr)
    start = time.time()
    skip_eager_from = None
    for T in seqs:
        for m in modes:
            if m == "eager" and skip_eager_from is not None:
                continue
            r = run_child(CHILD, [m, str(T), str(HERE)], args.timeout)
            r.update(mode=m, seq=T)
            data["points"].append(r)
            print(f"[{time.time() - start:6.0f}s] {m:5s} seq {T:5d}: "
                  + (r.get("error") or f"{r['seconds']:.2f}s peak {r['peak_kb'] / 1024:.0f} MiB macs {r['macs']:,}"),
                  file=sys.stderr, flush=True)
            if m == "eager" and (r.get("error") or r["seconds"] > args.eager_limit):
                skip_eager_from = T
                nxt = [s for s in seqs if s > T]
                if nxt:
                    took = "too long or failed" if r.get("error") else f"{r['seconds']:.0f} s"
                    data["stopped"] = (f"eager mode at seq {T} took {took} (limit {args.eager_limit:.0f} s): "
                                       f"eager was not run at {nxt}.")
    data["load_end"] = load_average()
    text = render(data)
    print(text)
    if not args.no_write:
        RAW.write_text(json.dumps(data, indent=1))
        write_section("gpt2_scale", text)


if __name__ == "__main__":
    main()
