"""Each peer counted through its own entry point on the twins of tests/peers/test_twins.py:
ptflops 0.7.5 (pytorch backend with and without count_functional, aten backend), thop's
profile (MACs and its params), fvcore's FlopCountAnalysis.total() and torch's
FlopCounterMode.get_total_flops(). Runs in the peers' own environment, never the project's:

    /work/peers-venv/bin/python benchmarks/peer_twins.py [--models a,b] > numbers.json

The timm models (TIMM) are counted only when named in --models (timm 0.9.16 installed with
``pip install --no-deps timm==0.9.16`` in that environment).

Prints one JSON object: tool versions, date, and per model the integers (eval mode, batch 1).
"""
import argparse
import datetime
import importlib.metadata as md
import json
import os
import sys
import warnings

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "peers"))
from twin_models import small_models  # noqa: E402  (the same code builds the OneFlow twins)

ZOO = {"resnet50": (1, 3, 224, 224), "densenet161": (1, 3, 224, 224), "mobilenet_v2": (1, 3, 224, 224)}
# timm's (flowvision 0.2.1 ported its vit and swin from timm): attention as explicit matmuls,
# as flowvision writes it (TIMM_FUSED_ATTN=0, set before timm is imported: no fused SDPA)
TIMM = {"vit_base_patch16_224": (1, 3, 224, 224), "swin_tiny_patch4_window7_224": (1, 3, 224, 224)}


def count(model, shape):
    from fvcore.nn import FlopCountAnalysis
    from ptflops import get_model_complexity_info
    from thop import profile
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    x = torch.randn(*shape)
    row = {"params": sum(p.numel() for p in model.parameters() if p.requires_grad)}
    for key, backend, cfg in (("ptflops", "pytorch", {}), ("ptflops_nofunc", "pytorch", {"count_functional": False}),
                              ("ptflops_aten", "aten", {})):
        row[key], _ = get_model_complexity_info(model, tuple(shape[1:]), as_strings=False, print_per_layer_stat=False,
                                                backend=backend, backend_specific_config=cfg)
    macs, params = profile(model, inputs=(x,), verbose=False)
    row["thop"], row["thop_params"] = int(macs), int(params)
    a = FlopCountAnalysis(model, x)
    a.unsupported_ops_warnings(False)
    a.uncalled_modules_warnings(False)
    row["fvcore"] = int(a.total())
    with FlopCounterMode(display=False) as fc:
        model(x)
    row["torch"] = int(fc.get_total_flops())
    return row


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    models = {k: v for k, v in small_models(torch).items()}
    for name, shape in ZOO.items():
        models[name] = (getattr(torchvision.models, name)(), shape)
    wanted = [m for m in args.models.split(",") if m] or list(models)
    if any(m in TIMM for m in wanted):
        os.environ["TIMM_FUSED_ATTN"] = "0"
        import timm  # timm 0.9.16 (0.6.12 does not import on Python 3.11)

        for name in TIMM:
            if name in wanted:
                models[name] = (timm.create_model(name), TIMM[name])
    out = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": {k: md.version(k) for k in ("torch", "torchvision", "ptflops", "fvcore", "thop")
                     + (("timm",) if any(m in TIMM for m in wanted) else ())},
        "models": {},
    }
    for name in wanted:
        model, shape = models[name]
        out["models"][name] = {"input": list(shape), **count(model, shape)}
        print(name, out["models"][name], file=sys.stderr)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
