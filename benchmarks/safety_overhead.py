"""Eager-mode overhead of a count over a plain forward, in one process (issue 14's check that
the safety machinery costs no time): for each model, after one warm-up of each, ``--repeats``
rounds alternate a plain synced forward (eval, ``no_grad``, output read with ``.numpy()``) and
``flowflops.profile(model, shape)`` followed by ``Sync()``; medians of wall seconds.

    PYTHONPATH=. .venv/bin/python benchmarks/safety_overhead.py [--models a,b] [--repeats 7] [--side 224]

``--side 32 --min``: the fixed cost of a count (min of the rounds, on an input small enough that
the forward does not hide it), printed as count minus plain forward in ms.

Run it with ``PYTHONPATH`` pointing at another checkout's ``flowflops`` to compare versions.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import flowvision.models as zoo
import oneflow as flow

import flowflops

MODELS = ("resnet18", "mobilenet_v3_large", "vit_tiny_patch16_224")


def _plain(model: flow.nn.Module, x: flow.Tensor) -> None:
    was = model.training
    model.eval()
    with flow.no_grad():
        model(x).numpy()
    model.train(was)


def _count(model: flow.nn.Module, shape: tuple) -> None:
    flowflops.profile(model, shape)
    flow._oneflow_internal.eager.Sync()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--side", type=int, default=224, help="input side (vit needs 224)")
    ap.add_argument("--min", action="store_true", help="min instead of median; print the difference")
    args = ap.parse_args()
    print(f"flowflops from {os.path.dirname(flowflops.__file__)}; load {os.getloadavg()}")
    for name in args.models.split(","):
        model = getattr(zoo, name)()
        side = 224 if name.startswith("vit") else args.side
        shape = (1, 3, side, side)
        x = flow.ones(*shape)
        flow._oneflow_internal.eager.Sync()
        _plain(model, x)
        _count(model, shape)
        plain, ours = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            _plain(model, x)
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            _count(model, shape)
            ours.append(time.perf_counter() - t)
        pick = min if args.min else statistics.median
        p, o = pick(plain), pick(ours)
        extra = f" {1e3 * (o - p):+.1f} ms |" if args.min else ""
        print(f"| {name} | {o:.3f} | {p:.3f} | {o / p:.2f} |{extra}")
    print(f"load at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
