"""Named conventions on hand-built layers: every expected number is worked by hand below from
the peer's published formula (file and line cited in flowflops/formulas/peers/). Each layer was
also run through the peer tools themselves (the same layers in PyTorch, benchmarks/
other_counters.py -> benchmarks/peers.json, "layers"), which gave these same integers
(torch: twice them, its FlopCounterMode counting 2 per multiply-add).

Shapes: ``x`` is (1, 3, 8, 8) unless said; a (1, 8, 8, 8) tensor has 512 elements.
"""
import oneflow as flow
import oneflow.nn as nn
import pytest

from flowflops import get_model_complexity_info, profile
from flowflops.conventions import NAMES
from models import Adds

ALL = ("flowflops", "ptflops", "ptflops-aten", "fvcore", "thop", "torch")


def macs(model, shape, convention):
    return profile(model, shape, convention=convention).macs


def check(model, shape, expected):
    """``expected``: convention -> MACs; each convention counted as a user would (an eager count
    prices functional calls under every peer: they see them, or their rules skip them)."""
    got = {c: macs(model, shape, c) for c in expected}
    assert got == expected
    # the same numbers from one count's by_convention (count_functional on: every peer's view)
    report = profile(model, shape, backend_specific_config={"count_functional": True})
    by = report.by_convention()
    peers = {c: v for c, v in expected.items() if c != "flowflops"}
    assert {c: by[c].macs for c in peers} == peers


def test_known_names_and_bad_name():
    assert NAMES == ALL
    with pytest.raises(ValueError) as err:
        profile(nn.ReLU(), (1, 4), convention="tf")
    msg = str(err.value)
    assert "'tf'" in msg and all(n in msg for n in ALL)
    with pytest.raises(ValueError):
        get_model_complexity_info(nn.ReLU(), (1, 4), convention="PTFLOPS", print_per_layer_stat=False)


def test_conv_with_bias():
    # out (1, 8, 8, 8): 512 positions x 3*3*3 = 13,824 multiply-adds; bias 512.
    # ptflops and ptflops-aten add the bias; fvcore, thop and torch do not.
    m = nn.Conv2d(3, 8, 3, padding=1, bias=True)
    check(m, (1, 3, 8, 8), {"flowflops": 14336, "ptflops": 14336, "ptflops-aten": 14336,
                            "fvcore": 13824, "thop": 13824, "torch": 13824})
    # torch's FlopCounterMode counts 2 per multiply-add: its own total is Cost.flops
    assert profile(m, (1, 3, 8, 8), convention="torch").flops == 27648


def test_conv_without_bias_grouped():
    # groups=2: each output sees 4/2 = 2 input channels x 9 = 18; 512 outputs -> 9,216 everywhere
    m = nn.Conv2d(4, 8, 3, padding=1, groups=2, bias=False)
    check(m, (1, 4, 8, 8), {c: 9216 for c in ALL})


def test_batchnorm():
    # 512 elements: flowflops/ptflops/fvcore 2 per element with affine (1,024); thop's
    # calculate_norm 2 per element, doubled for affine (2,048); aten and torch nothing.
    m = nn.BatchNorm2d(8)
    check(m, (1, 8, 8, 8), {"flowflops": 1024, "ptflops": 1024, "ptflops-aten": 0,
                            "fvcore": 1024, "thop": 2048, "torch": 0})
    m = nn.BatchNorm2d(8, affine=False)
    check(m, (1, 8, 8, 8), {"flowflops": 512, "ptflops": 512, "fvcore": 512, "thop": 1024})


def test_relu_counted_twice_by_ptflops():
    # ptflops: the module hook (512) and the patched F.relu that nn.ReLU calls (512 again);
    # fvcore, thop (zero_ops), aten and torch: nothing.
    check(nn.ReLU(), (1, 8, 8, 8), {"flowflops": 512, "ptflops": 1024, "ptflops-aten": 0,
                                    "fvcore": 0, "thop": 0, "torch": 0})
    # nn.ReLU6 calls F.hardtanh, which ptflops does not patch: once
    check(nn.ReLU6(), (1, 8, 8, 8), {"flowflops": 512, "ptflops": 512, "fvcore": 0, "thop": 0})


