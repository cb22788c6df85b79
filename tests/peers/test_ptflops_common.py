"""ptflops' own test file (sovrasov/flops-counter.pytorch v0.7.5, tests/common_test.py),
translated only by ``torch`` -> ``oneflow`` and ``ptflops`` -> ``flowflops.ptflops``: every
``input_res`` is written as ptflops writes it (no batch dimension: a batch of 1 is
prepended), and every expected number is ptflops' own, unchanged.

Backends (flowflops/ptflops/flops_counter.py): ``PYTORCH`` -> the eager engine under the
"ptflops" convention, functional counting on unless ``count_functional`` is False; ``ATEN`` ->
the eager engine under "ptflops-aten"; its aten ops in ``ignore_modules`` /
``custom_modules_hooks`` are OneFlow op type names (``torch.ops.aten.mm`` -> ``"matmul"``:
OneFlow runs ``x.matmul(x.t())`` as one ``matmul``).

After the upstream tests: what ptflops 0.7.5 itself printed and returned (torch 2.14.1, CPU,
2026-12-07, /work/peers-venv) for the same small models, as data.
"""
import pytest
import oneflow as flow
import oneflow.nn as nn

from flowflops.ptflops import get_model_complexity_info
from flowflops.ptflops.flops_counter import FLOPS_BACKEND


