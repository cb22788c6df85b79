"""Eager-mode overhead of a count over a plain forward, in one process (issue 14's check that
the safety machinery costs no time): for each model, after one warm-up of each, ``--repeats``
rounds alternate a plain synced forward (eval, ``no_grad``, output read with ``.numpy()``) and
``flowflops.profile(model, shape)`` followed by ``Sync()``; medians of wall seconds.

    PYTHONPATH=. .venv/bin/python benchmarks/safety_overhead.py [--models a,b] [--repeats 7]

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
    args = ap.parse_args()
    print(f"flowflops from {os.path.dirname(flowflops.__file__)}; load {os.getloadavg()}")
    for name in args.models.split(","):
        model = getattr(zoo, name)()
        shape = (1, 3, 224, 224)
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
        p, o = statistics.median(plain), statistics.median(ours)
        print(f"| {name} | {o:.3f} | {p:.3f} | {o / p:.2f} |")
    print(f"load at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
