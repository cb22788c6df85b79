"""GPT-2-medium (the decoder of ``gpt2_scale.py``: 24 layers, width 1024, 16 heads, vocabulary
50257) at sequence length 2048, batch 1: the forward's roofline on A100-80GB and H100 at fp16,
what bounds each kind of layer, and the forward's memory. Counted in graph mode (compiled,
never run), float32 weights; the roofline rescales floating-point bytes to fp16.

    .venv/bin/python benchmarks/gpt2_roofline.py

Writes ``benchmarks/gpt2_roofline_raw.json`` and its section of ``benchmarks/RESULTS.md``
(the README quotes it).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, write_section  # noqa: E402

RAW = HERE / "gpt2_roofline_raw.json"
SEQ = 2048
#: what each leaf module of a block does (the attention's matmuls, scale, mask add and softmax
#: are functional calls inside the block: the block's own records)
PARTS = {"ln1": "LayerNorm", "qkv": "QKV projection", "proj": "attention output projection",
         "ln2": "LayerNorm", "fc": "MLP up (1024->4096)", "act": "GELU", "out": "MLP down (4096->1024)"}


def main() -> None:
    import oneflow as flow

    import flowflops
    from flowflops.analysis.roofline import family
    from gpt2_scale import GPT2

    flow.manual_seed(0)
    model = GPT2(SEQ)
    t0 = time.perf_counter()
    report = flowflops.profile(model, input_constructor=lambda _: flow.zeros(1, SEQ, dtype=flow.int64), mode="graph")
    count_s = time.perf_counter() - t0
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "count_seconds": count_s,
           "flops": report.flops, "bytes_fp32": report.bytes, "devices": {}}
    mem = report.memory()
    out["memory_fp32"] = {"params": mem.params, "activation_peak": mem.activation_peak}
    for dev in ("A100-80GB", "H100"):
        pred = report.roofline(dev, "fp16")
        kinds: dict = {}
        for (rec, _), op in zip(report.entries, pred.ops):
            if op.time <= 0:
                continue
            leaf = rec.module.rsplit(".", 1)[-1] if rec.module.startswith("blocks.") else rec.module
            if rec.module.startswith("blocks.") and rec.module.count(".") == 1:
                what = "attention core (QK^T, scale, mask, softmax, AV)" if family(rec) in ("matmul", "softmax") \
                    or rec.op_type in ("scalar_mul", "broadcast_add") else "residual adds and reshapes"
            else:
                what = PARTS.get(leaf, {"wte": "token embedding", "wpe": "position embedding", "lnf": "final LayerNorm",
                                        "head": "LM head (1024->50257)", "": "embedding add"}.get(leaf, leaf))
            k = kinds.setdefault(what, {"flops": 0, "bytes": 0, "time": 0.0, "compute": 0.0, "memory": 0.0})
            k["flops"] += op.flops
            k["bytes"] += op.bytes
            k["time"] += op.time
            k[op.bound] += op.time
        out["bytes_fp16"] = sum(o.bytes for o in pred.ops)
        out["devices"][dev] = {"total": pred.total, "kinds": kinds,
                               "fits": str(report.fits(dev))}
        print(dev, pred.total, flush=True)
    RAW.write_text(json.dumps(out, indent=2))
    lines = ["## GPT-2-medium, sequence 2048, batch 1: forward roofline at fp16", "",
             f"Run {out['date']} (graph count: {count_s:.0f} s). Forward: {report.flops / 1e12:.3f} TFLOPs; "
             f"bytes moved at fp16 {out['bytes_fp16'] / 1e9:.2f} GB "
             "(each op reads its inputs and writes its outputs once; no fusion).", ""]
    for dev, d in out["devices"].items():
        lines += [f"**{dev}** (fp16 dense peak, datasheet bandwidth): predicted forward {d['total'] * 1e3:.2f} ms. "
                  f"Memory (weights as counted, float32): {d['fits']}.", "",
                  "| layer kind (x24 where in a block) | FLOPs | bytes (fp16) | FLOP/B | bound | predicted |",
                  "|---|---:|---:|---:|---|---:|"]
        for what, k in sorted(d["kinds"].items(), key=lambda kv: -kv[1]["time"]):
            bound = "compute" if k["compute"] >= k["memory"] else "memory"
            lines.append(f"| {what} | {k['flops'] / 1e9:.1f} G | {k['bytes'] / 1e6:.1f} MB | "
                         f"{k['flops'] / max(k['bytes'], 1):.0f} | {bound} | {k['time'] * 1e6:.0f} us |")
        lines.append("")
    write_section("gpt2_roofline", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