class TestOperations:
    @pytest.fixture
    def default_input_image_size(self):
        return (3, 224, 224)

    @pytest.fixture
    def simple_model_mm(self):
        class CustomModel(nn.Module):
            def __init__(self):
                super().__init__()

            def forward(self, x):
                return x.matmul(x.t())

        return CustomModel()

    @pytest.mark.parametrize("backend", [FLOPS_BACKEND.PYTORCH, FLOPS_BACKEND.ATEN])
    def test_conv(self, default_input_image_size, backend: FLOPS_BACKEND):
        net = nn.Sequential(nn.Conv2d(3, 2, 3, bias=True))
        macs, params = get_model_complexity_info(net, default_input_image_size,
                                                 as_strings=False,
                                                 print_per_layer_stat=False,
                                                 backend=backend)

        assert params == 3 * 3 * 2 * 3 + 2
        assert macs == 2759904

    @pytest.mark.parametrize("backend", [FLOPS_BACKEND.PYTORCH, FLOPS_BACKEND.ATEN])
    def test_conv_t(self, default_input_image_size, backend: FLOPS_BACKEND):
        net = nn.ConvTranspose2d(3, 2, 3, stride=(2, 2), bias=True)
        macs, params = get_model_complexity_info(net, default_input_image_size,
                                                 as_strings=False,
                                                 print_per_layer_stat=False,
                                                 backend=backend)

        assert params == 3 * 3 * 2 * 3 + 2
        assert macs == 3112706

    @pytest.mark.parametrize("backend", [FLOPS_BACKEND.PYTORCH, FLOPS_BACKEND.ATEN])
    def test_fc(self, backend: FLOPS_BACKEND):
        net = nn.Sequential(nn.Linear(3, 2, bias=True))
        macs, params = get_model_complexity_info(net, (3,),
                                                 as_strings=False,
                                                 print_per_layer_stat=False,
                                                 backend=backend)

        assert params == 3 * 2 + 2
        assert macs == 8

    @pytest.mark.parametrize("backend", [FLOPS_BACKEND.PYTORCH, FLOPS_BACKEND.ATEN])
    def test_fc_multidim(self, backend: FLOPS_BACKEND):
        net = nn.Sequential(nn.Linear(3, 2, bias=False))
        macs, params = get_model_complexity_info(net, (4, 5, 3),
                                                 as_strings=False,
                                                 print_per_layer_stat=False,
                                                 backend=backend)

        assert params == 3 * 2
        assert macs == (3 * 2) * 4 * 5

    def test_input_constructor_tensor(self):
        net = nn.Sequential(nn.Linear(3, 2, bias=True))

        def input_constructor(input_res):
            return flow.ones(()).new_empty((1, *input_res))

        macs, params = get_model_complexity_info(net, (3,),
                                                 input_constructor=input_constructor,
                                                 as_strings=False,
                                                 print_per_layer_stat=False,
                                                 backend=FLOPS_BACKEND.PYTORCH)

        assert (macs, params) == (8, 8)

    def test_input_constructor_dict(self):
        class CustomLinear(nn.Module):
            def __init__(self):
                super().__init__()
                self.linear = nn.Linear(3, 2, bias=True)

            def forward(self, x):
                return self.linear(x)

        def input_constructor(input_res):
            return dict(x=flow.ones(()).new_empty((1, *input_res)))

        macs, params = \
            get_model_complexity_info(CustomLinear(), (3,),
                                      input_constructor=input_constructor,
                                      as_strings=False,
                                      print_per_layer_stat=False,
                                      backend=FLOPS_BACKEND.PYTORCH)

        assert (macs, params) == (8, 8)

    @pytest.mark.parametrize("out_size", [(20, 20), 20])
    def test_func_interpolate_args(self, out_size):
        class CustomModel(nn.Module):
            def __init__(self):
                super().__init__()

            def forward(self, x):
                return nn.functional.interpolate(input=x, size=out_size,
                                                 mode='bilinear', align_corners=False)

        macs, params = \
            get_model_complexity_info(CustomModel(), (3, 10, 10),
                                      as_strings=False,
                                      print_per_layer_stat=False,
                                      backend=FLOPS_BACKEND.PYTORCH)

        assert params == 0
        assert macs == 1200

        CustomModel.forward = lambda self, x: nn.functional.interpolate(x, out_size,
                                                                        mode='bilinear')

        macs, params = \
            get_model_complexity_info(CustomModel(), (3, 10, 10),
                                      as_strings=False,
                                      print_per_layer_stat=False,
                                      backend=FLOPS_BACKEND.PYTORCH)
        assert params == 0
        assert macs == 1200

        CustomModel.forward = lambda self, x: nn.functional.interpolate(x, scale_factor=2,
                                                                        mode='bilinear')

        macs, params = \
            get_model_complexity_info(CustomModel(), (3, 10, 10),
                                      as_strings=False,
                                      print_per_layer_stat=False,
                                      backend=FLOPS_BACKEND.PYTORCH)
        assert params == 0
        assert macs == 1200

    def test_ten_matmul(self, simple_model_mm):
        macs, params = \
            get_model_complexity_info(simple_model_mm, (10,),
                                      as_strings=False,
                                      print_per_layer_stat=False,
                                      backend=FLOPS_BACKEND.PYTORCH)

        assert params == 0
        assert macs > 0

    def test_aten_ignore(self, simple_model_mm):
        ignored_list = ["matmul"]  # ptflops: [torch.ops.aten.matmul, torch.ops.aten.mm]
        macs, params = \
            get_model_complexity_info(simple_model_mm, (10,), backend=FLOPS_BACKEND.ATEN,
                                      as_strings=False,
                                      print_per_layer_stat=False,
                                      ignore_modules=ignored_list)

        assert params == 0
        assert macs == 0

    def test_aten_custom(self, simple_model_mm):
        reference = 42
        custom_hooks = {"matmul": lambda inputs, outputs: reference}  # ptflops: torch.ops.aten.mm

        macs, params = \
            get_model_complexity_info(simple_model_mm, (10,), backend=FLOPS_BACKEND.ATEN,
                                      as_strings=False,
                                      print_per_layer_stat=False,
                                      custom_modules_hooks=custom_hooks)

        assert params == 0
        assert macs == reference

    def test_torch_ignore_func(self, simple_model_mm):
        macs, params = \
            get_model_complexity_info(simple_model_mm, (10,),
                                      backend=FLOPS_BACKEND.PYTORCH,
                                      as_strings=False,
                                      print_per_layer_stat=False,
                                      backend_specific_config={'count_functional': False})

        assert params == 0
        assert macs == 0


# ---------------------------------------------------------------------------------------------
# What ptflops 0.7.5 itself printed and returned (torch 2.14.1, CPU, 2026-12-07, /work/peers-venv;
# /tmp script: get_model_complexity_info(m, shape[1:], as_strings=True, print_per_layer_stat=True,
# verbose=True, ost=buf, backend=..., backend_specific_config=cfg)) on the PyTorch twins of
# tests/peers/twin_models.py. Each per-layer row is kept up to its "% MACs" field: the rest of the
# line is the module's own extra_repr, which is OneFlow's here (torch 2.14 adds "bias=True" to
# norms, writes MaxPool2d's sizes as ints, ...).

from .twin_models import small_models  # noqa: E402

