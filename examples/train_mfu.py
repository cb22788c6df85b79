"""Train a small classifier on synthetic data on the CPU and print its MFU every N steps.

    python examples/train_mfu.py [--steps 300] [--every 50] [--batch 64]
    python -m oneflow.distributed.launch --nproc_per_node 2 examples/train_mfu.py --steps 100

flowflops counts one training step (forward, backward, SGD update) of the compiled training
graph once, before the loop; the meter joins that count with the measured time of each step.
The peak is this CPU's, measured at the start (a float32 matmul micro-benchmark), so MFU here
is "share of what a large matmul reaches on this machine". Under ``oneflow.distributed.launch``
each rank trains a data-parallel replica (``DistributedDataParallel``) and prints its own
figures; the count is of one replica's step.
"""
import argparse

import oneflow as flow
import oneflow.nn as nn
import oneflow.nn.functional as F

import flowflops


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--every", type=int, default=50)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=512)
    a = p.parse_args()

    flow.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, a.width), nn.ReLU(), nn.Linear(a.width, a.width), nn.ReLU(),
                          nn.Linear(a.width, 10))
    opt = flow.optim.SGD(model.parameters(), lr=0.05)
    # count one training step of this model and optimizer at this batch (compiled, not run)
    meter = flowflops.MFUMeter(model, (a.batch, 256), optimizer=opt, device="cpu", warmup=5)
    train_model = model
    if flow.env.get_world_size() > 1:
        train_model = nn.parallel.DistributedDataParallel(model)

    w_true = flow.randn(256, 10)
    for step in range(1, a.steps + 1):
        x = flow.randn(a.batch, 256)
        y = (x @ w_true).argmax(dim=1)
        with meter.phase("forward"):
            loss = F.cross_entropy(train_model(x), y)
        with meter.phase("backward"):
            loss.backward()
        with meter.phase("optimizer"):
            opt.step()
            opt.zero_grad()
        meter.step(batch_size=a.batch)
        if step % a.every == 0:
            print(f"step {step}: loss {loss.item():.3f}")
            print(meter.summary(), flush=True)


if __name__ == "__main__":
    main()
