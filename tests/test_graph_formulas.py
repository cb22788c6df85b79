"""Hand-derived counts in graph mode (the model compiled through nn.Graph, not run), and the
registry's formulas on hand-made op records.

Conventions as everywhere: a conv/matmul multiply-accumulate is 1 MAC = 2 FLOPs; elementwise
ops (bias_add, broadcast ops, add_n's adds) 1 MAC = 1 FLOP per element.
"""
import collections

import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.records import Cost, OpRecord
from flowflops.registry import price, price_records
from flowflops import Report


def graph(model, shape=None, input_constructor=None):
    return flowflops.profile(model, shape, input_constructor=input_constructor, mode="graph")


def conv_out(size, k, s=1, p=0, d=1):
    """floor((size + 2p - d(k-1) - 1) / s) + 1"""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


# -- convolutions ---------------------------------------------------------------------------

def test_dilated_conv():
    # Conv2d(4 -> 8, k=3, padding 2, dilation 2, no bias) on (1, 4, 9, 7)
    m = nn.Conv2d(4, 8, 3, padding=2, dilation=2, bias=False)
    Ho, Wo = conv_out(9, 3, 1, 2, 2), conv_out(7, 3, 1, 2, 2)  # 9, 7
    expected = 1 * 8 * Ho * Wo * (3 * 3 * 4)  # out elems * kernel * cin
    r = graph(m, (1, 4, 9, 7))
    assert r.macs == expected
    assert r.flops == 2 * expected
    assert set(r.by_operator()) == {"conv2d"}


def test_dilated_strided_conv():
    # dilation 2, stride 2, padding 1 on (2, 3, 11, 11): the output size shows the dilation
    m = nn.Conv2d(3, 6, 3, stride=2, padding=1, dilation=2, bias=False)
    Ho = conv_out(11, 3, 2, 1, 2)  # (11 + 2 - 4 - 1) // 2 + 1 = 5
    expected = 2 * 6 * Ho * Ho * (3 * 3 * 3)
    assert graph(m, (2, 3, 11, 11)).macs == expected