PTFLOPS_PRINTED = {
    ("conv_relu", True): (
        ("491.52 KMac", "448"),
        ["Warning: module ConvReLU is treated as a zero-op."],
        ["ConvReLU(448, 100.000% Params, 475.14 KMac, 96.667% MACs",
         "(conv): Conv2d(448, 100.000% Params, 458.75 KMac, 93.333% MACs",
         "(relu): ReLU(0, 0.000% Params, 16.38 KMac, 3.333% MACs"]),
    ("conv_relu", False): (
        ("475.14 KMac", "448"),
        ["Warning: module ConvReLU is treated as a zero-op."],
        ["ConvReLU(448, 100.000% Params, 475.14 KMac, 100.000% MACs",
         "(conv): Conv2d(448, 100.000% Params, 458.75 KMac, 96.552% MACs",
         "(relu): ReLU(0, 0.000% Params, 16.38 KMac, 3.448% MACs"]),
    ("small_cnn", True): (
        ("585.9 KMac", "1.57 k"),
        ["Warning: module SmallCNN is treated as a zero-op."],
        ["SmallCNN(1.57 k, 100.000% Params, 561.32 KMac, 95.805% MACs",
         "(conv1): Conv2d(216, 13.758% Params, 221.18 KMac, 37.751% MACs",
         "(bn1): BatchNorm2d(16, 1.019% Params, 16.38 KMac, 2.796% MACs",
         "(relu): ReLU(0, 0.000% Params, 8.19 KMac, 1.398% MACs",
         "(pool): MaxPool2d(0, 0.000% Params, 8.19 KMac, 1.398% MACs",
         "(conv2): Conv2d(1.17 k, 74.395% Params, 299.01 KMac, 51.034% MACs",
         "(act2): ELU(0, 0.000% Params, 4.1 KMac, 0.699% MACs",
         "(avg): AdaptiveAvgPool2d(0, 0.000% Params, 4.1 KMac, 0.699% MACs",
         "(fc): Linear(170, 10.828% Params, 170.0 Mac, 0.029% MACs"]),
    ("small_cnn", False): (
        ("561.32 KMac", "1.57 k"),
        ["Warning: module SmallCNN is treated as a zero-op."],
        ["SmallCNN(1.57 k, 100.000% Params, 561.32 KMac, 100.000% MACs",
         "(conv1): Conv2d(216, 13.758% Params, 221.18 KMac, 39.404% MACs",
         "(bn1): BatchNorm2d(16, 1.019% Params, 16.38 KMac, 2.919% MACs",
         "(relu): ReLU(0, 0.000% Params, 8.19 KMac, 1.459% MACs",
         "(pool): MaxPool2d(0, 0.000% Params, 8.19 KMac, 1.459% MACs",
         "(conv2): Conv2d(1.17 k, 74.395% Params, 299.01 KMac, 53.269% MACs",
         "(act2): ELU(0, 0.000% Params, 4.1 KMac, 0.730% MACs",
         "(avg): AdaptiveAvgPool2d(0, 0.000% Params, 4.1 KMac, 0.730% MACs",
         "(fc): Linear(170, 10.828% Params, 170.0 Mac, 0.030% MACs"]),
    ("mlp_block", True): (
        ("70.14 KMac", "4.26 k"),
        ["Warning: module Softmax is treated as a zero-op.",
         "Warning: module MLPBlock is treated as a zero-op."],
        ["MLPBlock(4.26 k, 100.000% Params, 68.61 KMac, 97.810% MACs",
         "(norm): LayerNorm(64, 1.504% Params, 512.0 Mac, 0.730% MACs",
         "(fc1): Linear(2.11 k, 49.624% Params, 33.79 KMac, 48.175% MACs",
         "(act): GELU(0, 0.000% Params, 1.02 KMac, 1.460% MACs",
         "(fc2): Linear(2.08 k, 48.872% Params, 33.28 KMac, 47.445% MACs",
         "(softmax): Softmax(0, 0.000% Params, 0.0 Mac, 0.000% MACs"]),
    ("upnet", True): (
        ("14.08 KMac", "157"),
        ["Warning: module UpNet is treated as a zero-op."],
        ["UpNet(157, 100.000% Params, 12.8 KMac, 90.909% MACs",
         "(conv): Conv2d(148, 94.268% Params, 9.47 KMac, 67.273% MACs",
         "(prelu): PReLU(1, 0.637% Params, 256.0 Mac, 1.818% MACs",
         "(up): Upsample(0, 0.000% Params, 1.02 KMac, 7.273% MACs",
         "(gn): GroupNorm(8, 5.096% Params, 2.05 KMac, 14.545% MACs"]),
    ("upnet", False): (
        ("12.8 KMac", "157"),
        ["Warning: module UpNet is treated as a zero-op."],
        ["UpNet(157, 100.000% Params, 12.8 KMac, 100.000% MACs",
         "(conv): Conv2d(148, 94.268% Params, 9.47 KMac, 74.000% MACs",
         "(prelu): PReLU(1, 0.637% Params, 256.0 Mac, 2.000% MACs",
         "(up): Upsample(0, 0.000% Params, 1.02 KMac, 8.000% MACs",
         "(gn): GroupNorm(8, 5.096% Params, 2.05 KMac, 16.000% MACs"]),
}


