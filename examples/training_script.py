"""Counting inside a training script: the count leaves the model, its hooks, flags and
BatchNorm statistics exactly as they were, so training goes on unchanged."""
import oneflow as flow
import flowvision.models as models

import flowflops

model = models.resnet18(num_classes=10)
opt = flow.optim.SGD(model.parameters(), lr=0.01)
model.train()
report = flowflops.profile(model, (8, 3, 64, 64))  # per batch of 8
print(f"{flowflops.flops_to_string(report.macs)} per batch, {flowflops.params_to_string(report.params)} params")
for step in range(2):
    x, y = flow.randn(8, 3, 64, 64), flow.randint(0, 10, (8,))
    loss = flow.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print("step", step, "loss", float(loss.numpy()))
print("still training:", model.training)
