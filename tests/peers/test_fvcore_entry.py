"""flowflops.fvcore, fvcore 0.1.5's FlopCountAnalysis as pasted (``from fvcore.nn import ...`` ->
``from flowflops.fvcore import ...``, ``torch`` -> ``oneflow``), on the twins of
tests/peers/twin_models.py. Every expected value is what fvcore 0.1.5.post20221221 itself
returned for the PyTorch twin (torch 2.14.1, CPU, eval mode, 2026-12-07, /work/peers-venv):
``FlopCountAnalysis(m, x)``'s ``total()``, ``by_operator()``, ``by_module()``,
``unsupported_ops()``, ``uncalled_modules()`` and ``parameter_count(m)``.
"""
import logging

import pytest
import oneflow as flow
import oneflow.nn as nn

from flowflops.fvcore import FlopCountAnalysis, parameter_count

from .test_composites import Weights
from .twin_models import small_models

FVCORE = {
    'conv_relu': dict(
        total=442368,
        by_operator={'conv': 442368},
        by_module={'': 442368, 'conv': 442368, 'relu': 0},
        unsupported={},
        uncalled=set(),
        params={'': 448, 'conv': 448, 'conv.weight': 432, 'conv.bias': 16},
    ),
    'small_cnn': dict(
        total=536736,
        by_operator={'conv': 516096, 'batch_norm': 16384, 'adaptive_avg_pool2d': 4096, 'linear': 160},
        by_module={'': 536736, 'conv1': 221184, 'bn1': 16384, 'relu': 0, 'pool': 0, 'conv2': 294912, 'act2': 0,
            'avg': 4096, 'fc': 160},
        unsupported={'aten::max_pool2d': 1, 'aten::elu': 1},
        uncalled=set(),
        params={'': 1570, 'conv1': 216, 'conv1.weight': 216, 'bn1': 16, 'bn1.weight': 8, 'bn1.bias': 8, 'conv2': 1168,
            'conv2.weight': 1152, 'conv2.bias': 16, 'fc': 170, 'fc.weight': 160, 'fc.bias': 10},
    ),
    'mlp_block': dict(
        total=68096,
        by_operator={'layer_norm': 2560, 'linear': 65536},
        by_module={'': 68096, 'norm': 2560, 'fc1': 32768, 'act': 0, 'fc2': 32768, 'softmax': 0},
        unsupported={'aten::gelu': 1, 'aten::add': 1, 'aten::softmax': 1},
        uncalled=set(),
        params={'': 4256, 'norm': 64, 'norm.weight': 32, 'norm.bias': 32, 'fc1': 2112, 'fc1.weight': 2048,
            'fc1.bias': 64, 'fc2': 2080, 'fc2.weight': 2048, 'fc2.bias': 32},
    ),
    'functional': dict(
        total=59392,
        by_operator={'conv': 55296, 'matmul': 4096},
        by_module={'': 59392, 'conv': 55296},
        unsupported={'aten::max_pool2d': 1},
        uncalled=set(),
        params={'': 224, 'conv': 224, 'conv.weight': 216, 'conv.bias': 8},
    ),
    'upnet': dict(
        total=15360,
        by_operator={'conv': 9216, 'upsample_nearest2d': 1024, 'group_norm': 5120},
        by_module={'': 15360, 'conv': 9216, 'prelu': 0, 'up': 1024, 'gn': 5120},
        unsupported={'aten::prelu': 1},
        uncalled=set(),
        params={'': 157, 'conv': 148, 'conv.weight': 144, 'conv.bias': 4, 'prelu': 1, 'prelu.weight': 1, 'gn': 8,
            'gn.weight': 4, 'gn.bias': 4},
    ),
}


@pytest.mark.parametrize("name", list(FVCORE))
def test_twin_as_fvcore(name):
    expected = FVCORE[name]
    model, shape = small_models(flow)[name]
    model.eval()
    flops = FlopCountAnalysis(model, flow.randn(*shape))
    assert flops.total() == expected["total"]
    assert dict(flops.by_operator()) == expected["by_operator"]
    assert dict(flops.by_module()) == expected["by_module"]
    assert dict(flops.unsupported_ops()) == expected["unsupported"]
    assert flops.uncalled_modules() == expected["uncalled"]
    assert dict(parameter_count(model)) == expected["params"]
    by_mo = flops.by_module_and_operator()
    assert by_mo[""] == flops.by_operator() and set(by_mo) == set(expected["by_module"])


def test_unsupported_ops_before_the_count_raises_as_fvcore():
    flops = FlopCountAnalysis(nn.Linear(3, 2), flow.randn(1, 3))
    with pytest.raises(RuntimeError, match="computed before"):
        flops.unsupported_ops()


