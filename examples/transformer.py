"""A transformer counted three ways: default eager (module hooks), eager with
count_functional (attention, LayerNorm and residual adds too), and graph mode; the last two agree."""
import flowvision.models as models

import flowflops

model = models.vit_tiny_patch16_224()
shape = (1, 3, 224, 224)
for label, kwargs in (
    ("eager", {}),
    ("eager + count_functional", {"backend_specific_config": {"count_functional": True}}),
    ("graph", {"mode": "graph"}),
):
    r = flowflops.profile(model, shape, **kwargs)
    print(f"{label:<26} {flowflops.flops_to_string(r.macs):>12}  unsupported: {r.unsupported or '-'}")

print(flowflops.profile(model, shape, mode="graph").operator_table())
