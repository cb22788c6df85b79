"""What ptflops and fvcore (PyTorch counters) report for torchvision's ResNet-50 and ViT-B/16,
for the README's comparison table. Runs in a separate PyTorch environment, never the project's:

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch torchvision ptflops fvcore
    /tmp/torchenv/bin/python benchmarks/other_counters.py
"""
import json

import torch
import torchvision


def ptflops_count(model, shape, backend):
    from ptflops import get_model_complexity_info

    macs, params = get_model_complexity_info(model, tuple(shape[1:]), as_strings=False, print_per_layer_stat=False,
                                             backend=backend, verbose=False)
    return macs, params


def fvcore_count(model, shape):
    from fvcore.nn import FlopCountAnalysis

    a = FlopCountAnalysis(model, torch.ones(*shape))
    a.unsupported_ops_warnings(False)
    a.uncalled_modules_warnings(False)
    return a.total(), dict(a.unsupported_ops())


def main():
    out = {}
    for name in ("resnet50", "vit_b_16"):
        model = getattr(torchvision.models, name)().eval()
        row = {}
        for backend in ("pytorch", "aten"):
            try:
                row[f"ptflops_{backend}"] = ptflops_count(model, (1, 3, 224, 224), backend)[0]
            except Exception as e:  # noqa: BLE001
                row[f"ptflops_{backend}"] = f"{type(e).__name__}: {e}"[:120]
        for batch in (1, 2):
            total, unsupported = fvcore_count(model, (batch, 3, 224, 224))
            row[f"fvcore_batch{batch}"] = total
            row["fvcore_unsupported"] = unsupported
        row["params"] = sum(p.numel() for p in model.parameters())
        out[name] = row
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
