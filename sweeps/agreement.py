"""Which timm / Hugging Face models count by name, whether both engines agree, and why the
others cannot: one process per model (an abort inside OneFlow ends that model's row, not the
sweep), run on demand like the benchmarks (hours over every name on a laptop CPU).

    python sweeps/agreement.py --hf                       # every transformers 4.26.1 model type
    python sweeps/agreement.py --timm --limit 50          # the first 50 timm 0.6.12 names
    python sweeps/agreement.py hf:whisper timm:resnet18   # named ones
    python sweeps/agreement.py --hf --json out.json --markdown docs/agreement.md

Each model is built with random weights (Hugging Face: its config with the layer counts cut
to 2, see SHRINK, so that the largest defaults fit a CPU; timm: its defaults) on its own
default input (flowflops.torch_models), then counted with ``profile(..., mode="graph",
verify=True)``: eager+count_functional against graph. A row is one of

- ``agree``: both engines count it and give the same MACs and FLOPs in total, per module
  and per op type, with nothing unsupported;
- ``differ``: both count it but ``verification`` lists differences (shown);
- ``fails``: building or counting raised (the error's first line: OneFlow's reason);
- ``signal``: the process ended by a signal (an abort inside OneFlow): a bug to report;
- ``timeout``: it ran past ``--timeout`` seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from typing import Any, Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: config fields cut for the sweep (a 2-layer model prices each layer kind as the full one)
SHRINK = {"num_hidden_layers": 2, "n_layer": 2, "num_layers": 2, "n_layers": 2, "encoder_layers": 2,
          "decoder_layers": 2, "num_decoder_layers": 2}


def names(args: argparse.Namespace) -> List[str]:
    out = list(args.names)
    if args.hf or args.timm:
        sys.path.insert(0, ROOT)
        from flowflops.torch_models import mocked_torch

        with mocked_torch():
            if args.hf:
                from transformers.models.auto.configuration_auto import CONFIG_MAPPING
                from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

                out += [f"hf:{t}" for t in sorted(CONFIG_MAPPING.keys()) if t in MODEL_MAPPING_NAMES]
            if args.timm:
                import timm

                out += [f"timm:{n}" for n in timm.list_models()]
    return out[: args.limit] if args.limit else out


def one(name: str) -> Dict[str, Any]:
    """Build and verify ``name`` in this process: the row as a dict."""
    sys.path.insert(0, ROOT)
    import flowflops
    from flowflops import torch_models as tm

    start = time.perf_counter()
    with tm.mocked_torch():
        config: Dict[str, Any] = {}
        if name.startswith("hf:"):
            from transformers.models.auto.configuration_auto import CONFIG_MAPPING

            defaults = CONFIG_MAPPING[name[3:]]().to_dict()
            config = {k: v for k, v in SHRINK.items() if isinstance(defaults.get(k), int) and defaults[k] > v}
        try:
            built = tm.build(name, config)
            report = flowflops.profile(built.model, built.default_input_res, input_constructor=built.input_constructor,
                                       mode="graph", verify=True)
        except Exception as err:  # noqa: BLE001 - the row records it
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # OneFlow colours some messages
            first = next((line.strip() for line in text.splitlines() if line.strip()), "")
            return {"name": name, "status": "fails", "why": f"{type(err).__name__}: {first}"[:300],
                    "config": config, "seconds": round(time.perf_counter() - start, 1)}
    v = report.verification
    assert v is not None
    row: Dict[str, Any] = {"name": name, "config": config, "macs": v.graph[0], "flops": v.graph[1],
                           "params": report.params, "inputs": report.to_dict()["inputs"],
                           "seconds": round(time.perf_counter() - start, 1)}
    if v.agree:
        row["status"] = "agree"
    else:
        row["status"] = "differ"
        row["why"] = v.to_text().strip().splitlines()[0][:300]
        row["differences"] = [[d.kind, d.name, d.eager, d.graph] for d in v.differences[:20]]
        row["unsupported"] = v.unsupported
    return row


def run(name: str, timeout: float) -> Dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=ROOT)
    start = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", name], capture_output=True,
                           text=True, env=env, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"name": name, "status": "timeout", "why": f"over {timeout:.0f} s"}
    if p.returncode < 0:
        return {"name": name, "status": "signal", "why": f"ended by signal {-p.returncode}",
                "seconds": round(time.perf_counter() - start, 1)}
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"name": name, "status": "fails", "why": (p.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(lines[-1])


def markdown(rows: List[Dict[str, Any]]) -> str:
    counts: Dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    head = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    out = [f"{len(rows)} models: {head}.", "", "| model | status | MACs | params | why / config |", "|---|---|---:|---:|---|"]
    for r in rows:
        why = r.get("why", "") or (f"config {json.dumps(r['config'])}" if r.get("config") else "")
        out.append(f"| {r['name']} | {r['status']} | {r.get('macs', ''):,} | {r.get('params', ''):,} | "
                   f"{why.replace('|', '/')} |" if "macs" in r else
                   f"| {r['name']} | {r['status']} | | | {why.replace('|', '/')} |")
    return "\n".join(out) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help="timm:<name> / hf:<type>")
    p.add_argument("--hf", action="store_true", help="every transformers model type")
    p.add_argument("--timm", action="store_true", help="every timm model name")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per model")
    p.add_argument("--json", default=None)
    p.add_argument("--markdown", default=None)
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    rows = []
    for name in names(args):
        row = run(name, args.timeout)
        rows.append(row)
        print(f"{row['name']:<45} {row['status']:<8} {row.get('why', '')}", flush=True)
        if args.json:  # after every row: a sweep cut short keeps what it measured
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(markdown(rows))


if __name__ == "__main__":
    main()
