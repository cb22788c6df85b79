"""Hardening: odd models, bad input, and property-based checks of the formulas."""
import itertools

import flowvision.models as zoo
import oneflow as flow
import oneflow.nn as nn
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowflops
from flowflops.records import OpRecord
from flowflops.registry import price
from models import ZOO, zoo_input
from snapshot import assert_same, snapshot

LIN = 2 * 4 * 4 + 2 * 4  # Linear(4, 4) on (2, 4): MACs + bias adds


class ReturnsDict(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(4, 4)

    def forward(self, x):
        return {"a": self.l(x), "b": x}


class ReturnsTuple(ReturnsDict):
    def forward(self, x):
        return self.l(x), [x, x]


class ReturnsNone(ReturnsDict):
    def forward(self, x):
        self.l(x)
        return None


@pytest.mark.parametrize("cls", [ReturnsDict, ReturnsTuple, ReturnsNone])
@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_any_output_structure(cls, mode):
    assert flowflops.profile(cls(), (2, 4), mode=mode).macs == LIN


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_empty_sequential(mode):
    r = flowflops.profile(nn.Sequential(), (2, 4), mode=mode)
    assert (r.macs, r.params, r.unsupported) == (0, 0, {})


def test_half_model_eager_explains_and_graph_counts():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU()).half()
    with pytest.raises(flowflops.CountError, match="mode='graph'"):
        flowflops.profile(model, (2, 4))
    # Linear 2*4*4 + bias 2*4, ReLU 2*4
    assert flowflops.profile(model, (2, 4), mode="graph").macs == LIN + 2 * 4


def test_cuda_model_without_cuda_is_refused_clearly(monkeypatch):
    import flowflops.runtime.inputs as inputs

    class FakeCuda:
        device = flow.device("cpu")
        dtype = flow.float32

    fake = FakeCuda()
    fake.device = type("D", (), {"type": "cuda", "__str__": lambda self: "cuda:0"})()
    monkeypatch.setattr(inputs, "first_parameter", lambda model: fake)
    monkeypatch.setattr(flow.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no usable CUDA.*model.to\\('cpu'\\)"):
        flowflops.profile(nn.Linear(4, 4), (2, 4))


def test_ignore_modules_naming_an_absent_type_changes_nothing():
    model = nn.Sequential(nn.Linear(4, 4))
    assert flowflops.profile(model, (2, 4), ignore_modules=[nn.Conv2d]).macs == LIN


def test_wrong_rank_for_the_model():
    with pytest.raises(flowflops.CountError, match=r"Conv2d.*\(3, 8, 8\)"):
        flowflops.profile(nn.Conv2d(3, 4, 3), (3, 8, 8))


def test_input_constructor_returning_what_the_model_rejects():
    with pytest.raises(flowflops.CountError, match="Linear"):
        flowflops.profile(nn.Linear(4, 4), None, input_constructor=lambda r: flow.ones(2, 5))


def test_shared_module_counted_per_call_params_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(4, 4)

        def forward(self, x):
            return self.l(self.l(x))

    for mode in ("eager", "graph"):
        r = flowflops.profile(Twice(), (2, 4), mode=mode)
        assert (r.macs, r.params) == (2 * LIN, 4 * 4 + 4), mode
        assert r.by_module()["l"].macs == 2 * LIN, mode  # both calls charged to the one module


# -- property-based: formulas against brute force -------------------------------------------

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


# -- every zoo model, from train mode, every mode ---------------------------------------------



@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_untouched_in_every_mode(name):
    model = getattr(zoo, name)()
    for training in (True, False):
        model.train(training)
        before = snapshot(model)
        flowflops.profile(model, zoo_input(name))
        flowflops.profile(model, zoo_input(name), backend_specific_config={"count_functional": True})
        if training:  # graph mode once per model keeps the suite short; eval mode is in test_modern
            flowflops.profile(model, zoo_input(name), mode="graph")
        assert_same(before, snapshot(model))


def test_fused_ops_cost_what_they_fuse():
    # x (6, 16) @ W^T (16 -> 32) + b: 6*32*16 MACs + 6*32 adds, as matmul + bias would
    fused = price(OpRecord("fused_matmul_bias", "", ((6, 16), (32, 16), (32,)), ((6, 32),)))
    unfused = price(OpRecord("matmul", "", ((6, 16), (32, 16)), ((6, 32),), {"transpose_a": False}))
    bias = price(OpRecord("broadcast_add", "", ((6, 32), (32,)), ((6, 32),)))
    assert fused.macs == 6 * 32 * 16 + 6 * 32 == (unfused + bias).macs
    assert fused.flops == (unfused + bias).flops
