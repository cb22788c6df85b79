"""What the PyTorch counters report for torchvision's twins of flowvision models and for small
hand-built layers: ptflops 0.7.5 (pytorch and aten backends), fvcore 0.1.5, thop 0.1.1 and
torch's FlopCounterMode. The results, with versions, date and machine load, go to
benchmarks/peers.json, which tests/test_peer_numbers.py compares flowflops' named conventions
with. Runs in a separate PyTorch environment, never the project's:

    python3.11 -m venv /work/peers-venv
    /work/peers-venv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/peers-venv/bin/pip install ptflops==0.7.5 fvcore==0.1.5.post20221221 thop==0.1.1.post2209072238
    /work/peers-venv/bin/python benchmarks/other_counters.py [--models a,b] [--out FILE]
"""
import argparse
import datetime
import importlib.metadata as md
import json
import os
import sys
import warnings

import torch
import torch.nn as nn
import torchvision

ZOO = ("alexnet", "vgg11", "vgg11_bn", "squeezenet1_0", "squeezenet1_1", "resnet18", "resnet50",
       "resnext50_32x4d", "shufflenet_v2_x0_5", "regnet_x_16gf", "efficientnet_b0", "densenet121",
       "mobilenet_v2", "mobilenet_v3_large", "vit_b_16", "swin_t")


def ptflops_count(model, shape, backend):
    from ptflops import get_model_complexity_info

    macs, _ = get_model_complexity_info(model, tuple(shape[1:]), as_strings=False, print_per_layer_stat=False,
                                        backend=backend, verbose=False,
                                        input_constructor=lambda res: torch.randn(*shape))
    return macs


def fvcore_count(model, shape):
    from fvcore.nn import FlopCountAnalysis

    a = FlopCountAnalysis(model, torch.randn(*shape))
    a.unsupported_ops_warnings(False)
    a.uncalled_modules_warnings(False)
    return a.total()


def thop_count(model, shape):
    from thop import profile

    ops, _ = profile(model, inputs=(torch.randn(*shape),), verbose=False)
    return ops


def torch_count(model, shape):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        model(torch.randn(*shape))
    return fc.get_total_flops()


PEERS = {
    "ptflops": lambda m, s: ptflops_count(m, s, "pytorch"),
    "ptflops-aten": lambda m, s: ptflops_count(m, s, "aten"),
    "fvcore": fvcore_count,
    "thop": thop_count,
    "torch": torch_count,
}


def measure(model, shape):
    model.eval()
    row = {}
    for name, fn in PEERS.items():
        try:
            v = fn(model, shape)
            row[name] = int(v) if v is not None and float(v) == int(v) else v
        except Exception as e:  # noqa: BLE001
            row[name] = f"{type(e).__name__}: {e}"[:160]
    return row


# -- the hand-built layers of tests/test_conventions.py, in PyTorch -----------------------------

class MatMul(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.how = how

    def forward(self, x):
        y = torch.ones(2, 4, 5)
        return torch.matmul(x, y) if self.how == "function" else x @ y


class Adds(nn.Module):
    def forward(self, x):
        return torch.add(x, x) + x


class Attention(nn.Module):
    def __init__(self, dim=8, heads=2):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


def layers():
    torch.manual_seed(0)
    return {
        "conv_bias": (nn.Conv2d(3, 8, 3, padding=1, bias=True), (1, 3, 8, 8)),
        "conv_grouped_nobias": (nn.Conv2d(4, 8, 3, padding=1, groups=2, bias=False), (1, 4, 8, 8)),
        "batchnorm": (nn.BatchNorm2d(8), (1, 8, 8, 8)),
        "batchnorm_noaffine": (nn.BatchNorm2d(8, affine=False), (1, 8, 8, 8)),
        "relu": (nn.ReLU(), (1, 8, 8, 8)),
        "relu6": (nn.ReLU6(), (1, 8, 8, 8)),
        "maxpool": (nn.MaxPool2d(2), (1, 8, 8, 8)),
        "avgpool": (nn.AvgPool2d(2), (1, 8, 8, 8)),
        "adaptive_avgpool": (nn.AdaptiveAvgPool2d(1), (1, 8, 8, 8)),
        "linear_3d": (nn.Linear(16, 4), (1, 10, 16)),
        "matmul_function": (MatMul("function"), (2, 3, 4)),
        "matmul_operator": (MatMul("operator"), (2, 3, 4)),
        "adds": (Adds(), (2, 3)),
        "softmax": (nn.Softmax(dim=-1), (1, 10, 16)),
        "layernorm": (nn.LayerNorm(16), (1, 10, 16)),
        "layernorm_noaffine": (nn.LayerNorm(16, elementwise_affine=False), (1, 10, 16)),
        "attention": (Attention(), (1, 4, 8)),
        "lstm_2layers": (nn.LSTM(8, 16, num_layers=2, batch_first=True), (1, 5, 8)),
        "gru_bidirectional": (nn.GRU(8, 16, bidirectional=True, batch_first=True), (1, 5, 8)),
        "rnn": (nn.RNN(8, 16, batch_first=True), (1, 5, 8)),
        "upsample_nearest": (nn.Upsample(scale_factor=2, mode="nearest"), (1, 4, 6, 6)),
        "upsample_bilinear": (nn.Upsample(scale_factor=2, mode="bilinear"), (1, 4, 6, 6)),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(ZOO))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "peers.json"))
    ap.add_argument("--no-layers", action="store_true")
    ap.add_argument("--layers-only", action="store_true", help="remeasure the layers, keep the models of --out")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    out = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": os.getloadavg()[0],
        "versions": {p: md.version(p) for p in ("torch", "torchvision", "ptflops", "fvcore", "thop")},
        "python": sys.version.split()[0],
        "units": "ptflops, ptflops-aten, fvcore, thop: the tool's own number (MACs; fvcore's "
                 "'flops' count one fused multiply-add as 1); torch: FlopCounterMode.get_total_flops() "
                 "(2 per multiply-add). Random weights, eval mode, batch 1.",
        "models": {}, "layers": {},
    }
    if args.layers_only:
        with open(args.out) as f:
            kept = json.load(f)
        out["models"], out["models_date"] = kept["models"], kept.get("models_date", kept["date"])
        args.models = ""
    if not args.no_layers:
        for name, (m, shape) in layers().items():
            out["layers"][name] = {"input": list(shape), **measure(m, shape)}
            print(name, out["layers"][name], flush=True)
    for name in [n for n in args.models.split(",") if n]:
        shape = (1, 3, 227, 227) if name == "alexnet" else (1, 3, 224, 224)
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)()
        out["models"][name] = {"input": list(shape), "params": sum(p.numel() for p in model.parameters()),
                               **measure(model, shape)}
        print(name, out["models"][name], flush=True)
    out["load_after"] = os.getloadavg()[0]
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
