"""Transformer blocks (ViT, GPT-style, Swin) counted by hand: eager with count_functional and
graph mode both give the hand-derived total."""
import flowvision.models as zoo
import oneflow as flow
import oneflow.nn as nn
import pytest
from flowvision.models.vision_transformer import Block

import flowflops
from gpt import GPTBlock

FUNCTIONAL = {"count_functional": True}


def layer_norm(rows: int, d: int) -> int:
    """OneFlow's LayerNorm on ``rows`` vectors of ``d``: mean (reduce_sum + scalar_mul), var,
    +eps, rsqrt over the ``rows`` statistics; x - mean, * rstd, * weight, + bias per element."""
    n = rows * d
    return n + rows + n + rows + rows + n + n + n + n  # = 6n + 3 rows


def linear(rows: int, i: int, o: int, bias: bool = True) -> int:
    return rows * i * o + (rows * o if bias else 0)


def vit_block_macs(B: int, N: int, D: int, h: int) -> dict:
    d = D // h
    rows = B * N
    attention_core = B * h * N * N * d + B * h * N * N + B * h * N * N + B * h * N * N * d
    # q @ k^T, * scale, softmax, attn @ v
    modules = (linear(rows, D, 3 * D) + linear(rows, D, D) + linear(rows, D, 4 * D) + rows * 4 * D
               + linear(rows, 4 * D, D))
    # qkv, proj, fc1, GELU, fc2: what module hooks see
    functional = 2 * layer_norm(rows, D) + attention_core + 2 * rows * D  # + 2 residual adds
    return {"modules": modules, "all": modules + functional, "attention_core": attention_core}


@pytest.mark.parametrize("N", [16, 32])
def test_vit_block_by_hand(N):
    B, D, h = 2, 64, 4
    block = Block(dim=D, num_heads=h, qkv_bias=True)
    want = vit_block_macs(B, N, D, h)
    eager = flowflops.profile(block, (B, N, D))
    assert eager.macs == want["modules"]
    full = flowflops.profile(block, (B, N, D), backend_specific_config=FUNCTIONAL)
    graph = flowflops.profile(block, (B, N, D), mode="graph")
    assert full.macs == graph.macs == want["all"]
    assert full.unsupported == graph.unsupported == {}


def test_vit_attention_scales_with_the_square_of_the_tokens():
    B, D, h = 1, 64, 4
    short, long = vit_block_macs(B, 16, D, h), vit_block_macs(B, 32, D, h)
    assert long["attention_core"] == 4 * short["attention_core"]
    block = Block(dim=D, num_heads=h, qkv_bias=True)
    counts = {}
    for N in (16, 32):
        r = flowflops.profile(block, (B, N, D), mode="graph")
        ops = r.by_operator()
        counts[N] = ops["batch_matmul"].macs + ops["softmax"].macs
    # QK^T + AV + softmax, without the linear layers: exactly 4x at twice the tokens
    assert counts[32] == 4 * counts[16]


def gpt_macs(B: int, T: int, V: int, d: int, H: int, functional: bool) -> int:
    rows, dh = B * T, d // H
    modules = (linear(rows, d, 3 * d) + linear(rows, d, d) + linear(rows, d, 4 * d) + rows * 4 * d
               + linear(rows, 4 * d, d) + linear(rows, d, V, bias=False))
    if not functional:
        return modules
    att = B * H * T * T * dh + B * H * T * T + B * H * T * T + B * H * T * T + B * H * T * T * dh
    # q@k^T, * 1/sqrt(dh), + mask, softmax, att@v
    return modules + rows * d + 3 * layer_norm(rows, d) + att + 2 * rows * d
    # + token and position embeddings' sum, three LayerNorms, attention, two residual adds


def test_gpt_block_by_hand_both_modes():
    B, T, V, d, H = 2, 16, 100, 32, 4
    make = lambda res: flow.randint(0, V, res)  # noqa: E731
    model = GPTBlock(V, d, H, T)
    eager = flowflops.profile(model, (B, T), input_constructor=make)
    assert eager.macs == gpt_macs(B, T, V, d, H, functional=False)
    assert eager.unsupported == {"LayerNorm": 3}
    full = flowflops.profile(model, (B, T), input_constructor=make, backend_specific_config=FUNCTIONAL)
    graph = flowflops.profile(model, (B, T), input_constructor=make, mode="graph")
    assert full.macs == graph.macs == gpt_macs(B, T, V, d, H, functional=True)
    assert full.unsupported == graph.unsupported == {}


@pytest.mark.slow
def test_swin_window_linears_counted_once_per_row():
    """The original reports 24,471,981,352 for Swin-T eager (Linear's leading dim counted twice);
    counting every Linear on its real input shape gives about 4.4 G."""
    model = zoo.swin_tiny_patch4_window7_224()
    r = flowflops.profile(model, (1, 3, 224, 224))
    linear_macs = sum(c.macs for p, c in r.by_module().items()
                      if p and isinstance(dict(model.named_modules())[p], nn.Linear))
    # stage 1's first block: qkv Linear(96, 288) on 64 windows of 49 tokens
    qkv = dict(model.named_modules())["layers.0.blocks.0.attn.qkv"]
    assert r.by_module()["layers.0.blocks.0.attn.qkv"].macs == 64 * 49 * 96 * 288 + 64 * 49 * 288
    assert qkv.in_features == 96
    assert 4.0e9 < r.macs < 4.6e9 and linear_macs < r.macs