def test_set_op_handle():
    """fvcore's test_customized_ops and set_op_handle(name, None): Linear(5, 4) then Sigmoid on
    (10, 5). linear: 10 x 5 x 4 = 200; a handle for aten::sigmoid returning 10000 is counted under
    "sigmoid"; removing aten::linear's handle makes it unsupported (fvcore keeps its count off)."""
    model = nn.Sequential(nn.Linear(5, 4), nn.Sigmoid())
    x = flow.rand(10, 5)
    flops = FlopCountAnalysis(model, x)
    assert dict(flops.by_operator()) == {"linear": 200}
    assert dict(flops.unsupported_ops()) == {"aten::sigmoid": 1}
    flops.set_op_handle("aten::sigmoid", lambda inputs, outputs: 10000)
    assert dict(flops.by_operator()) == {"linear": 200, "sigmoid": 10000}
    assert flops.total("1") == 10000
    flops = FlopCountAnalysis(model, x).set_op_handle("aten::linear", None)
    assert flops.total() == 0 and dict(flops.unsupported_ops()) == {"aten::linear": 1, "aten::sigmoid": 1}
    # the handle sees shapes: (10, 5) in, (10, 4) out
    seen = []
    FlopCountAnalysis(model, x).set_op_handle("aten::linear", lambda i, o: seen.append((i[0], o[0])) or 1).total()
    assert seen == [((10, 5), (10, 4))]


def test_uncalled_modules_and_warnings(caplog):
    """A submodule the forward never calls is uncalled (fvcore's uncalled_modules()), and both
    warnings are logged unless switched off."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(4, 4)
            self.unused = nn.Linear(4, 4)

        def forward(self, x):
            return flow.sigmoid(self.used(x))

    with caplog.at_level(logging.WARNING):
        flops = FlopCountAnalysis(M(), flow.randn(2, 4))
        assert flops.uncalled_modules() == {"unused"}
    text = caplog.text
    assert "Unsupported operator aten::sigmoid encountered 1 time(s)" in text and "unused" in text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        flops = FlopCountAnalysis(M(), flow.randn(2, 4)).unsupported_ops_warnings(False)
        flops.uncalled_modules_warnings(False).total()
    assert caplog.text == ""


def test_caller_mode_is_refused():
    with pytest.raises(ValueError, match="owner"):
        FlopCountAnalysis(nn.Linear(3, 2), flow.randn(1, 3)).ancestor_mode("caller")


def test_counts_the_model_as_it_is_and_leaves_it_so():
    """fvcore traces a model in its own mode: a BatchNorm2d(4) left in training mode computes
    batch statistics, fvcore's 5 per element with affine: 5 x (2 x 4 x 3 x 3) = 360; in eval
    mode 2 per element: 144. The running statistics and the flag are as before afterwards."""
    import flowflops

    bn = nn.BatchNorm2d(4)
    x = flow.randn(2, 4, 3, 3)
    mean = bn.running_mean.numpy().copy()
    assert FlopCountAnalysis(bn, x).total() == 360
    assert bn.training and (bn.running_mean.numpy() == mean).all()
    assert FlopCountAnalysis(bn.eval(), x).total() == 144
    with pytest.raises(ValueError, match="mode='eager' only"):
        flowflops.profile(bn, (2, 4, 3, 3), mode="graph", convention="fvcore",
                          backend_specific_config={"keep_training": True})


@pytest.mark.parametrize("forward, shape, total, unsupported", [
    # 2 calls x (4 x 16 x 8 = 512); the sum of the two is an unsupported aten::add
    (lambda s, x: nn.functional.linear(x, s.w, s.b) + nn.functional.linear(x, s.w), (4, 16), 2 * 4 * 16 * 8,
     {"aten::add": 1}),
    # a 3-d input: 2 x 3 x 16 x 8 = 768; relu is one of fvcore's ignored ops
    (lambda s, x: nn.functional.relu(nn.functional.linear(x, s.w, s.b)), (2, 3, 16), 2 * 3 * 16 * 8, {}),
])
def test_functional_linear_is_one_aten_linear(forward, shape, total, unsupported):
    """OneFlow's F.linear runs a matmul and then an in-place bias add. fvcore traces one
    ``aten::linear`` instead (and lists no ``aten::add_``). fvcore 0.1.5.post20221221 and torch
    2.14.1 gave these figures on the torch twins (2026-12-07 18:00 UTC): totals 1,024 and 768,
    all under 'linear', with unsupported {'aten::add': 1} and {}. They match the hand-derived
    products above. Before the fix, flowflops gave {'matmul': 1024} and listed an
    'aten::add_'."""
    analysis = FlopCountAnalysis(Weights(forward), (flow.ones(*shape),))
    analysis.unsupported_ops_warnings(False)
    assert analysis.total() == total
    assert dict(analysis.by_operator()) == {"linear": total}
    assert dict(analysis.unsupported_ops()) == unsupported
