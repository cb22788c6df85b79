"""flowflops.FlopCounterMode counting the backward pass, against torch 2.14.1's own FlopCounterMode.

Every expected value is what torch's FlopCounterMode returned (``get_flop_counts()``, op packets
written as ``str(op)``) or printed (``get_table()``) for the PyTorch twins of
tests/peers/backward_twins.py: torch 2.14.1+cu130 (CPU) in /work/peers-venv, 2026-12-07 21:36 UTC,
``/work/peers-venv/bin/python benchmarks/peer_flop_counter_backward.py``.

By hand, for reading (torch/utils/flop_counter.py): the MLP (fc1 16->32, fc2 32->8, batch 4)
forward is addmm 2*4*16*32 = 4,096 and 2*4*32*8 = 2,048; its backward one aten.mm per operand
that needs a gradient, each priced as its forward: fc2 input and weight 2*2,048, fc1 weight
4,096 (its input x needs none): 8,192 = the ``("mlp", False)`` row. The depthwise convolution
(8 channels, groups 8, 3x3, 2x8x8) is 2*2*8*8*9*8 = 18,432 forward; its backward prices the input
gradient as the forward and the weight gradient as the forward times groups:
18,432 + 8*18,432 = 165,888.
"""
import json
import os
import warnings

import oneflow as flow
import pytest

import flowflops
from flowflops import FlopCounterMode

from .backward_twins import CASES, backward_models, scenarios

#: (case, input requires grad) -> torch's get_flop_counts() for ``model(x).sum().backward()``
TORCH_COUNTS = {('conv', False): {'Conv2d': {'aten.convolution': 55296, 'aten.convolution_backward': 55296},
                   'Global': {'aten.convolution': 55296, 'aten.convolution_backward': 55296}},
 ('conv', True): {'Conv2d': {'aten.convolution': 55296, 'aten.convolution_backward': 110592},
                  'Global': {'aten.convolution': 55296, 'aten.convolution_backward': 110592}},
 ('conv_nobias', False): {'Conv2d': {'aten.convolution': 55296, 'aten.convolution_backward': 55296},
                          'Global': {'aten.convolution': 55296, 'aten.convolution_backward': 55296}},
 ('conv_nobias', True): {'Conv2d': {'aten.convolution': 55296, 'aten.convolution_backward': 110592},
                         'Global': {'aten.convolution': 55296, 'aten.convolution_backward': 110592}},
 ('convnet', False): {'ConvNet': {'aten.addmm': 10240,
                                  'aten.convolution': 81920,
                                  'aten.convolution_backward': 237568,
                                  'aten.mm': 20480},
                      'ConvNet.conv1': {'aten.convolution': 55296, 'aten.convolution_backward': 55296},
                      'ConvNet.dw': {'aten.convolution': 18432, 'aten.convolution_backward': 165888},
                      'ConvNet.fc': {'aten.addmm': 10240, 'aten.mm': 20480},
                      'ConvNet.up': {'aten.convolution': 8192, 'aten.convolution_backward': 16384},
                      'Global': {'aten.addmm': 10240,
                                 'aten.convolution': 81920,
                                 'aten.convolution_backward': 237568,
                                 'aten.mm': 20480}},
 ('convnet', True): {'ConvNet': {'aten.addmm': 10240,
                                 'aten.convolution': 81920,
                                 'aten.convolution_backward': 292864,
                                 'aten.mm': 20480},
                     'ConvNet.conv1': {'aten.convolution': 55296, 'aten.convolution_backward': 110592},
                     'ConvNet.dw': {'aten.convolution': 18432, 'aten.convolution_backward': 165888},
                     'ConvNet.fc': {'aten.addmm': 10240, 'aten.mm': 20480},
                     'ConvNet.up': {'aten.convolution': 8192, 'aten.convolution_backward': 16384},
                     'Global': {'aten.addmm': 10240,
                                'aten.convolution': 81920,
                                'aten.convolution_backward': 292864,
                                'aten.mm': 20480}},
 ('convnet_nobias', False): {'ConvNet': {'aten.convolution': 81920,
                                         'aten.convolution_backward': 237568,
                                         'aten.mm': 30720},
                             'ConvNet.conv1': {'aten.convolution': 55296, 'aten.convolution_backward': 55296},
                             'ConvNet.dw': {'aten.convolution': 18432, 'aten.convolution_backward': 165888},
                             'ConvNet.fc': {'aten.mm': 30720},
                             'ConvNet.up': {'aten.convolution': 8192, 'aten.convolution_backward': 16384},
                             'Global': {'aten.convolution': 81920,
                                        'aten.convolution_backward': 237568,
                                        'aten.mm': 30720}},
 ('convnet_nobias', True): {'ConvNet': {'aten.convolution': 81920,
                                        'aten.convolution_backward': 292864,
                                        'aten.mm': 30720},
                            'ConvNet.conv1': {'aten.convolution': 55296, 'aten.convolution_backward': 110592},
                            'ConvNet.dw': {'aten.convolution': 18432, 'aten.convolution_backward': 165888},
                            'ConvNet.fc': {'aten.mm': 30720},
                            'ConvNet.up': {'aten.convolution': 8192, 'aten.convolution_backward': 16384},
                            'Global': {'aten.convolution': 81920,
                                       'aten.convolution_backward': 292864,
                                       'aten.mm': 30720}},
 ('linear', False): {'Global': {'aten.addmm': 1024, 'aten.mm': 1024},
                     'Linear': {'aten.addmm': 1024, 'aten.mm': 1024}},
 ('linear', True): {'Global': {'aten.addmm': 1024, 'aten.mm': 2048},
                    'Linear': {'aten.addmm': 1024, 'aten.mm': 2048}},
 ('linear_3d', False): {'Global': {'aten.addmm': 2560, 'aten.mm': 2560},
                        'Linear': {'aten.addmm': 2560, 'aten.mm': 2560}},
 ('linear_3d', True): {'Global': {'aten.addmm': 2560, 'aten.mm': 5120},
                       'Linear': {'aten.addmm': 2560, 'aten.mm': 5120}},
 ('linear_nobias', False): {'Global': {'aten.mm': 2048}, 'Linear': {'aten.mm': 2048}},
 ('linear_nobias', True): {'Global': {'aten.mm': 3072}, 'Linear': {'aten.mm': 3072}},
 ('mlp', False): {'Global': {'aten.addmm': 6144, 'aten.mm': 8192},
                  'MLP': {'aten.addmm': 6144, 'aten.mm': 8192},
                  'MLP.fc1': {'aten.addmm': 4096, 'aten.mm': 4096},
                  'MLP.fc2': {'aten.addmm': 2048, 'aten.mm': 4096}},
 ('mlp', True): {'Global': {'aten.addmm': 6144, 'aten.mm': 12288},
                 'MLP': {'aten.addmm': 6144, 'aten.mm': 12288},
                 'MLP.fc1': {'aten.addmm': 4096, 'aten.mm': 8192},
                 'MLP.fc2': {'aten.addmm': 2048, 'aten.mm': 4096}},
 ('mlp_nobias', False): {'Global': {'aten.mm': 14336},
                         'MLP': {'aten.mm': 14336},
                         'MLP.fc1': {'aten.mm': 8192},
                         'MLP.fc2': {'aten.mm': 6144}},
 ('mlp_nobias', True): {'Global': {'aten.mm': 18432},
                        'MLP': {'aten.mm': 18432},
                        'MLP.fc1': {'aten.mm': 12288},
                        'MLP.fc2': {'aten.mm': 6144}}}

