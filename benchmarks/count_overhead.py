"""What a count costs beyond the work it cannot avoid, measured as CPU time of this process
(``time.process_time``, which a loaded machine disturbs far less than the wall clock), with
the two sides alternated in one process and summarised by their median and minimum:

- ``depth``: a graph count of the reference decoder (width 256, 4 heads, SwiGLU 1024, 128
  tokens) at 48 layers against 2 layers (issue 30's target: at most 2x);
- ``bare``: a graph count against OneFlow's own ``build_graph`` of the same model in a bare
  ``nn.Graph`` (vit_tiny, swin_tiny, the decoder at 1 layer, densenet121; target at most 1.05
  where nothing repeats). Each row names how many module calls the count copied instead of
  tracing (``repeats="once"``): none in the decoder at 1 layer and densenet121 (every dense
  layer has its own input width), so those two carry all the count's own work and none of
  its savings;
- ``eager``: an eager count against a plain forward followed by ``Sync()`` (resnet50,
  densenet121, swin_tiny, mobilenet_v3_large; target median at most 1.05, none over 1.15).

    .venv/bin/python benchmarks/count_overhead.py [--rounds 7] [--only depth,bare,eager]

Writes the ``count_overhead`` section of RESULTS.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


WALL: Dict[str, List[float]] = {}  # the wall-clock seconds of the last alternate() call, per side
THREAD: Dict[str, List[float]] = {}  # the calling thread's CPU seconds of the last alternate() call, per side


def settle() -> None:
    """Make the C allocator finish with what the side just run has freed, inside that side's
    time. glibc's ``free`` leaves small chunks in its fast bins and merges them at the next
    request of over 1 KiB (``malloc_consolidate``): after a bare ``build_graph`` of swin_tiny
    that merge cost 15-24 ms of CPU, and it fell in the *next* side's time (the count's first
    such request, ``signal.valid_signals()`` when it installs its signal handler). One request
    of 4 KiB here makes each side pay for its own frees."""
    bytearray(4096)


def alternate(sides: Dict[str, Callable[[], Any]], rounds: int) -> Dict[str, List[float]]:
    times: Dict[str, List[float]] = {k: [] for k in sides}
    WALL.clear()
    WALL.update({k: [] for k in sides})
    THREAD.clear()
    THREAD.update({k: [] for k in sides})
    for f in sides.values():  # warm-up
        f()
    for _ in range(rounds):
        for k, f in sides.items():
            t, w, th = time.process_time(), time.perf_counter(), time.thread_time()
            f()
            settle()
            times[k].append(time.process_time() - t)
            WALL[k].append(time.perf_counter() - w)
            THREAD[k].append(time.thread_time() - th)
    return times


def split(times: Dict[str, List[float]], side: str) -> Tuple[float, float]:
    """``side``'s median CPU milliseconds in the calling thread and in the process's other
    threads (OneFlow's), from the last :func:`alternate` call (``times``: its result)."""
    ms = [1e3 * t for t in THREAD[side]]
    rest = [1e3 * (p - t) for p, t in zip(times[side], THREAD[side])]
    return statistics.median(ms), statistics.median(rest)


def ratio(times: Dict[str, List[float]], num: str, den: str) -> Tuple[float, float]:
    return (statistics.median(times[num]) / statistics.median(times[den]), min(times[num]) / min(times[den]))


def depth(rounds: int) -> List[Dict[str, Any]]:
    import oneflow as flow

    import flowflops
    from flowflops.models import Decoder, DecoderConfig

    idx = flow.zeros(1, 128, dtype=flow.int64)
    ms = {n: Decoder(DecoderConfig(vocab=256, layers=n, hidden=256, heads=4, ffn=1024)).eval() for n in (2, 48)}
    sides = {f"L={n}": (lambda m=m: flowflops.profile(m, None, mode="graph", input_constructor=lambda _: {"idx": idx}))
             for n, m in ms.items()}
    t = alternate(sides, rounds)
    med, low = ratio(t, "L=48", "L=2")
    return [dict(what="decoder graph count, 48 vs 2 layers", a=statistics.median(t["L=48"]),
                 b=statistics.median(t["L=2"]), median_ratio=med, min_ratio=low)]


def copied_calls(count: Callable[[], Any]) -> int:
    """How many module calls one run of ``count`` copied instead of tracing."""
    from flowflops.graph import repeats

    seen: List[int] = []
    original = repeats.Repeats.expand

    def expand(self: Any, records: Any, root: str) -> Any:
        out = original(self, records, root)  # the records of this compile were used (no Relend)
        seen.append(sum(1 for c in self.calls.values() if c.copy_of is not None))
        return out

    repeats.Repeats.expand = expand
    try:
        count()
    finally:
        repeats.Repeats.expand = original
    return seen[-1] if seen else 0


def bare(rounds: int) -> List[Dict[str, Any]]:
    import flowvision.models as fm
    import oneflow as flow

    import flowflops
    from flowflops.models import Decoder, DecoderConfig

    class Bare(flow.nn.Graph):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def build(self, *a: Any, **k: Any) -> Any:
            return self.m(*a, **k)

    img = flow.zeros(1, 3, 224, 224)
    idx = flow.zeros(1, 128, dtype=flow.int64)
    models = [("vit_tiny_patch16_224", fm.vit_tiny_patch16_224().eval(), (img,), {}),
              ("swin_tiny_patch4_window7_224", fm.swin_tiny_patch4_window7_224().eval(), (img,), {}),
              ("decoder L=1", Decoder(DecoderConfig(vocab=256, layers=1, hidden=256, heads=4, ffn=1024)).eval(),
               (), {"idx": idx}),
              ("densenet121", fm.densenet121().eval(), (img,), {})]
    rows = []
    for name, m, a, k in models:
        def make(_: Any, a: Any = a, k: Any = k) -> Any:
            return dict(k) if k else a[0]

        sides = {"count": lambda m=m, make=make: flowflops.profile(m, None, mode="graph", input_constructor=make),
                 "build_graph": lambda m=m, a=a, k=k: Bare(m).build_graph(*a, **k)}
        copied = copied_calls(sides["count"])
        t = alternate(sides, rounds)
        med, low = ratio(t, "count", "build_graph")
        rows.append(dict(what=f"{name} ({copied} calls copied): graph count / bare build_graph",
                         a=statistics.median(t["count"]),
                         b=statistics.median(t["build_graph"]), median_ratio=med, min_ratio=low))
    return rows


def eager(rounds: int) -> List[Dict[str, Any]]:
    import flowvision.models as fm
    import oneflow as flow

    import flowflops

    sync = flow._oneflow_internal.eager.Sync
    x = flow.zeros(1, 3, 224, 224)
    rows = []
    for name in ("resnet50", "densenet121", "swin_tiny_patch4_window7_224", "mobilenet_v3_large"):
        m = getattr(fm, name)().eval()

        def plain(m: Any = m) -> None:
            with flow.no_grad():
                m(x)
            sync()

        def count(m: Any = m) -> None:
            flowflops.profile(m, None, mode="eager", input_constructor=lambda _: x)
            sync()

        t = alternate({"count": count, "forward": plain}, rounds)
        med, low = ratio(t, "count", "forward")
        rows.append(dict(what=f"{name}: eager count / plain forward", a=statistics.median(t["count"]),
                         b=statistics.median(t["forward"]), median_ratio=med, min_ratio=low,
                         wall=ratio(WALL, "count", "forward"), threads=split(t, "count") + split(t, "forward")))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--only", default="depth,bare,eager")
    args = ap.parse_args()
    from _common import load_average, machine, write_section

    load0 = load_average()
    rows: List[Dict[str, Any]] = []
    for part in args.only.split(","):
        got = {"depth": depth, "bare": bare, "eager": eager}[part](args.rounds)
        for r in got:
            print(f"{r['what']}: {r['a']:.3f} s vs {r['b']:.3f} s, median ratio {r['median_ratio']:.2f}, "
                  f"min ratio {r['min_ratio']:.2f}" + (f"; wall clock: median ratio {r['wall'][0]:.2f}, "
                                                       f"min ratio {r['wall'][1]:.2f}" if "wall" in r else "")
                  + ("; CPU ms, this thread: {:.1f} vs {:.1f}, OneFlow's threads: {:.1f} vs {:.1f}".format(
                      r["threads"][0], r["threads"][2], r["threads"][1], r["threads"][3]) if "threads" in r else ""),
                  flush=True)
        rows += got
    m = machine()
    lines = ["## What a count costs beyond its work (benchmarks/count_overhead.py)", "",
             f"Taken {m['date']} on {m['arch']}, {m['cpu']}, {m['cores']} cores, shared with other work; load "
             f"average at start {load0}, at end {load_average()}. CPU seconds of this process "
             f"(`time.process_time`), the two sides alternated {args.rounds} times in one process after a "
             "warm-up of each; ratios of the medians and of the minima.", "",
             "CPU time counts every thread of the process, OneFlow's workers included; the eager rows' last "
             "column also gives the wall-clock ratios (medians / minima) of the same runs, and the medians of "
             "the CPU milliseconds the two sides spent in the calling thread and in the process's other threads "
             "(OneFlow's: count vs plain forward). On this machine a plain forward's other threads take one of "
             "two levels from round to round (mobilenet_v3_large about 105 or about 210 ms: in the slower rounds a "
             "second OneFlow thread, not the one running the kernels, takes 100-130 ms instead of about 4, and the "
             "forward's wall time is about 2.5 times as long), so a ratio of process medians moves by that much "
             "when the two sides' medians fall on different levels; the calling thread's milliseconds do not.", "",
             "| what | median (s) | against (s) | ratio of medians | ratio of minima | eager: wall clock |",
             "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r['what']} | {r['a']:.3f} | {r['b']:.3f} | {r['median_ratio']:.2f} | {r['min_ratio']:.2f} |"
              + (f" wall clock: {r['wall'][0]:.2f} / {r['wall'][1]:.2f}; this thread {r['threads'][0]:.1f} vs "
                 f"{r['threads'][2]:.1f} ms, other threads {r['threads'][1]:.1f} vs {r['threads'][3]:.1f} ms |"
                 if "wall" in r else " |")
              for r in rows]
    write_section("count_overhead", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
