"""flowflops.FlopCounterMode, torch.utils.flop_counter.FlopCounterMode's shape, on the twins of
tests/peers/twin_models.py. Every expected value is what torch 2.14.1's FlopCounterMode itself
returned or printed for the PyTorch twin (CPU, eval mode, 2026-12-07, /work/peers-venv):
``get_flop_counts()`` (op packets written as ``str(op)``), ``get_total_flops()`` (the sum of
``"Global"``) and the table printed on exit with ``display=True``.
"""
import pytest
import oneflow as flow
import oneflow.nn as nn

from flowflops import FlopCounterMode

from .twin_models import small_models

TORCH_COUNTS = {
    'conv_relu': {
        'ConvReLU.conv': {'aten.convolution': 884736},
        'Global': {'aten.convolution': 884736},
        'ConvReLU': {'aten.convolution': 884736},
    },
    'small_cnn': {
        'SmallCNN.conv1': {'aten.convolution': 442368},
        'SmallCNN': {'aten.convolution': 1032192, 'aten.addmm': 320},
        'Global': {'aten.convolution': 1032192, 'aten.addmm': 320},
        'SmallCNN.conv2': {'aten.convolution': 589824},
        'SmallCNN.fc': {'aten.addmm': 320},
    },
    'mlp_block': {
        'MLPBlock': {'aten.addmm': 131072},
        'Global': {'aten.addmm': 131072},
        'MLPBlock.fc1': {'aten.addmm': 65536},
        'MLPBlock.fc2': {'aten.addmm': 65536},
    },
    'functional': {
        'Functional': {'aten.convolution': 110592, 'aten.bmm': 8192},
        'Global': {'aten.convolution': 110592, 'aten.bmm': 8192},
        'Functional.conv': {'aten.convolution': 110592},
    },
    'upnet': {
        'UpNet.conv': {'aten.convolution': 18432},
        'UpNet': {'aten.convolution': 18432},
        'Global': {'aten.convolution': 18432},
    },
}

# printed by torch 2.14.1 on exit (display=True, depth=2) for the "small_cnn" twin
SMALL_CNN_TABLE = """\
Module                   FLOP    % Total
------------------  ---------  ---------
SmallCNN            1032.512K    100.00%
- aten.convolution  1032.192K     99.97%
- aten.addmm           0.320K      0.03%
SmallCNN.conv1       442.368K     42.84%
- aten.convolution   442.368K     42.84%
SmallCNN.conv2       589.824K     57.13%
- aten.convolution   589.824K     57.13%
SmallCNN.fc            0.320K      0.03%
- aten.addmm           0.320K      0.03%
"""

# torch 2.14.1's get_table() of a context in which nothing ran
EMPTY_TABLE = """\
Module      FLOP    % Total
--------  ------  ---------
Global         0         0%"""


@pytest.mark.parametrize("name", list(TORCH_COUNTS))
def test_twin_as_torch(name):
    model, shape = small_models(flow)[name]
    model.eval()
    x = flow.randn(*shape)
    with FlopCounterMode(display=False) as fc:
        y = model(x)
    assert fc.get_flop_counts() == TORCH_COUNTS[name]
    assert fc.get_total_flops() == sum(TORCH_COUNTS[name]["Global"].values())
    assert flow.allclose(y, model(x))  # the call inside the context returned the model's output


def test_printed_table_as_torch(capsys):
    model, shape = small_models(flow)["small_cnn"]
    model.eval()
    with FlopCounterMode(depth=2, display=True):
        model(flow.randn(*shape))
    assert capsys.readouterr().out == SMALL_CNN_TABLE


def test_nothing_called_warns_and_prints_torchs_empty_table():
    with pytest.warns(UserWarning, match="module calls only"):
        with FlopCounterMode(display=False) as fc:
            pass
    assert fc.get_table() == EMPTY_TABLE and fc.get_total_flops() == 0


def test_module_call_is_restored_also_when_the_body_raises():
    before = nn.Module.__call__
    with pytest.raises(ZeroDivisionError):
        with FlopCounterMode(display=False):
            nn.Linear(2, 2)(flow.randn(1, 2))
            1 / 0
    assert nn.Module.__call__ is before


def test_custom_mapping_is_refused_with_the_way_out():
    with pytest.raises(ValueError, match="custom_modules_hooks"):
        FlopCounterMode(custom_mapping={"aten.mm": lambda *a, **k: 1})
