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
    with pytest.warns(UserWarning, match="counted nothing"):
        with FlopCounterMode(display=False) as fc:
            pass
    assert fc.get_table() == EMPTY_TABLE and fc.get_total_flops() == 0


# torch 2.14.1+cu130's FlopCounterMode(display=True, depth=2) on this body (torch in place of
# oneflow, the same shapes), /work/peers-venv, 2026-12-07 15:02 UTC: ops called outside any
# module count under "Global" only; F.linear with a bias is aten.addmm, without one aten.mm
TOP_LEVEL_COUNTS = {'Global': {'aten.mm': 1664, 'aten.addmm': 1024, 'aten.convolution': 7776, 'aten.bmm': 240},
                    'Linear': {'aten.addmm': 512}}
TOP_LEVEL_TABLE = """\
Module                 FLOP    % Total
------------------  -------  ---------
Global              10.704K    100.00%
- aten.mm            1.664K     15.55%
- aten.addmm         1.024K      9.57%
- aten.convolution   7.776K     72.65%
- aten.bmm           0.240K      2.24%
Linear               0.512K      4.78%
- aten.addmm         0.512K      4.78%
"""


def test_top_level_ops_as_torch(capsys):
    F = flow.nn.functional
    x, w, lin = flow.randn(4, 8), flow.randn(8, 16), nn.Linear(16, 4)
    img, k = flow.randn(1, 3, 8, 8), flow.randn(4, 3, 3, 3)
    with FlopCounterMode(display=True, depth=2) as fc:
        y = x @ w  # aten.mm 2 * 4*8*16 = 1,024
        z = F.linear(y, lin.weight, lin.bias)  # aten.addmm 2 * 4*16*4 = 512
        z2 = F.linear(y, lin.weight)  # aten.mm 512
        F.conv2d(img, k)  # aten.convolution 2 * (4*6*6) * (3*3*3) = 7,776
        flow.bmm(flow.randn(2, 3, 4), flow.randn(2, 4, 5))  # aten.bmm 2 * 2*3*4*5 = 240
        flow.relu(z) + flow.matmul(z2, z2.t())  # relu, add: 0; aten.mm 2 * 4*4*4 = 128
        lin(y)  # the module: Linear and Global, aten.addmm 512
    assert fc.get_flop_counts() == TOP_LEVEL_COUNTS
    assert fc.get_total_flops() == 1024 + 512 + 512 + 7776 + 240 + 128 + 512 == 10704
    assert capsys.readouterr().out == TOP_LEVEL_TABLE
    assert flow.matmul(x, w).shape == (4, 16) and not _patched()  # every patch is gone after the context


def test_a_bias_added_by_hand_on_the_same_line_stays_mm():
    """Only F.linear's own bias add makes an ``aten.addmm``: a matmul and a ``+=`` written by the
    user on one line are torch's ``aten.mm`` (2 * 4*8*16 = 1,024) and an uncounted ``aten.add_``.
    torch 2.14.1's FlopCounterMode gave {'Global': {aten.mm: 1024}} on the same body
    (2026-12-07 18:05 UTC); flowflops said ``aten.addmm`` before the fix."""
    x, w, b = flow.ones(4, 8), flow.ones(16, 8), flow.ones(16)
    with FlopCounterMode(display=False) as fc:
        y = x @ w.t(); y += b  # noqa: E702
    assert fc.get_flop_counts() == {"Global": {"aten.mm": 2 * 4 * 8 * 16}}


def _patched():
    from flowflops.eager.functional import installed

    return installed()


def test_a_functional_products_backward_warns_once_and_forward_still_counts():
    # torch would count the backward products too; only layers' gradients are derived here
    # (the layers': tests/peers/test_flop_counter_backward.py)
    x, w = flow.randn(4, 8, requires_grad=True), flow.randn(8, 16)
    before = (flow.Tensor.backward, flow.autograd.backward)
    with pytest.warns(UserWarning, match="does not count the backward of aten.mm") as seen:
        with FlopCounterMode(display=False) as fc:
            (x @ w).sum().backward()
            (x @ w).sum().backward()
    assert sum("backward of" in str(m.message) for m in seen) == 1
    assert fc.get_flop_counts() == {"Global": {"aten.mm": 2 * (2 * 4 * 8 * 16)}}
    assert x.grad is not None and (flow.Tensor.backward, flow.autograd.backward) == before


def test_module_call_is_restored_also_when_the_body_raises():
    before = nn.Module.__call__
    with pytest.raises(ZeroDivisionError):
        with FlopCounterMode(display=False):
            nn.Linear(2, 2)(flow.randn(1, 2))
            1 / 0
    assert nn.Module.__call__ is before and not _patched()


def test_custom_mapping_is_refused_with_the_way_out():
    with pytest.raises(ValueError, match="custom_modules_hooks"):
        FlopCounterMode(custom_mapping={"aten.mm": lambda *a, **k: 1})


def test_an_nn_graph_built_inside_is_not_counted():
    # nn.Graph traces in lazy mode: no module call or function is run eagerly to count it
    lin = nn.Linear(4, 3)

    class G(flow.nn.Graph):
        def __init__(self):
            super().__init__()
            self.lin = lin

        def build(self, x):
            return flow.relu(self.lin(x) @ flow.ones(3, 2))

    x = flow.randn(2, 4)
    with pytest.warns(UserWarning, match="counted nothing"):
        with FlopCounterMode(display=False) as fc:
            y = G()(x)
    assert fc.get_total_flops() == 0
    assert flow.allclose(y, flow.relu(lin(x) @ flow.ones(3, 2))) and not _patched()
