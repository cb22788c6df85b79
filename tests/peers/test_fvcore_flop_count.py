"""fvcore's own tests (facebookresearch/fvcore, tests/test_flop_count.py at 3378afe), for the
layers OneFlow 0.9 has, translated: ``torch`` -> ``oneflow``, fvcore's ``flop_count`` /
``FlopCountAnalysis`` -> ``flowflops.profile(..., convention="fvcore")`` in **both engines**
(the autouse ``engine`` fixture runs every test with ``mode="graph"`` and ``mode="eager"``):
fvcore traces the model with TorchScript and prices every op; flowflops' graph engine compiles
it with nn.Graph, its eager engine runs it with functional calls counted, and both price every
op under fvcore's rules (``flowflops.conventions``). ``test_skip_ops`` and ``test_batchnorm``
also go through the drop-in ``flowflops.fvcore.flop_count`` with fvcore's own assertions.

Units: fvcore's "flop" is one multiply-add, the unit of flowflops' ``macs``, and its
``flop_count`` dict is in GFLOPs; the expected numbers below are fvcore's, written without the
``/ 1e9``. fvcore names ops by aten name, flowflops by OneFlow op type (``addmm``/``linear`` ->
``matmul``, ``conv`` -> ``conv2d``/``deconv2d``/..., ``bmm``/``einsum`` -> ``batch_matmul``,
``batch_norm`` -> ``normalization``). Where flowflops' number differs from fvcore's, the
difference is derived beside the test.
"""
from typing import Dict

import pytest
import oneflow as flow
import oneflow.nn as nn
import oneflow.nn.functional as F

import flowflops
from flowflops.fvcore import flop_count
from models import Fn
from peers.test_fvcore_upstream import CustomNet, ThreeNet  # fvcore's own test models, translated once


ENGINE = {"mode": "graph"}


@pytest.fixture(autouse=True, params=["graph", "eager"])
def engine(request):
    """Every test in both engines (fvcore's numbers are engine-free)."""
    ENGINE["mode"] = request.param
    yield request.param
    ENGINE["mode"] = "graph"


def count(model, *inputs, **kwargs):
    kwargs.setdefault("convention", "fvcore")
    kwargs.setdefault("mode", ENGINE["mode"])
    return flowflops.profile(model, None, input_constructor=lambda _: inputs, **kwargs)


def priced(report) -> Dict[str, int]:
    """Op type -> MACs, for the ops that cost something (views and copies cost 0)."""
    return {op: c.macs for op, c in report.by_operator().items() if c.macs}