#: scenario -> torch's get_flop_counts() (the bodies are in backward_twins.scenarios)
TORCH_SCENARIOS = {'called_twice': {'Global': {'aten.addmm': 12288, 'aten.mm': 16384},
                  'MLP': {'aten.addmm': 12288, 'aten.mm': 16384},
                  'MLP.fc1': {'aten.addmm': 8192, 'aten.mm': 12288},
                  'MLP.fc2': {'aten.addmm': 4096, 'aten.mm': 8192}},
 'frozen_weight': {'Global': {'aten.addmm': 6144, 'aten.mm': 8192},
                   'MLP': {'aten.addmm': 6144, 'aten.mm': 8192},
                   'MLP.fc1': {'aten.addmm': 4096, 'aten.mm': 4096},
                   'MLP.fc2': {'aten.addmm': 2048, 'aten.mm': 4096}},
 'functional': {'Global': {'aten.mm': 2048}},
 'no_grad_forward': {'Global': {'aten.addmm': 12288, 'aten.mm': 8192},
                     'MLP': {'aten.addmm': 12288, 'aten.mm': 8192},
                     'MLP.fc1': {'aten.addmm': 8192, 'aten.mm': 4096},
                     'MLP.fc2': {'aten.addmm': 4096, 'aten.mm': 4096}},
 'one_of_two_outputs': {'Global': {'aten.addmm': 6144, 'aten.mm': 9216},
                        'Linear': {'aten.mm': 1024},
                        'MLP': {'aten.addmm': 6144, 'aten.mm': 8192},
                        'MLP.fc1': {'aten.addmm': 4096, 'aten.mm': 4096},
                        'MLP.fc2': {'aten.addmm': 2048, 'aten.mm': 4096}},
 'resnet_block': {'Global': {'aten.addmm': 20480,
                             'aten.convolution': 366592,
                             'aten.convolution_backward': 677888,
                             'aten.mm': 40960},
                  'ResNetish': {'aten.addmm': 20480,
                                'aten.convolution': 366592,
                                'aten.convolution_backward': 677888,
                                'aten.mm': 40960},
                  'ResNetish.block': {'aten.convolution': 311296, 'aten.convolution_backward': 622592},
                  'ResNetish.block.conv1': {'aten.convolution': 147456, 'aten.convolution_backward': 294912},
                  'ResNetish.block.conv2': {'aten.convolution': 147456, 'aten.convolution_backward': 294912},
                  'ResNetish.block.down': {'aten.convolution': 16384, 'aten.convolution_backward': 622592},
                  'ResNetish.head': {'aten.addmm': 20480, 'aten.mm': 40960},
                  'ResNetish.stem': {'aten.convolution': 55296, 'aten.convolution_backward': 55296}},
 'retained_twice': {'Global': {'aten.addmm': 6144, 'aten.mm': 16384},
                    'MLP': {'aten.addmm': 6144, 'aten.mm': 16384},
                    'MLP.fc1': {'aten.addmm': 4096, 'aten.mm': 8192},
                    'MLP.fc2': {'aten.addmm': 2048, 'aten.mm': 8192}},
 'through_views': {'Global': {'aten.addmm': 10240, 'aten.mm': 18432},
                   'Viewed': {'aten.addmm': 10240, 'aten.mm': 18432},
                   'Viewed.mix': {'aten.addmm': 8192, 'aten.mm': 16384},
                   'Viewed.mix.fc': {'aten.addmm': 4096, 'aten.mm': 8192},
                   'Viewed.mix.proj': {'aten.addmm': 4096, 'aten.mm': 8192},
                   'Viewed.stem': {'aten.addmm': 2048, 'aten.mm': 2048}},
 'two_inputs': {'Global': {'aten.addmm': 2048, 'aten.mm': 2048},
                'TwoInputs': {'aten.addmm': 2048, 'aten.mm': 2048},
                'TwoInputs.a': {'aten.addmm': 1024, 'aten.mm': 1024},
                'TwoInputs.b': {'aten.addmm': 1024, 'aten.mm': 2048}},
 'two_inputs_requiring_grad': {'Global': {'aten.addmm': 2048, 'aten.mm': 4096},
                               'TwoInputs': {'aten.addmm': 2048, 'aten.mm': 4096},
                               'TwoInputs.a': {'aten.addmm': 1024, 'aten.mm': 2048},
                               'TwoInputs.b': {'aten.addmm': 1024, 'aten.mm': 2048}},
 'two_steps': {'ConvNet': {'aten.addmm': 20480,
                           'aten.convolution': 163840,
                           'aten.convolution_backward': 475136,
                           'aten.mm': 40960},
               'ConvNet.conv1': {'aten.convolution': 110592, 'aten.convolution_backward': 110592},
               'ConvNet.dw': {'aten.convolution': 36864, 'aten.convolution_backward': 331776},
               'ConvNet.fc': {'aten.addmm': 20480, 'aten.mm': 40960},
               'ConvNet.up': {'aten.convolution': 16384, 'aten.convolution_backward': 32768},
               'Global': {'aten.addmm': 20480,
                          'aten.convolution': 163840,
                          'aten.convolution_backward': 475136,
                          'aten.mm': 40960}}}