def test_grouped_conv():
    # Conv2d(8 -> 12, k=3, padding 1, groups 4, no bias) on (2, 8, 6, 5)
    m = nn.Conv2d(8, 12, 3, padding=1, groups=4, bias=False)
    expected = 2 * 12 * 6 * 5 * (3 * 3 * 8 // 4)  # out elems * kernel * cin/groups
    r = graph(m, (2, 8, 6, 5))
    assert r.macs == expected
    assert r.params == 12 * (8 // 4) * 3 * 3


def test_conv_with_bias_is_conv2d_plus_bias_add():
    m = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    Ho = conv_out(8, 3, 2, 1)  # 4
    out_elems = 1 * 4 * Ho * Ho
    conv = out_elems * (3 * 3 * 3)
    ops = graph(m, (1, 3, 8, 8)).by_operator()
    assert ops["conv2d"] == Cost(conv, 2 * conv)
    assert ops["bias_add"] == Cost(out_elems, out_elems)  # 1 add per output element


def test_graph_and_eager_agree_on_a_conv_stack():
    m = nn.Sequential(nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2), nn.BatchNorm2d(8), nn.ReLU())
    out = 1 * 8 * 6 * 6
    expected = out * (3 * 3 * 4 // 2) + out + 2 * out + out  # conv + bias + bn(affine) + relu
    assert graph(m, (1, 4, 6, 6)).macs == expected
    assert flowflops.profile(m, (1, 4, 6, 6), mode="eager").macs == expected


# -- matmul and transpose flags -------------------------------------------------------------

class MatMul(nn.Module):
    def __init__(self, ta, tb):
        super().__init__()
        self.ta, self.tb = ta, tb

    def forward(self, a, b):
        return flow.matmul(a, b, transpose_a=self.ta, transpose_b=self.tb)


M, K, N = 5, 3, 7


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_matmul_transpose_flags(ta, tb):
    a = (K, M) if ta else (M, K)
    b = (N, K) if tb else (K, N)
    r = graph(MatMul(ta, tb), input_constructor=lambda _: (flow.ones(*a), flow.ones(*b)))
    expected = M * N * K  # out (M, N), contraction K
    assert r.by_operator()["matmul"] == Cost(expected, 2 * expected)
    assert r.macs == expected


@pytest.mark.parametrize("tb", [False, True])
def test_batched_matmul_transpose_b(tb):
    # (B, M, K) @ (B, K, N) or (B, N, K)^T
    Bt = 2
    b = (Bt, N, K) if tb else (Bt, K, N)
    r = graph(MatMul(False, tb), input_constructor=lambda _: (flow.ones(Bt, M, K), flow.ones(*b)))
    assert r.macs == Bt * M * N * K


def test_explicit_transpose_then_matmul():
    class T(nn.Module):
        def forward(self, a, b):
            return flow.matmul(a.transpose(0, 1), b)

    # a (K, M) -> a^T (M, K); out (M, N)
    r = graph(T(), input_constructor=lambda _: (flow.ones(K, M), flow.ones(K, N)))
    assert r.macs == M * N * K
    assert r.by_operator()["matmul"].macs == M * N * K
    assert r.unsupported == {}


@pytest.mark.parametrize("attrs", [{"transpose_a": True}, {}], ids=["attr", "inferred"])
def test_matmul_record_transpose_a(attrs):
    # a is (K=5, M=3) transposed, b (5, 7): out (3, 7), contraction 5
    rec = OpRecord("matmul", "", ((5, 3), (5, 7)), ((3, 7),), attrs)
    assert price(rec) == Cost(3 * 7 * 5, 2 * 3 * 7 * 5)


@pytest.mark.parametrize("attrs", [{"transpose_a": False, "transpose_b": True}, {}], ids=["attr", "inferred"])
def test_matmul_record_not_transposed(attrs):
    # a (M=3, K=5), b^T (7, 5): out (3, 7), contraction 5
    rec = OpRecord("matmul", "", ((3, 5), (7, 5)), ((3, 7),), attrs)
    assert price(rec).macs == 3 * 7 * 5


def test_batch_matmul_record_transposed():
    # batch 4 of a^T with a (K=6, M=2): out (4, 2, 9), contraction 6
    rec = OpRecord("batch_matmul", "", ((4, 6, 2), (4, 6, 9)), ((4, 2, 9),), {"transpose_a": True})
    assert price(rec).macs == 4 * 2 * 9 * 6
    no_attrs = OpRecord("batch_matmul", "", ((4, 6, 2), (4, 6, 9)), ((4, 2, 9),))
    assert price(no_attrs).macs == 4 * 2 * 9 * 6


def test_broadcast_matmul_record():
    # Linear on (2, 3, 4) -> 6: x (2, 3, 4) @ W^T, W (6, 4)
    rec = OpRecord("broadcast_matmul", "", ((2, 3, 4), (6, 4)), ((2, 3, 6),),
                   {"transpose_a": False, "transpose_b": True})
    assert price(rec).macs == 2 * 3 * 6 * 4


# -- broadcast, scalar, add_n ---------------------------------------------------------------

def test_broadcast_and_scalar_ops():
    class B(nn.Module):
        def forward(self, x, y):
            return x + y, x * y, x * 3.0

    r = graph(B(), input_constructor=lambda _: (flow.ones(2, 3, 4, 5), flow.ones(1, 3, 1, 5)))
    out = 2 * 3 * 4 * 5  # priced by the output (the broadcast shape), not the inputs
    ops = r.by_operator()
    assert ops["broadcast_add"] == Cost(out, out)
    assert ops["broadcast_mul"] == Cost(out, out)
    assert ops["scalar_mul"] == Cost(out, out)
    assert r.macs == 3 * out


def test_broadcast_records():
    out = (2, 3, 4, 5)
    n = 2 * 3 * 4 * 5
    for op in ("broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div"):
        assert price(OpRecord(op, "", (out, (1, 3, 1, 5)), (out,))) == Cost(n, n)
    assert price(OpRecord("scalar_mul", "", (out,), (out,))) == Cost(n, n)


def test_add_n_of_three():
    class Add3(nn.Module):
        def forward(self, a, b, c):
            return a + b + c

    s = (2, 3, 4)
    r = graph(Add3(), input_constructor=lambda _: tuple(flow.ones(*s) for _ in range(3)))
    n = 2 * 3 * 4
    # oneflow 0.9's passes fold a + b + c into one add_n of the 3 tensors
    assert r.operator_counts() == {"add_n": 1}
    assert r.by_operator()["add_n"] == Cost(2 * n, 2 * n)  # (3 - 1) adds per element
    assert r.macs == 2 * n


def test_add_n_records():
    s = (2, 3, 4)
    n = 2 * 3 * 4
    assert price(OpRecord("add_n", "", (s, s, s), (s,))) == Cost(2 * n, 2 * n)
    assert price(OpRecord("add_n", "", (s, s), (s,))).macs == n
    assert price(OpRecord("add_n", "", (s,) * 5, (s,))).macs == 4 * n


# -- inputs -------------------------------------------------------------------------------

class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(6, 3, bias=False)

    def forward(self, x, y):
        return flow.cat([self.a(x), self.b(y)], dim=1)  # concat: no arithmetic


TWO_INPUTS_MACS = (2 * 3 * 4 + 2 * 3) + 2 * 3 * 6  # a: matmul + bias; b: matmul


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_two_positional_inputs(mode):
    r = flowflops.profile(TwoInputs(), input_constructor=lambda _: (flow.ones(2, 4), flow.ones(2, 6)), mode=mode)
    assert r.macs == TWO_INPUTS_MACS
    assert r.params == (4 * 3 + 3) + 6 * 3


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_keyword_inputs(mode):
    r = flowflops.profile(TwoInputs(), input_constructor=lambda _: {"y": flow.ones(2, 6), "x": flow.ones(2, 4)},
                          mode=mode)
    assert r.macs == TWO_INPUTS_MACS


def test_get_model_complexity_info_graph_with_tuple_input():
    macs, params = flowflops.get_model_complexity_info(
        TwoInputs(), (2, 4), input_constructor=lambda _: (flow.ones(2, 4), flow.ones(2, 6)),
        as_strings=False, print_per_layer_stat=False, mode="graph",
    )
    assert (macs, params) == (TWO_INPUTS_MACS, (4 * 3 + 3) + 6 * 3)


# -- unsupported ops ------------------------------------------------------------------------

def test_unknown_op_is_unsupported_not_an_error():
    rec = OpRecord("my_weird_op", "", ((2, 2),), ((2, 2),))
    assert price(rec) is None
    known = OpRecord("relu", "", ((2, 2),), ((2, 2),))
    r = Report(price_records([rec, known]), collections.OrderedDict(), mode="graph")
    assert r.unsupported == {"my_weird_op": 1}
    assert r.macs == 2 * 2  # the relu only; the unknown op counts 0
    alone = Report(price_records([rec]), collections.OrderedDict(), mode="graph")
    assert alone.unsupported == {"my_weird_op": 1}
    assert (alone.macs, alone.flops) == (0, 0)


# -- module attribution ---------------------------------------------------------------------

class Res(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(2, 2, 1, bias=False), nn.ReLU())

    def forward(self, x):
        return self.body(x) + x  # written in Res.forward: belongs to Res's path


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Res()
        self.head = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.head(self.block(x))


def test_by_module_attributes_forward_ops_to_their_module():
    r = graph(Outer(), (1, 2, 3, 3))
    n = 1 * 2 * 3 * 3
    conv = n * (1 * 1 * 2)  # 1x1 conv, cin 2
    relu = n
    add = n  # add_n of 2: one add per element
    head = 1 * 2 * 3 * 2 * 3  # rows (1*2*3) * out 2 * in 3
    by = r.by_module()
    assert by["block.body.0"].macs == conv
    assert by["block.body.1"].macs == relu
    assert by["block.body"].macs == conv + relu
    assert by["block"].macs == conv + relu + add  # the residual add is the block's own work
    assert by["head"].macs == head
    assert by[""].macs == r.macs == conv + relu + add + head
    adds = [rec.module for rec, _ in r.entries if rec.op_type in ("add_n", "add", "broadcast_add")]
    assert adds == ["block"]


# -- the model is left as it was ------------------------------------------------------------

def test_graph_count_leaves_the_model_unchanged():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    model.train()
    bn = model[1]
    mean_before = bn.running_mean.numpy().copy()
    r = graph(model, (2, 3, 5, 5))
    out = 2 * 4 * 5 * 5
    assert r.macs == out * (3 * 3 * 3) + out + 2 * out + out  # conv + bias + bn + relu
    assert model.training and all(m.training for m in model.modules())
    assert (bn.running_mean.numpy() == mean_before).all()  # compiled, never run
    y = model(flow.ones(2, 3, 5, 5))  # a plain eager forward still works
    assert tuple(y.shape) == (2, 4, 5, 5)
    model.eval()
    graph(model, (2, 3, 5, 5))
    assert not any(m.training for m in model.modules())


def test_graph_count_twice_gives_the_same_answer():
    model = Outer()
    n = 1 * 2 * 3 * 3
    modules = n * 2 + n + 1 * 2 * 3 * 2 * 3  # conv + relu + head
    assert graph(model, (1, 2, 3, 3)).macs == graph(model, (1, 2, 3, 3)).macs == modules + n
    # eager hooks see the modules only, not the residual add written in Res.forward
    assert flowflops.profile(model, (1, 2, 3, 3), mode="eager").macs == modules


def test_matrix_times_vector_and_vector_times_matrix():
    class MV(nn.Module):
        def forward(self, m, v, w):
            return flow.matmul(m, v), flow.matmul(v, w)

    make = lambda res: (flow.ones(5, 3), flow.ones(3), flow.ones(3, 4))  # noqa: E731
    expected = 5 * 3 + 3 * 4  # (5, 3) @ (3,): 5 rows of 3 MACs; (3,) @ (3, 4): 4 columns of 3
    for mode in ("graph", "eager"):
        cfg = {"count_functional": True} if mode == "eager" else {}
        r = flowflops.profile(MV(), None, input_constructor=make, mode=mode, backend_specific_config=cfg)
        assert r.macs == expected and r.unsupported == {}, mode