class TestFlopCountAnalysis:
    def test_customized_ops(self):
        # fvcore: a handle for aten::sigmoid returning 10000; flowflops: an op-level hook for
        # OneFlow's "sigmoid"
        batch_size, input_dim, output_dim = 10, 5, 4
        x = flow.rand(batch_size, input_dim)
        r = count(CustomNet(input_dim, output_dim), x, custom_modules_hooks={"sigmoid": lambda i, o: 10000})
        assert priced(r)["sigmoid"] == 10000
        # a handle that overwrites the linear layer's (aten::addmm; OneFlow: matmul)
        r = count(CustomNet(input_dim, output_dim), x, custom_modules_hooks={"matmul": lambda i, o: 400000})
        assert priced(r)["matmul"] == 400000

    def test_nn(self):
        batch_size, input_dim, output_dim = 5, 8, 4
        r = count(nn.Linear(input_dim, output_dim), flow.randn(batch_size, input_dim))
        assert priced(r) == {"matmul": batch_size * input_dim * output_dim}

    def test_skip_ops(self):
        batch_size, input_dim, output_dim = 10, 5, 4
        r = count(CustomNet(input_dim, output_dim), flow.rand(batch_size, input_dim))
        # fvcore skips aten::sigmoid (1 call, no handle) and counts it 0. flowflops' fvcore
        # rules price OneFlow's sigmoid as 0 explicitly, so the MACs agree (0) but nothing is
        # listed as unsupported
        assert "sigmoid" not in priced(r) and r.operator_counts()["sigmoid"] == 1
        assert r.unsupported == {}
        # through flowflops.fvcore, fvcore's own assertion: flop_count's skip dict is
        # {"aten::sigmoid": 1}
        _, skip_dict = flop_count(CustomNet(input_dim, output_dim), (flow.rand(batch_size, input_dim),))
        assert dict(skip_dict) == {"aten::sigmoid": 1}

    def test_linear(self):
        batch_size, input_dim, output_dim = 5, 10, 20
        r = count(nn.Linear(input_dim, output_dim), flow.randn(batch_size, input_dim))
        assert priced(r) == {"matmul": batch_size * input_dim * output_dim}
        extra_dim = 5
        r = count(nn.Linear(input_dim, output_dim), flow.randn(batch_size, extra_dim, input_dim))
        assert priced(r) == {"broadcast_matmul": batch_size * input_dim * extra_dim * output_dim}

    @pytest.mark.parametrize("conv_dim,batch_size,input_dim,output_dim,spatial_dim,kernel_size,padding,stride,"
                             "group_size,transpose,output_padding", [
                                 (2, 5, 10, 3, 15, 3, 1, 1, 1, False, 0),
                                 (2, 2, 10, 6, 20, 3, 1, 2, 1, False, 0),
                                 (2, 5, 16, 8, 15, 5, 2, 1, 4, False, 0),
                                 (2, 5, 16, 8, 15, 3, 1, 1, 8, False, 0),
                                 (1, 5, 10, 3, 15, 3, 1, 1, 1, False, 0),
                                 (3, 5, 10, 3, 15, 3, 1, 1, 1, False, 0),
                                 (2, 5, 10, 3, 15, 3, 1, 1, 1, True, 0),
                                 (2, 5, 10, 3, 15, 3, 1, 2, 1, True, 0),
                                 (2, 5, 10, 3, 15, 3, 1, 3, 1, True, 2),
                             ])
    def test_conv(self, conv_dim, batch_size, input_dim, output_dim, spatial_dim, kernel_size, padding,
                  stride, group_size, transpose, output_padding):
        layers = ([nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d] if transpose
                  else [nn.Conv1d, nn.Conv2d, nn.Conv3d])
        kwargs = {"output_padding": output_padding} if transpose else {}
        conv = layers[conv_dim - 1](input_dim, output_dim, kernel_size, stride, padding, groups=group_size, **kwargs)
        x = flow.randn(batch_size, input_dim, *([spatial_dim] * conv_dim))
        r = count(conv, x)
        if transpose:
            spatial_size = spatial_dim
        else:
            spatial_size = ((spatial_dim + 2 * padding) - kernel_size) // stride + 1
        gt_flop = (batch_size * input_dim * output_dim * (kernel_size ** conv_dim)
                   * (spatial_size ** conv_dim) // group_size)
        op = ("deconv" if transpose else "conv") + f"{conv_dim}d"
        assert priced(r) == {op: gt_flop}

    def test_matmul(self):
        m, n, p = 20, 10, 100
        r = count(Fn(flow.matmul), flow.randn(m, n), flow.randn(n, p))
        assert priced(r) == {"matmul": m * n * p}

    @pytest.mark.parametrize("x_shape,y_shape,batches,op", [
        ((1, 20, 10), (1, 10, 100), 1, "batch_matmul"),
        ((2, 2, 20, 10), (2, 2, 10, 100), 4, "batch_matmul"),
        ((1, 20, 10), (10, 100), 1, "broadcast_matmul"),
        ((2, 20, 10), (10, 100), 2, "broadcast_matmul"),
    ])
    def test_matmul_broadcast(self, x_shape, y_shape, batches, op):
        m, n, p = 20, 10, 100
        r = count(Fn(flow.matmul), flow.randn(*x_shape), flow.randn(*y_shape))
        assert priced(r) == {op: batches * m * n * p}

    def test_bmm(self):
        n, c, t, p = 2, 5, 2, 12
        r = count(Fn(flow.bmm), flow.randn(n, c, t), flow.randn(n, t, p))
        assert priced(r) == {"batch_matmul": n * t * p * c}

    def test_einsum(self):
        # OneFlow compiles einsum to a batch_matmul (plus views)
        n, c, t, p = 1, 5, 2, 12
        r = count(Fn(lambda x, y: flow.einsum("nct,ncp->ntp", x, y)), flow.randn(n, c, t), flow.randn(n, c, p))
        assert priced(r) == {"batch_matmul": n * t * p * c}
        g = 6
        r = count(Fn(lambda x, y: flow.einsum("ntg,ncg->nct", x, y)), flow.randn(n, t, g), flow.randn(n, c, g))
        assert priced(r) == {"batch_matmul": n * t * g * c}

    def test_batchnorm(self):
        batch_size, input_dim = 10, 10
        r = count(nn.BatchNorm1d(input_dim, affine=False).eval(), flow.randn(batch_size, input_dim))
        assert priced(r) == {"normalization": batch_size * input_dim}
        # BatchNorm2d / 3d: fvcore's test leaves the layers in training mode and expects
        # 4 per element (1 to normalise + 3 for the batch statistics). flowflops counts
        # inference: the model is put in eval mode, running statistics are used, 1 per element
        # without affine; fvcore's 4 * N is flowflops' N plus 3 * N for the statistics.
        sx = sy = sz = 5
        r = count(nn.BatchNorm2d(input_dim, affine=False), flow.randn(batch_size, input_dim, sx, sy))
        n2 = batch_size * input_dim * sx * sy
        assert priced(r) == {"normalization": 4 * n2 - 3 * n2}
        r = count(nn.BatchNorm3d(input_dim, affine=False), flow.randn(batch_size, input_dim, sx, sy, sz))
        n3 = batch_size * input_dim * sx * sy * sz
        assert priced(r) == {"normalization": 4 * n3 - 3 * n3}
        # through flowflops.fvcore, which counts the model as it is (training mode here, as
        # fvcore's trace): fvcore's own numbers, 4 x 2,500 = 10,000 and 4 x 12,500 = 50,000 (GFLOPs
        # in fvcore's dict: 1e-5 and 5e-5)
        flops, _ = flop_count(nn.BatchNorm2d(input_dim, affine=False), (flow.randn(batch_size, input_dim, sx, sy),))
        assert dict(flops) == {"batch_norm": 4 * n2 / 1e9} and 4 * n2 == 10000
        flops, _ = flop_count(nn.BatchNorm3d(input_dim, affine=False),
                              (flow.randn(batch_size, input_dim, sx, sy, sz),))
        assert dict(flops) == {"batch_norm": 4 * n3 / 1e9} and 4 * n3 == 50000

    def test_threeNet(self):
        batch_size, input_dim, conv_dim, spatial_dim, linear_dim = 4, 2, 5, 10, 3
        x = flow.randn(batch_size, input_dim, spatial_dim, spatial_dim)
        r = count(ThreeNet(input_dim, conv_dim, linear_dim), x)
        flop1 = batch_size * conv_dim * input_dim * spatial_dim * spatial_dim
        flop_linear1 = batch_size * conv_dim * linear_dim
        flop_linear2 = batch_size * linear_dim * 1
        # fvcore: {conv, addmm, adaptive_avg_pool2d: 2e-6 GFLOPs = 2000}
        assert priced(r) == {"conv2d": flop1, "matmul": flop_linear1 + flop_linear2, "adaptive_avg_pool2d": 2000}

    def test_flop_counter_class(self):
        batch_size, input_dim, conv_dim, spatial_dim, linear_dim = 4, 2, 5, 10, 3
        x = flow.randn(batch_size, input_dim, spatial_dim, spatial_dim)
        r = count(ThreeNet(input_dim, conv_dim, linear_dim), x)
        flop1 = batch_size * conv_dim * input_dim * spatial_dim * spatial_dim
        flop_linear1 = batch_size * conv_dim * linear_dim
        flop_linear2 = batch_size * linear_dim * 1
        gt = {"conv": flop1, "linear1": flop_linear1, "linear2": flop_linear2, "pool": flop1 // input_dim}
        gt[""] = sum(gt.values())
        assert {k: c.macs for k, c in r.by_module().items()} == gt

    def test_autograd_function(self):
        # fvcore prices a custom autograd Function through a handle for its
        # "prim::PythonOp._CustomOp" node. nn.Graph traces a Function's forward inline and
        # records no op of its own (this one is an identity: no ops at all), so the flowflops
        # way is a hook on the module that calls it, in graph mode priced by module scope.
        class _CustomOp(flow.autograd.Function):
            @staticmethod
            def forward(ctx, input):
                return input

            @staticmethod
            def backward(ctx, grad_output):
                return flow.ones_like(grad_output)

        class Mod(nn.Module):
            def forward(self, x):
                return _CustomOp.apply(x)

        r = count(Mod(), flow.rand(4, 5), custom_modules_hooks={Mod: lambda *args, **kwargs: 42})
        assert r.macs == 42

    def test_scripted_function(self):
        # fvcore reports a TorchScript call (prim::CallFunction) as unsupported and so misses
        # the matmul inside it. OneFlow 0.9's flow.jit.script returns the function as it is,
        # so nn.Graph traces its ops and flowflops prices them: (x*x) @ (x*x) on (5, 5) is
        # 5*5*5 = 125 MACs (the elementwise x * x is 0 under fvcore's rules); nothing unsupported.
        def func(x):
            return x @ x

        class Mod(nn.Module):
            def forward(self, x):
                f = flow.jit.script(func)
                return f(x * x)

        r = count(Mod(), flow.rand(5, 5))
        assert r.unsupported == {}
        assert r.macs == 125


class TestFlopCountHandles:
    """fvcore calls single op handles on traced nodes; here each op is the whole model."""

    def test_batch_norm(self):
        def bn(*args, **kwargs):
            # fresh statistics tensors for every count: OneFlow 0.9 aborts the process when a
            # free eager tensor captured by one nn.Graph is captured again by another
            def model_fn(x):
                vec = flow.rand(2)
                return F.batch_norm(x, vec, vec, *[vec if a == "vec" else a for a in args], **kwargs)
            return count(Fn(model_fn), flow.rand(2, 2, 2, 2)).macs

        # F.batch_norm(x, mean, var, weight, bias): 2 per element with affine, as fvcore: 32
        assert bn("vec", "vec") == 32
        # without weight and bias: 1 per element, as fvcore: 16
        assert bn(None, None) == 16
        # training=True: fvcore's norm_flop_counter, 5 per element with a weight: 5 x 16 = 80
        assert bn("vec", "vec", True) == 80
        # training=True without weight and bias: 4 per element: 64
        assert bn(None, None, True) == 64

    @pytest.mark.parametrize("mode", ["eager", "graph"])
    def test_group_norm(self, mode):
        # fvcore prices aten::group_norm: 5 per element with affine, 4 without; 16 elements:
        # 80 and 64. The graph engine marks the reductions OneFlow compiles GroupNorm to with
        # their module (flowflops.rules.peer_graph), so both engines give fvcore's numbers.
        x = flow.rand(2, 2, 2, 2)
        r = count(nn.GroupNorm(2, 2), x, mode=mode)
        assert r.macs == 5 * 16
        r = count(nn.GroupNorm(2, 2, affine=False), x, mode=mode)
        assert r.macs == 4 * 16

    def test_upsample(self):
        # 4 per output element for bilinear: 2**4 * 4 * 4 = 256 for 64 outputs
        r = count(Fn(lambda x: F.interpolate(x, None, 2, "bilinear", False)), flow.rand(2, 2, 2, 2))
        assert r.macs == 2 ** 4 * 4 * 4

    def test_complicated_einsum(self):
        r = count(Fn(lambda a, b: flow.einsum("nc,nchw->hw", a, b)), flow.rand(3, 4), flow.rand(3, 4, 2, 3))
        assert r.macs == 72

    def test_torch_mm(self):
        for func in (flow.mm, flow.matmul):
            r = count(Fn(func), flow.rand(3, 4), flow.rand(4, 5))
            assert r.macs == 60