#: torch's table for ("convnet", False), depth 2
CONVNET_TABLE = """\
Module                           FLOP    % Total
---------------------------  --------  ---------
ConvNet                      350.208K    100.00%
- aten.convolution            81.920K     23.39%
- aten.addmm                  10.240K      2.92%
- aten.mm                     20.480K      5.85%
- aten.convolution_backward  237.568K     67.84%
ConvNet.conv1                110.592K     31.58%
- aten.convolution            55.296K     15.79%
- aten.convolution_backward   55.296K     15.79%
ConvNet.dw                   184.320K     52.63%
- aten.convolution            18.432K      5.26%
- aten.convolution_backward  165.888K     47.37%
ConvNet.fc                    30.720K      8.77%
- aten.addmm                  10.240K      2.92%
- aten.mm                     20.480K      5.85%
ConvNet.up                    24.576K      7.02%
- aten.convolution             8.192K      2.34%
- aten.convolution_backward   16.384K      4.68%
"""


def _flowflops_warnings(seen):
    return [str(w.message) for w in seen if "FlopCounterMode" in str(w.message)]


@pytest.mark.parametrize("requires_grad", [False, True], ids=["x", "x_requires_grad"])
@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_forward_and_backward_as_torch(case, requires_grad):
    _, name, kw, shape = next(c for c in CASES if c[0] == case)
    model = backward_models(flow)[name](**kw)
    x = flow.randn(*shape, requires_grad=requires_grad)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with FlopCounterMode(display=False) as fc:
            loss = model(x).sum()
            loss.backward()
    expected = TORCH_COUNTS[(case, requires_grad)]
    assert fc.get_flop_counts() == expected
    assert fc.get_total_flops() == sum(expected["Global"].values())
    assert _flowflops_warnings(seen) == []
    assert model.weight.grad is not None if hasattr(model, "weight") else True
    assert (x.grad is not None) == requires_grad


