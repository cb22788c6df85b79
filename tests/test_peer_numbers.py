"""Each convention against the peer tool it names, on the torchvision twins of flowvision models.

Expected numbers: measured by running the peer tools on the torchvision model of the same name
(benchmarks/other_counters.py -> benchmarks/peers.json: ptflops 0.7.5, fvcore
0.1.5.post20221221, thop 0.1.1.post2209072238, torch 2.14.1 / torchvision 0.29.1, measured
2026-12-01, batch 1, 224x224, alexnet 227). torch's FlopCounterMode total is halved (the
``torch`` convention's MACs). Where the twins are written differently, the difference is
derived by hand in ``EXPLAINED`` from the layers that differ; every other cell is exact.
One eager count per model (functional calls priced: every peer but flowflops sees them, or its
rules skip them) gives all five numbers through ``Report.by_convention``.
"""
import json
import os

import flowvision.models as fv
import pytest

from flowflops import profile

PEERS = ("ptflops", "ptflops-aten", "fvcore", "thop", "torch")
with open(os.path.join(os.path.dirname(__file__), "..", "benchmarks", "peers.json")) as f:
    MEASURED = json.load(f)["models"]

#: torchvision name -> flowvision name
TWINS = {
    "alexnet": "alexnet", "vgg11": "vgg11", "vgg11_bn": "vgg11_bn", "squeezenet1_0": "squeezenet1_0",
    "squeezenet1_1": "squeezenet1_1", "resnet18": "resnet18", "resnet50": "resnet50",
    "resnext50_32x4d": "resnext50_32x4d", "shufflenet_v2_x0_5": "shufflenet_v2_x0_5",
    "efficientnet_b0": "efficientnet_b0", "densenet121": "densenet121", "mobilenet_v2": "mobilenet_v2",
    "mobilenet_v3_large": "mobilenet_v3_large", "vit_b_16": "vit_base_patch16_224",
    "swin_t": "swin_tiny_patch4_window7_224", "regnet_x_16gf": "regnet_x_16gf",
}

# ViT-B/16: 12 blocks, 12 heads of 64, 197 tokens, width 768; flowvision writes attention as
# q @ k^T, softmax, @ v (operators) between nn.Linear qkv (768 -> 2304) and proj; torchvision
# uses nn.MultiheadAttention, which on the CPU runs scaled_dot_product_attention.
_VIT_SCORES = 12 * 12 * 2 * 197 * 197 * 64          # q @ k^T and attn @ v: 715,327,488
_VIT_MHA_HOOK = 12 * (197 * 768 + 12 * (2 * 197 * 197 * 64 + 197 * 197))  # 722,731,536
_VIT_QKV_PROJ = 12 * 197 * 768 * (2304 + 768)       # 5,577,375,744

# Swin-T: (blocks, tokens, width C, heads) per stage, windows of 49 tokens. flowvision's window
# attention has nn.Linear qkv (C -> 3C) and proj (C -> C) and an nn.Softmax module; torchvision
# calls F.linear and F.softmax on the module's weights (shifted_window_attention).
_SWIN = ((2, 3136, 96, 3), (2, 784, 192, 6), (6, 196, 384, 12), (2, 49, 768, 24))
_SWIN_LINEAR = sum(b * t * 4 * c * c for b, t, c, _ in _SWIN)        # 1,387,266,048
_SWIN_LINEAR_BIAS = sum(b * t * 4 * c for b, t, c, _ in _SWIN)       # 5,720,064
_SWIN_SOFTMAX = sum(b * t * h for b, t, _, h in _SWIN) * (3 * 49 - 1)  # 44,688 rows: 6,524,448

# RegNetX-16GF: flowvision's stem conv (3 -> 32, 3x3, stride 2) has padding 0, torchvision's 1:
# a 111x111 output instead of 112x112 (223 positions fewer), and so is the first block's 1x1
# conv f.a (32 -> 256) that runs on it; both are followed by BN and ReLU. Same parameters.
_REG_ELEMS = (32 + 256) * (112 * 112 - 111 * 111)                    # 64,224 outputs
_REG_CONV = 223 * (32 * 27 + 256 * 32)                               # 2,019,488 multiply-adds

