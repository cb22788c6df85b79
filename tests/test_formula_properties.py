"""Properties of the formulas (flowflops/formulas/): conv and matmul against brute force
(hypothesis), per-sample layers linear in the batch, fused ops costing what they fuse."""
import itertools

import oneflow.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

import flowflops
from flowflops.records import OpRecord
from flowflops.registry import price


def brute_conv_macs(n, cin, h, w, cout, k, stride, pad, dil, groups):
    """Count multiply-accumulates by walking every output position and kernel tap."""
    def out_positions(size):
        pos = []
        o = 0
        while o * stride + dil * (k - 1) <= size + 2 * pad - 1:
            pos.append(o)
            o += 1
        return pos

    count = 0
    for _b, _co, _oh, _ow in itertools.product(range(n), range(cout), out_positions(h), out_positions(w)):
        for _ci in range(cin // groups):
            for _kh, _kw in itertools.product(range(k), range(k)):
                count += 1
    return count, len(out_positions(h)), len(out_positions(w))


@settings(deadline=None, max_examples=40)
@given(
    n=st.integers(1, 2), groups=st.sampled_from([1, 2]), cin_per=st.integers(1, 2), cout_per=st.integers(1, 2),
    h=st.integers(3, 7), w=st.integers(3, 7), k=st.integers(1, 3), stride=st.integers(1, 3),
    pad=st.integers(0, 2), dil=st.integers(1, 2), bias=st.booleans(),
)
def test_conv_matches_brute_force(n, groups, cin_per, cout_per, h, w, k, stride, pad, dil, bias):
    cin, cout = cin_per * groups, cout_per * groups
    if dil * (k - 1) + 1 > min(h, w) + 2 * pad:
        return
    macs, oh, ow = brute_conv_macs(n, cin, h, w, cout, k, stride, pad, dil, groups)
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dil, groups=groups, bias=bias)
    r = flowflops.profile(conv, (n, cin, h, w))
    assert r.macs == macs + (n * cout * oh * ow if bias else 0)


@settings(deadline=None, max_examples=60)
@given(
    batch=st.lists(st.integers(1, 3), max_size=2), m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4),
    ta=st.booleans(), tb=st.booleans(),
)
def test_matmul_matches_brute_force(batch, m, k, n, ta, tb):
    b = tuple(batch)
    a_shape = b + ((k, m) if ta else (m, k))
    b_shape = b + ((n, k) if tb else (k, n))
    out = b + (m, n)
    brute = sum(1 for _ in itertools.product(*(range(d) for d in out), range(k)))
    op = "matmul" if not b else "batch_matmul"
    with_attrs = OpRecord(op, "", (a_shape, b_shape), (out,), {"transpose_a": ta, "transpose_b": tb})
    from_shapes = OpRecord(op, "", (a_shape, b_shape), (out,))
    assert price(with_attrs).macs == price(from_shapes).macs == brute
    assert price(with_attrs).flops == 2 * brute


LAYERS = {
    "conv": lambda: nn.Conv2d(2, 3, 3, padding=1), "deconv": lambda: nn.ConvTranspose2d(2, 3, 3, stride=2),
    "bn": lambda: nn.BatchNorm2d(2), "relu": lambda: nn.ReLU(), "maxpool": lambda: nn.MaxPool2d(2),
    "avgpool": lambda: nn.AvgPool2d(2), "adaptive": lambda: nn.AdaptiveAvgPool2d(1),
    "upsample": lambda: nn.Upsample(scale_factor=2), "gn": lambda: nn.GroupNorm(1, 2),
    "inorm": lambda: nn.InstanceNorm2d(2, affine=True), "gelu": lambda: nn.GELU(),
}


@settings(deadline=None, max_examples=30)
@given(kind=st.sampled_from(sorted(LAYERS)), batch=st.integers(2, 5), mode=st.sampled_from(["eager", "functional"]))
def test_per_sample_layers_are_batch_linear(kind, batch, mode):
    layer = LAYERS[kind]()
    cfg = {"count_functional": True} if mode == "functional" else {}
    one = flowflops.profile(layer, (1, 2, 6, 6), backend_specific_config=cfg)
    many = flowflops.profile(layer, (batch, 2, 6, 6), backend_specific_config=cfg)
    assert one.macs > 0
    assert many.macs == batch * one.macs and many.flops == batch * one.flops


def test_fused_ops_cost_what_they_fuse():
    # x (6, 16) @ W^T (16 -> 32) + b: 6*32*16 MACs + 6*32 adds, as matmul + bias would
    fused = price(OpRecord("fused_matmul_bias", "", ((6, 16), (32, 16), (32,)), ((6, 32),)))
    unfused = price(OpRecord("matmul", "", ((6, 16), (32, 16)), ((6, 32),), {"transpose_a": False}))
    bias = price(OpRecord("broadcast_add", "", ((6, 32), (32,)), ((6, 32),)))
    assert fused.macs == 6 * 32 * 16 + 6 * 32 == (unfused + bias).macs
    assert fused.flops == (unfused + bias).flops