def test_printed_table_as_torch(capsys):
    model = backward_models(flow)["ConvNet"](bias=True)
    with FlopCounterMode(depth=2) as fc:
        model(flow.randn(2, 3, 8, 8)).sum().backward()
    assert capsys.readouterr().out == CONVNET_TABLE
    assert fc.get_table() + "\n" == CONVNET_TABLE


@pytest.mark.parametrize("name", ["retained_twice", "one_of_two_outputs", "two_steps", "no_grad_forward",
                                  "frozen_weight", "two_inputs", "called_twice", "resnet_block", "through_views"])
def test_scenario_as_torch(name):
    # through_views: stem 2*8*8*16 = 2,048 forward and its weight's gradient; fc and proj 2*8*16*16
    # = 4,096 forward and 2 x 4,096 backward each. proj's input is made by functional views: the
    # count walks OneFlow's autograd nodes back to fc's output (it warned here when that walk lost
    # nodes whose Python objects were freed and their ids reused)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fc = scenarios(flow, FlopCounterMode)[name]()
    assert fc.get_flop_counts() == TORCH_SCENARIOS[name]
    assert _flowflops_warnings(seen) == []


def test_modules_torch_keeps_open_get_the_gradients_torch_puts_under_them():
    # the three bodies where torch's ModuleTracker counts a gradient under a module that is not
    # its forward's (the data above); by hand:
    # two_inputs: a's weight gradient mm 2*4*16*8 = 1,024 also under b (b's input needs no
    # gradient: never closed; b's gradient runs first): b's mm 1,024 + 1,024
    assert TORCH_SCENARIOS["two_inputs"]["TwoInputs.b"]["aten.mm"] == 2 * 1024
    # called_twice: the second call's fc1 stays open over the first call's fc2 (input and weight
    # gradients, 2 * 2*4*32*8 = 4,096): fc1's mm is 2 * 4,096 (weights) + 4,096
    assert TORCH_SCENARIOS["called_twice"]["MLP.fc1"]["aten.mm"] == 2 * 4096 + 4096
    # resnet_block: ``down`` (1x1, called last) is closed only when its input's (the stem's output)
    # gradient is ready, after conv2's and conv1's gradients (each 2 x 2*2*8*8*8*8*9 = 294,912);
    # its own: 2 x 2*2*8*8*8*8 = 32,768
    assert TORCH_SCENARIOS["resnet_block"]["ResNetish.block.down"]["aten.convolution_backward"] == (
        2 * 16384 + 2 * 294912)


def test_where_the_window_cannot_be_told_it_warns_and_keeps_each_gradient_under_its_modules():
    # inputs that are leaf tensors needing a gradient: torch closes b once every use of y has its
    # gradient, which the count cannot see (a function of y made before b would keep it open).
    # Here y has one use and torch's counts equal the forward's modules': the warning is
    # conservative, the numbers are torch's
    with pytest.warns(UserWarning, match="TwoInputs.a's under TwoInputs.b.*may differ from torch's"):
        fc = scenarios(flow, FlopCounterMode)["two_inputs_requiring_grad"]()
    assert fc.get_flop_counts() == TORCH_SCENARIOS["two_inputs_requiring_grad"]


def test_functional_products_warn_that_their_backward_is_not_counted():
    # torch: forward mm 2*4*16*8 = 1,024, backward (w only needs a gradient) mm 1,024: 2,048
    assert TORCH_SCENARIOS["functional"] == {"Global": {"aten.mm": 2048}}
    with pytest.warns(UserWarning, match=r"does not count the backward of aten\.mm x1"):
        fc = scenarios(flow, FlopCounterMode)["functional"]()
    assert fc.get_flop_counts() == {"Global": {"aten.mm": 1024}}


