"""flowflops.fvcore's ``ActivationCountAnalysis`` and ``activation_count`` against fvcore's own on
the twins of tests/peers/twin_models.py (one code for torch and oneflow). The expected values are
what fvcore 0.1.5.post20221221's ``ActivationCountAnalysis(model, x)`` returned for the PyTorch
twin (torch 2.14.1+cu130, CPU, eval mode, /work/peers-venv, 2026-12-07 15:07 UTC): ``total()``,
``by_operator()``, ``by_module()`` and ``unsupported_ops()``. fvcore counts the elements of the
first output of each convolution and matrix product (``generic_activation_jit``); every other op
it traces is unsupported (batch_norm, layer_norm and the pools too, which its flop count prices).
"""
import pytest
import oneflow as flow
import oneflow.nn as nn

from flowflops.fvcore import ActivationCountAnalysis, FlopCountAnalysis, activation_count, flop_count_table

from .twin_models import small_models

FVCORE_ACTIVATIONS = {'small_cnn': {'total': 12298,
               'by_operator': {'conv': 12288, 'linear': 10},
               'by_module': {'': 12298,
                             'conv1': 8192,
                             'bn1': 0,
                             'relu': 0,
                             'pool': 0,
                             'conv2': 4096,
                             'act2': 0,
                             'avg': 0,
                             'fc': 10},
               'unsupported': {'aten::batch_norm': 1,
                               'aten::max_pool2d': 1,
                               'aten::elu': 1,
                               'aten::adaptive_avg_pool2d': 1}},
 'tiny_vit': {'total': 51210,
              'by_operator': {'conv': 2048, 'linear': 28682, 'matmul': 20480},
              'by_module': {'': 51210,
                            'patch': 2048,
                            'blocks': 49152,
                            'blocks.0': 24576,
                            'blocks.0.norm1': 0,
                            'blocks.0.attn': 18432,
                            'blocks.0.attn.qkv': 6144,
                            'blocks.0.attn.proj': 2048,
                            'blocks.0.norm2': 0,
                            'blocks.0.mlp': 6144,
                            'blocks.0.mlp.0': 4096,
                            'blocks.0.mlp.1': 0,
                            'blocks.0.mlp.2': 2048,
                            'blocks.1': 24576,
                            'blocks.1.norm1': 0,
                            'blocks.1.attn': 18432,
                            'blocks.1.attn.qkv': 6144,
                            'blocks.1.attn.proj': 2048,
                            'blocks.1.norm2': 0,
                            'blocks.1.mlp': 6144,
                            'blocks.1.mlp.0': 4096,
                            'blocks.1.mlp.1': 0,
                            'blocks.1.mlp.2': 2048,
                            'norm': 0,
                            'head': 10},
              'unsupported': {'aten::add': 5,
                              'aten::layer_norm': 5,
                              'aten::mul': 2,
                              'aten::softmax': 2,
                              'aten::gelu': 2,
                              'aten::mean': 1}},
 'functional': {'total': 2560,
                'by_operator': {'conv': 2048, 'matmul': 512},
                'by_module': {'': 2560, 'conv': 2048},
                'unsupported': {'aten::max_pool2d': 1}},
 'mlp_block': {'total': 1536,
               'by_operator': {'linear': 1536},
               'by_module': {'': 1536, 'norm': 0, 'fc1': 1024, 'act': 0, 'fc2': 512, 'softmax': 0},
               'unsupported': {'aten::layer_norm': 1, 'aten::gelu': 1, 'aten::add': 1, 'aten::softmax': 1}}}


@pytest.mark.parametrize("name", list(FVCORE_ACTIVATIONS))
def test_twin_as_fvcore(name):
    model, shape = small_models(flow)[name]
    model.eval()
    acts = ActivationCountAnalysis(model, flow.randn(*shape)).unsupported_ops_warnings(False)
    want = FVCORE_ACTIVATIONS[name]
    assert acts.total() == want["total"]
    assert dict(acts.by_operator()) == want["by_operator"]
    assert dict(acts.by_module()) == want["by_module"]
    assert dict(acts.unsupported_ops()) == want["unsupported"]


def test_by_hand_and_activation_count():
    # fvcore's docstring model: conv 3 -> 10 channels, 1x1, on (1, 3, 10, 10): 10 * 10 * 10 =
    # 1,000 outputs; fc 1000 -> 10: 10 outputs
    class TestModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(in_features=1000, out_features=10)
            self.conv = nn.Conv2d(in_channels=3, out_channels=10, kernel_size=1)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.fc(self.act(self.conv(x)).flatten(1))

    model, x = TestModel(), flow.randn(1, 3, 10, 10)
    acts = ActivationCountAnalysis(model, (x,))
    assert acts.total() == 1000 + 10 and acts.total("fc") == 10
    assert dict(acts.by_module()) == {"": 1010, "fc": 10, "conv": 1000, "act": 0}
    mega, unsupported = activation_count(model, (x,))
    assert dict(mega) == {"conv": 1000 / 1e6, "linear": 10 / 1e6} and not unsupported
    # a handle replaces a default one, as with FlopCountAnalysis
    assert ActivationCountAnalysis(model, (x,)).set_op_handle("aten::linear", lambda i, o: 7).total() == 1007
    # the printouts take it as their activations column, and it is not a FlopCountAnalysis
    assert "#activations" in flop_count_table(FlopCountAnalysis(model, (x,)), activations=acts)
    assert not isinstance(acts, FlopCountAnalysis)
