"""Graph mode against the bare ``build_graph`` of the same model, per model of the article's
table, each measurement in a fresh process, alternated A B A B. Writes a Markdown table to
stdout (and to ``benchmarks/RESULTS.md`` with ``--write``).

    .venv/bin/python benchmarks/graph_vs_build.py [--repeats 3] [--models a,b] [--write]
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

MODELS = ["alexnet", "vgg11", "vgg11_bn", "squeezenet1_0", "squeezenet1_1", "resnet18", "resnet50",
          "resnext50_32x4d", "shufflenet_v2_x0_5", "regnet_x_16gf", "efficientnet_b0", "densenet121"]

CHILD = r"""
import json, sys, time
import oneflow as flow, flowvision.models as zoo
name, kind = sys.argv[1], sys.argv[2]
side = 227 if name == "alexnet" else 224
model = getattr(zoo, name)().eval()
x = flow.ones(1, 3, side, side)
if kind == "flowflops":
    import flowflops
    t = time.perf_counter()
    r = flowflops.profile(model, (1, 3, side, side), mode="graph")
    dt = time.perf_counter() - t
    macs = r.macs
else:
    class G(flow.nn.Graph):
        def __init__(self, m):
            super().__init__()
            self.model = m
        def build(self, x):
            return self.model(x)
    t = time.perf_counter()
    G(model).build_graph(x)
    dt = time.perf_counter() - t
    macs = None
print(json.dumps({"seconds": dt, "macs": macs}))
"""


def measure(name: str, kind: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, name, kind], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    rows = []
    for name in args.models.split(","):
        times = {"flowflops": [], "build_graph": []}
        for _ in range(args.repeats):
            for kind in ("flowflops", "build_graph"):
                times[kind].append(measure(name, kind)["seconds"])
        a, b = statistics.median(times["flowflops"]), statistics.median(times["build_graph"])
        rows.append(f"| {name} | {a:.3f} | {b:.3f} | {a / b:.2f} |")
        print(rows[-1], file=sys.stderr, flush=True)
    import oneflow

    head = [
        f"## Graph mode vs bare build_graph ({datetime.date.today()}, {platform.machine()}, "
        f"{platform.processor() or 'cpu'}, {__import__('os').cpu_count()} cores, oneflow {oneflow.__version__}, "
        f"median of {args.repeats}, each run a fresh process)",
        "",
        "| model | flowflops graph (s) | build_graph (s) | ratio |",
        "|---|---:|---:|---:|",
    ]
    text = "\n".join(head + rows) + "\n"
    print(text)
    if args.write:
        Path(__file__).with_name("RESULTS.md").write_text(text)


if __name__ == "__main__":
    main()