def test_autograd_grad_warns_and_counts_no_gradient():
    model = backward_models(flow)["Linear"](bias=False)
    x = flow.randn(4, 16, requires_grad=True)
    with pytest.warns(UserWarning, match="does not count flow.autograd.grad"):
        with FlopCounterMode(display=False) as fc:
            (g,) = flow.autograd.grad(model(x).sum(), [x])
    assert tuple(g.shape) == (4, 16)
    assert fc.get_flop_counts() == {"Linear": {"aten.mm": 1024}, "Global": {"aten.mm": 1024}}  # 2*4*16*8


def test_patches_are_put_back():
    before = (flow.Tensor.backward, flow.autograd.backward, flow.autograd.grad)
    model = backward_models(flow)["MLP"](bias=True)
    with FlopCounterMode(display=False):
        model(flow.randn(4, 16)).sum().backward()
    assert (flow.Tensor.backward, flow.autograd.backward, flow.autograd.grad) == before


def test_a_call_that_raises_leaves_no_layer_call_for_the_next():
    # a forward that raises in its real run (not in flowflops' count of it, the first run) after its
    # Linear ran: the next call of the same model pairs its Linear's op with its own call
    runs = []

    class Fails(flow.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = flow.nn.Linear(16, 8)

        def forward(self, x):
            runs.append(1)
            y = self.fc(x)
            if len(runs) == 2:
                raise RuntimeError("user error")
            return y

    model = Fails()
    with FlopCounterMode(display=False) as fc:
        with pytest.raises(RuntimeError, match="user error"):
            model(flow.randn(4, 16))
        model(flow.randn(4, 16)).sum().backward()
    assert len(runs) == 4
    # forward addmm 2*4*16*8 = 1,024 twice (the failing call's count ran); backward: the weight's
    # gradient mm 1,024 (x needs none), of the second call only
    assert fc.get_flop_counts() == {k: {"aten.addmm": 2048, "aten.mm": 1024} for k in ("Global", "Fails", "Fails.fc")}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "densenet121"])
def test_zoo_forward_and_backward_as_torch(name):
    # torch's counts of torchvision's models (tool, version, date in the file; made by
    # benchmarks/peer_flop_counter_backward_zoo.py): every module's dict, downsample's and the dense
    # layers' gradients under the modules torch's ModuleTracker leaves open included
    flowvision = pytest.importorskip("flowvision")
    with open(os.path.join(os.path.dirname(__file__), "golden", "flop_counter_backward_zoo.json")) as f:
        golden = json.load(f)
    assert golden["version"] == "2.14.1+cu130"
    model = getattr(flowvision.models, name)()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with FlopCounterMode(display=False) as fc:
            model(flow.randn(*golden["input"])).sum().backward()
    assert fc.get_flop_counts() == golden["counts"][name]
    assert _flowflops_warnings(seen) == []


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_a_training_step_under_torch_is_torchs_forward_and_backward(case):
    # profile(mode="train", convention="torch"): the compiled step's gradient ops priced by torch's
    # formulas (conv_data_grad, conv_filter_grad, broadcast_matmul_grad_b: formulas/peers/torch_counter.py)
    # give torch's FlopCounterMode total of model(x).sum().backward() (x needs no gradient). Before,
    # those ops were priced 0 under "torch": conv 55,296 of 110,592, convnet 120,832 of 350,208,
    # linear_3d 2,560 of 5,120
    _, name, kw, shape = next(c for c in CASES if c[0] == case)
    model = backward_models(flow)[name](**kw)
    report = flowflops.profile(model, shape, mode="train", convention="torch", loss_fn=lambda out, _: out.sum())
    assert report.flops == sum(TORCH_COUNTS[(case, False)]["Global"].values())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "densenet121"])
def test_zoo_training_step_under_torch_is_torchs_forward_and_backward(name):
    flowvision = pytest.importorskip("flowvision")
    with open(os.path.join(os.path.dirname(__file__), "golden", "flop_counter_backward_zoo.json")) as f:
        golden = json.load(f)
    model = getattr(flowvision.models, name)()
    report = flowflops.profile(model, tuple(golden["input"]), mode="train", convention="torch",
                               loss_fn=lambda out, _: out.sum())
    assert report.flops == sum(golden["counts"][name]["Global"].values())
