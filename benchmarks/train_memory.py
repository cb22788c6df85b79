"""Memory of one training step: predicted from the compiled training job against the measured
peak of a real eager step on this CPU.

Predicted (``report.memory()`` of a ``mode="train"`` count with the same optimizer): the step
adds to what is resident before it the optimizer state, and the activation peak (activations,
their gradients and the parameter gradients alive at once in job order); the parameters are
resident already. Measured: in a fresh process, the model, optimizer (SGD, momentum 0.9),
input and labels are built and ``Sync()``-ed; a thread samples ``VmRSS`` every millisecond
while one step (forward, cross-entropy, backward, ``optimizer.step()``) runs, then ``Sync()``;
the step's memory is the sampled peak minus ``VmRSS`` just before it. The first step is
reported (it allocates gradients and momentum buffers) and a second one (the allocator keeps
freed blocks, so it mostly reuses them).

    .venv/bin/python benchmarks/train_memory.py

Writes ``benchmarks/train_memory_raw.json`` and its section of ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, ROOT, child_env, write_section  # noqa: E402

RAW = HERE / "train_memory_raw.json"

CHILD = r"""
import json, sys, threading, time
sys.path.insert(0, ROOT)
import oneflow as flow
import oneflow.nn.functional as F

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return -1

name = sys.argv[1]
if name == "resnet18":
    import flowvision
    model, x = flowvision.models.resnet18(), flow.randn(8, 3, 224, 224)
    y = flow.randint(0, 1000, (8,))
    loss_fn = lambda out: F.cross_entropy(out, y)
else:
    from tests.gpt import GPTBlock
    V, T = 8000, 256
    model, x = GPTBlock(vocab=V, d=512, heads=8, seq=T), flow.randint(0, V, (8, T))
    y = flow.randint(0, V, (8 * T,))
    loss_fn = lambda out: F.cross_entropy(out.reshape(-1, V), y)
opt = flow.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
flow._oneflow_internal.eager.Sync()
out = {}
for step in (1, 2):
    before = rss()
    peak = [before]
    stop = threading.Event()
    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.001)
    th = threading.Thread(target=sample)
    th.start()
    loss = loss_fn(model(x))
    loss.backward()
    opt.step()
    opt.zero_grad()
    flow._oneflow_internal.eager.Sync()
    stop.set(); th.join()
    peak[0] = max(peak[0], rss())
    out[f"step{step}"] = peak[0] - before
print("@@" + json.dumps(out))
"""


def predicted(name: str) -> dict:
    import oneflow as flow
    import oneflow.nn.functional as F

    import flowflops

    sys.path.insert(0, str(ROOT))
    if name == "resnet18":
        import flowvision

        model = flowvision.models.resnet18()
        opt = flow.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        report = flowflops.profile(model, (8, 3, 224, 224), mode="train", optimizer=opt)
    else:
        from tests.gpt import GPTBlock

        V, T = 8000, 256
        model = GPTBlock(vocab=V, d=512, heads=8, seq=T)
        opt = flow.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        report = flowflops.profile(
            model, input_constructor=lambda _: flow.randint(0, V, (8, T)), mode="train", optimizer=opt,
            loss_fn=lambda out, t: F.cross_entropy(out.reshape(-1, V), t), target=flow.randint(0, V, (8 * T,)))
    m = report.memory()
    return {"params": m.params, "gradients": m.gradients, "optimizer": sum(m.optimizer_state.values()),
            "saved": m.saved_activations, "peak": m.activation_peak,
            "step": sum(m.optimizer_state.values()) + m.activation_peak}


def main() -> None:
    uptime = lambda: subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()  # noqa: E731
    data = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "uptime_before": uptime(), "models": {}}
    for name in ("resnet18", "gpt_block"):
        res = subprocess.run([sys.executable, "-c", f"ROOT = {str(ROOT)!r}\n" + CHILD, name],
                             capture_output=True, text=True, env=child_env(), timeout=600)
        line = [ln for ln in res.stdout.splitlines() if ln.startswith("@@")]
        if not line:
            raise SystemExit(f"{name} failed: {res.stderr[-2000:]}")
        data["models"][name] = {"measured": json.loads(line[0][2:]), "predicted": predicted(name)}
        print(name, data["models"][name], flush=True)
    data["uptime_after"] = uptime()
    RAW.write_text(json.dumps(data, indent=2))
    mb = lambda b: f"{b / 1e6:.1f} MB"  # noqa: E731
    lines = ["## Training-step memory: predicted vs measured peak", "",
             f"Run {data['date']}; `uptime` before: `{data['uptime_before']}`; after: `{data['uptime_after']}`.",
             "resnet18: batch 8 at 224x224; GPT block (tests/gpt.py): vocabulary 8000, width 512, 8 heads, "
             "sequence 256, batch 8. SGD with momentum 0.9, float32, eager step on the CPU.", "",
             "| model | parameters | gradients | momentum | saved activations | activation peak "
             "| predicted step (momentum + peak) | measured step 1 | gap | measured step 2 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in data["models"].items():
        p, m = r["predicted"], r["measured"]
        lines.append(f"| {name} | {mb(p['params'])} | {mb(p['gradients'])} | {mb(p['optimizer'])} | {mb(p['saved'])} | "
                     f"{mb(p['peak'])} | {mb(p['step'])} | {mb(m['step1'])} | "
                     f"{(p['step'] - m['step1']) / m['step1']:+.0%} | "
                     f"{mb(m['step2'])} |")
    lines += ["", "Method: see the docstring of `benchmarks/train_memory.py`."]
    write_section("train_memory", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