#: (torchvision name, convention) -> flowflops' number minus the peer's, from the layers that differ
EXPLAINED = {
    # flowvision's head is nn.AdaptiveAvgPool2d (ptflops: hook + patched F.adaptive_avg_pool2d
    # it calls, 2 x 1280*7*7; thop: (49 + 1) x 1280); torchvision calls
    # F.adaptive_avg_pool2d directly (ptflops: once; thop: unseen).
    ("mobilenet_v2", "ptflops"): 1280 * 7 * 7,
    ("mobilenet_v2", "thop"): (49 + 1) * 1280,
    # the attention scores: counted in flowvision's explicit matmuls, not in torchvision's SDPA
    # (fvcore, aten and FlopCounterMode have no formula for the CPU SDPA op)
    ("vit_b_16", "fvcore"): _VIT_SCORES,
    ("vit_b_16", "ptflops-aten"): _VIT_SCORES,
    ("vit_b_16", "torch"): _VIT_SCORES,
    # ptflops' MultiheadAttention hook adds q scaling, QK^T, softmax and AV per layer
    # (pytorch_ops.py:214-237); flowvision's @ operators and Tensor.softmax are not patched
    ("vit_b_16", "ptflops"): -_VIT_MHA_HOOK,
    # thop hooks flowvision's qkv and proj nn.Linear; torchvision's MultiheadAttention is not
    # hooked, nor its out_proj (NonDynamicallyQuantizableLinear, not exactly nn.Linear)
    ("vit_b_16", "thop"): _VIT_QKV_PROJ,
    # ptflops does not patch F.linear: torchvision's qkv/proj are unseen, flowvision's nn.Linear
    # counted with bias; both count the matmuls (torch.matmul / Tensor.matmul) and F.softmax
    ("swin_t", "ptflops"): _SWIN_LINEAR + _SWIN_LINEAR_BIAS,
    # thop sees neither F.linear nor F.softmax: flowvision's nn.Linear (no bias) and
    # nn.Softmax (count_softmax: 3 x 49 - 1 per row) are the difference
    ("swin_t", "thop"): _SWIN_LINEAR + _SWIN_SOFTMAX,
    # flowvision pools the head with nn.AdaptiveAvgPool1d, for which fvcore has no handle
    # (only aten::adaptive_avg_pool2d, flop_count.py:42); torchvision's 2-d pool: 768*7*7
    ("swin_t", "fvcore"): -768 * 7 * 7,
    # the stem padding: convs in every convention; BN 2 per element (fvcore, ptflops) or 4
    # (thop); ReLU twice in ptflops (hook + F.relu), never in the others
    ("regnet_x_16gf", "torch"): -_REG_CONV,
    ("regnet_x_16gf", "ptflops-aten"): -_REG_CONV,
    ("regnet_x_16gf", "fvcore"): -(_REG_CONV + 2 * _REG_ELEMS),
    ("regnet_x_16gf", "ptflops"): -(_REG_CONV + 2 * _REG_ELEMS + 2 * _REG_ELEMS),
    ("regnet_x_16gf", "thop"): -(_REG_CONV + 4 * _REG_ELEMS),
}


def peer_number(tv: str, convention: str) -> int:
    n = MEASURED[tv][convention]
    return n // 2 if convention == "torch" else n


def check_twin(tv: str) -> None:
    shape = tuple(MEASURED[tv]["input"])
    report = profile(getattr(fv, TWINS[tv])(), shape, backend_specific_config={"count_functional": True})
    assert report.params == MEASURED[tv]["params"]
    got = {c: cost.macs for c, cost in report.by_convention(PEERS).items()}
    want = {c: peer_number(tv, c) + EXPLAINED.get((tv, c), 0) for c in PEERS}
    assert got == want


def test_resnet18_every_peer_exactly():
    check_twin("resnet18")


@pytest.mark.slow
@pytest.mark.parametrize("tv", [t for t in TWINS if t != "resnet18"])
def test_twin(tv):
    check_twin(tv)


def test_torch_convention_is_the_model_card_number():
    # torchvision's ResNet-50 card says 4.09 GFLOPS: FlopCounterMode 8,178,368,512 / 2
    assert peer_number("resnet50", "torch") == 4_089_184_256


def test_graph_mode_reproduces_the_dispatch_level_peers():
    # fvcore, FlopCounterMode and thop see the same ops in a compiled graph (every op there
    # comes from a module or costs them nothing); the graph's residual add_n is skipped by all
    report = profile(fv.resnet18(), (1, 3, 224, 224), mode="graph")
    got = {c: cost.macs for c, cost in report.by_convention(("fvcore", "torch", "thop")).items()}
    assert got == {c: peer_number("resnet18", c) for c in ("fvcore", "torch", "thop")}