def test_pooling():
    # MaxPool2d(2): 512 input elements; ptflops hook + patched F.max_pool2d: 1,024; thop 0
    check(nn.MaxPool2d(2), (1, 8, 8, 8), {"flowflops": 512, "ptflops": 1024, "fvcore": 0, "thop": 0,
                                          "torch": 0})
    # AvgPool2d(2): thop counts output elements, 8*4*4 = 128; fvcore has no avg_pool handle
    check(nn.AvgPool2d(2), (1, 8, 8, 8), {"flowflops": 512, "ptflops": 1024, "fvcore": 0, "thop": 128})
    # AdaptiveAvgPool2d(1): fvcore counts input elements (512); thop (64/1 + 1) x 8 = 520
    check(nn.AdaptiveAvgPool2d(1), (1, 8, 8, 8), {"flowflops": 512, "ptflops": 1024, "fvcore": 512,
                                                  "thop": 520, "torch": 0})


def test_linear_on_nd_input():
    # Linear(16, 4) on (1, 10, 16): 10 rows x 16 x 4 = 640 multiply-adds, bias 10 x 4 = 40.
    # ptflops: (16*4 + 4) x 10 = 680; aten's addmm counts its bias per row: 680;
    # fvcore (aten::linear), thop (in_features x output elements), torch: 640.
    check(nn.Linear(16, 4), (1, 10, 16), {"flowflops": 680, "ptflops": 680, "ptflops-aten": 680,
                                         "fvcore": 640, "thop": 640, "torch": 640})