def _rows(printed: str) -> list:
    """Each module's line of the printout, up to its "% MACs" field (the root's header and its
    stats line joined, as ptflops prints them on two lines)."""
    lines = [ln.strip() for ln in printed.strip().split("\n")]
    rows = []
    for i, ln in enumerate(lines):
        if "% MACs" not in ln:
            continue
        head = ln[: ln.index("% MACs") + len("% MACs")]
        rows.append(lines[i - 1] + head if i == 1 else head)
    return rows


@pytest.mark.parametrize("name,functional", list(PTFLOPS_PRINTED))
def test_printout_as_ptflops(name, functional):
    import io

    strings, zero_ops, rows = PTFLOPS_PRINTED[(name, functional)]
    model, shape = small_models(flow)[name]
    model.eval()
    buf = io.StringIO()
    got = get_model_complexity_info(model, tuple(shape[1:]), as_strings=True, print_per_layer_stat=True,
                                    verbose=True, ost=buf, backend=FLOPS_BACKEND.PYTORCH,
                                    backend_specific_config={"count_functional": functional})
    assert got == strings
    text = buf.getvalue()
    assert [ln for ln in text.split("\n") if ln.startswith("Warning")] == zero_ops
    assert _rows(text.split("\n", len(zero_ops))[-1]) == rows


def test_aten_printout_as_ptflops():
    """ptflops 0.7.5, backend="aten" on the "functional" twin printed (ops named by aten, here
    by OneFlow: aten.convolution -> conv2d, aten.bmm -> batch_matmul)::

        Total:61.44 KMac
        Module:  Global
        aten.convolution: 57.34 KMac
        aten.bmm: 4.1 KMac

        Module:  conv
        aten.convolution: 57.34 KMac
    and returned (61440, 224)."""
    import io

    model, shape = small_models(flow)["functional"]
    buf = io.StringIO()
    got = get_model_complexity_info(model, tuple(shape[1:]), as_strings=False, print_per_layer_stat=True,
                                    ost=buf, backend=FLOPS_BACKEND.ATEN)
    assert got == (61440, 224)
    assert buf.getvalue().split("\n")[:7] == [
        "Total:61.44 KMac", "Module:  Global", "conv2d: 57.34 KMac", "batch_matmul: 4.1 KMac", "",
        "Module:  conv", "conv2d: 57.34 KMac"]


@pytest.mark.parametrize("backend", [FLOPS_BACKEND.PYTORCH, FLOPS_BACKEND.ATEN])
def test_model_failure_as_ptflops(backend, capsys):
    """ptflops 0.7.5 on a forward that raises: prints "Flops estimation was not finished
    successfully because of the following exception:", the exception and its traceback, and
    returns (None, None)."""
    class Bad(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    got = get_model_complexity_info(Bad(), (3,), as_strings=True, print_per_layer_stat=False, backend=backend)
    assert got == (None, None)
    out = capsys.readouterr()
    assert "Flops estimation was not finished successfully because of the following exception" in out.out
    assert "boom" in out.out and "Traceback" in out.err


@pytest.mark.parametrize("functional", [True, False])
def test_article_api_printout_with_pytorch_backend(functional):
    """flowflops.get_model_complexity_info (the article's API: batch in input_res) with
    backend="pytorch" prints ptflops' verbose list and rows too (issue 26 F5, F6): the ReLU row
    is the module hook's 16,384 (16 x 32 x 32), not hook + F.relu."""
    import io

    import flowflops

    strings, zero_ops, rows = PTFLOPS_PRINTED[("conv_relu", functional)]
    model, shape = small_models(flow)["conv_relu"]
    buf = io.StringIO()
    got = flowflops.get_model_complexity_info(model, shape, print_per_layer_stat=True, verbose=True, ost=buf,
                                              backend="pytorch",
                                              backend_specific_config={"count_functional": functional})
    assert got == strings
    text = buf.getvalue()
    assert [ln for ln in text.split("\n") if ln.startswith("Warning")] == zero_ops
    assert _rows(text.split("\n", len(zero_ops))[-1]) == rows