class MatMul(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.how = how

    def forward(self, x):
        y = flow.ones(2, 4, 5)
        return flow.matmul(x, y) if self.how == "function" else x @ y


def test_matmul_function_and_operator():
    # (2, 3, 4) @ (2, 4, 5): 2*3*5 outputs x 4 = 120 multiply-adds. ptflops patches
    # torch.matmul (prod(input) x other[-1] = 24 x 5 = 120) but not the @ operator; thop never
    # sees functionals.
    check(MatMul("function"), (2, 3, 4), {"ptflops": 120, "ptflops-aten": 120, "fvcore": 120,
                                          "thop": 0, "torch": 120})
    check(MatMul("operator"), (2, 3, 4), {"ptflops": 0, "ptflops-aten": 120, "fvcore": 120,
                                          "thop": 0, "torch": 120})


def test_adds():
    # (2, 3): 6 elements per add. ptflops counts the flow.add call only (6); fvcore, thop,
    # aten and torch count no add. flowflops (count_functional by default off) sees none.
    check(Adds(), (2, 3), {"flowflops": 0, "ptflops": 6, "ptflops-aten": 0, "fvcore": 0,
                           "thop": 0, "torch": 0})


def test_softmax():
    # nn.Softmax calls the patched F.softmax: ptflops counts 10*16 = 160 elements once;
    # fvcore and torch have no softmax formula; thop's count_softmax: 10 rows x (16 exp + 15
    # add + 16 div) = 470.
    check(nn.Softmax(dim=-1), (1, 10, 16), {"ptflops": 160, "fvcore": 0, "torch": 0, "ptflops-aten": 0,
                                            "thop": 470})


def test_layernorm():
    # LayerNorm(16) on (1, 10, 16), 160 elements. ptflops' bn hook: 160 (LayerNorm has no
    # `affine` attribute, so no doubling); fvcore's norm_flop_counter: 5 x 160 = 800 with
    # affine; thop's count_normalization 2 x 160, doubled for elementwise_affine: 640;
    # aten and torch nothing.
    check(nn.LayerNorm(16), (1, 10, 16), {"ptflops": 160, "ptflops-aten": 0, "fvcore": 800,
                                          "thop": 640, "torch": 0})
    check(nn.LayerNorm(16, elementwise_affine=False), (1, 10, 16), {"ptflops": 160, "fvcore": 640,
                                                                   "thop": 320})


class Attention(nn.Module):
    """flowvision's (timm's) attention: qkv Linear, q @ k^T, softmax, @ v, proj Linear."""

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


def test_attention():
    # x (1, 4, 8), 2 heads of 4. qkv: 4 x 8 x 24 = 768 MACs + bias 96; q @ k^T: 2 x 4 x 4 x 4
    # = 128; softmax over (1, 2, 4, 4): 32 elements; attn @ v: 128; proj: 4 x 8 x 8 = 256 +
    # bias 32. torch/fvcore: 768 + 128 + 128 + 256 = 1,280 (no bias, no softmax); aten adds
    # the two biases (addmm): 1,408; ptflops: both Linears with bias (864 + 288 = 1,152), the
    # @ operators not (unpatched), Tensor.softmax not (only F.softmax is patched): 1,152;
    # thop: the Linears without bias, 768 + 256 = 1,024.
    check(Attention(), (1, 4, 8), {"ptflops": 1152, "ptflops-aten": 1408, "fvcore": 1280,
                                   "thop": 1024, "torch": 1280})


def test_report_carries_the_convention():
    r = profile(nn.Conv2d(3, 8, 3, padding=1), (1, 3, 8, 8), convention="fvcore")
    assert r.convention == "fvcore"
    data = r.to_dict()
    assert data["convention"] == "fvcore"
    back = type(r).from_json(r.to_json())
    assert back.convention == "fvcore" and back.macs == 13824
    assert "fvcore convention" in r.to_markdown() and "fvcore convention" in r.to_latex()
    assert r.with_convention("ptflops").macs == 14336 and r.macs == 13824  # r is unchanged


def test_convention_diff_names_the_ops():
    # Conv(bias) + BN + ReLU on (1, 3, 8, 8): flowflops 14,336 + 1,024 + 512; fvcore drops the
    # conv bias (512: bias_add) and the ReLU (512)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
    r = profile(m, (1, 3, 8, 8))
    diff = r.convention_diff("flowflops", "fvcore")
    assert {op: (a.macs, b.macs) for op, (a, b) in diff.items()} == {"bias_add": (512, 0), "relu": (512, 0)}
    assert "fvcore" in r.convention_table()


def test_get_model_complexity_info_and_cli(capsys):
    from flowflops.cli.command import run

    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
    # conv 13,824 + bias 512 + ReLU 512 (flowflops); fvcore: the conv's 13,824 only
    assert get_model_complexity_info(m, (1, 3, 8, 8), as_strings=False, print_per_layer_stat=False,
                                     convention="fvcore") == (13824, 224)
    assert get_model_complexity_info(m, (1, 3, 8, 8), as_strings=False, print_per_layer_stat=False) == (14848, 224)
    assert run(["resnet18", "--input-shape", "1,3,32,32", "--convention", "thop", "--conventions", "all"]) == 0
    out = capsys.readouterr().out
    assert all(n in out for n in ALL) and "thop - flowflops, by op type" in out
    assert run(["resnet18", "--input-shape", "1,3,32,32", "--conventions", "nope"]) != 0
    assert "the known conventions are" in capsys.readouterr().err


def test_recurrent():
    # input (1, 5, 8): batch 1, 5 steps; hidden 16.
    # LSTM, 2 layers: ptflops per step (pytorch_ops.py:105-160): layer 0 4*16*(8+16) + 10*16 +
    # 2*64 = 1,824, layer 1 4*16*32 + 160 + 128 = 2,336: 5 x 4,160 = 20,800. thop: layer 0
    # 4*(16*24 + 16 + 32) + 4*16 = 1,792, layer 1 4*(16*32 + 48) + 64 = 2,304: 5 x 4,096 = 20,480.
    # The CPU LSTM is one fused op: aten, torch and fvcore 0.
    check(nn.LSTM(8, 16, num_layers=2, batch_first=True), (1, 5, 8),
          {"ptflops": 20800, "thop": 20480, "ptflops-aten": 0, "fvcore": 0, "torch": 0})
    # bidirectional GRU: ptflops per step and direction 3*16*24 + 7*16 + 2*48 = 1,360, x 5 x 2
    # = 13,600; thop 3*(16*24 + 16 + 32) + 4*16 = 1,360: 13,600; torch: 3*16*24 = 1,152 per
    # step and direction: 11,520; aten adds both biases, 96: 12,480.
    check(nn.GRU(8, 16, bidirectional=True, batch_first=True), (1, 5, 8),
          {"ptflops": 13600, "thop": 13600, "ptflops-aten": 12480, "fvcore": 0, "torch": 11520})
    # RNN: ptflops 16*24 + 16 + 32 = 432 per step: 2,160; thop the same; torch 384 x 5 = 1,920;
    # aten + 32 per step: 2,080
    check(nn.RNN(8, 16, batch_first=True), (1, 5, 8),
          {"ptflops": 2160, "thop": 2160, "ptflops-aten": 2080, "fvcore": 0, "torch": 1920})


def test_upsample():
    # x2 of (1, 4, 6, 6): 576 outputs. ptflops: the hook reads output[0], one sample (576 /
    # batch 1), and the F.interpolate it calls 576: 1,152. fvcore: nearest 1 per output, bilinear
    # 4; thop: nearest 1, bilinear 11; aten and torch nothing.
    check(nn.Upsample(scale_factor=2, mode="nearest"), (1, 4, 6, 6),
          {"ptflops": 1152, "fvcore": 576, "thop": 576, "ptflops-aten": 0, "torch": 0})
    check(nn.Upsample(scale_factor=2, mode="bilinear"), (1, 4, 6, 6),
          {"ptflops": 1152, "fvcore": 2304, "thop": 6336, "ptflops-aten": 0, "torch": 0})
