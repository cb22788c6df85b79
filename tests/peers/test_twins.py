"""Twins: the same small models (tests/peers/twin_models.py, one code for torch and oneflow) and
torchvision's resnet50 / densenet161 / mobilenet_v2 (flowvision 0.2.1's twins here), counted by
the real peers through their own entry points, and by flowflops through the drop-in paths.

The numbers are data measured with the peers themselves: benchmarks/peer_twins.py in
/work/peers-venv, 2026-12-07 11:26 UTC: torch 2.14.1, torchvision 0.29.1, ptflops 0.7.5,
thop 0.1.1-2209072238, fvcore 0.1.5.post20221221 (CPU, eval mode, batch 1). Keys:

- ``params``: ptflops' (trainable parameters);
- ``ptflops``, ``ptflops_nofunc``, ``ptflops_aten``: ``get_model_complexity_info(m, shape[1:],
  as_strings=False)`` with backend "pytorch", the same with
  ``backend_specific_config={"count_functional": False}``, and backend "aten";
- ``thop``, ``thop_params``: ``thop.profile(m, inputs=(x,))``;
- ``fvcore``: ``FlopCountAnalysis(m, x).total()`` (flowflops.fvcore's, and ``convention="fvcore"``
  in both engines);
- ``torch``: ``FlopCounterMode(display=False)``'s ``get_total_flops()`` (FLOPs: 2 per MAC;
  flowflops' "torch" convention is in MACs, so it is doubled here).

THOP_LAYERS: thop 0.1.1's ``profile`` of each type in its ``register_hooks``, wrapped in an
``nn.Sequential`` (tests/peers/thop_layers.py), the same date and environment.
"""
import pytest
import oneflow as flow

import flowflops
import flowflops.thop
from flowflops.fvcore import FlopCountAnalysis
from flowflops.ptflops import get_model_complexity_info

from .thop_layers import thop_cells_with_state, thop_layers
from .twin_models import small_models

SMALL = {
    # tiny_swin measured 2026-12-07 11:58 UTC, tiny_vit 11:56 UTC, the same environment
    'tiny_swin': {'params': 7802, 'ptflops': 373578, 'ptflops_nofunc': 369482, 'ptflops_aten': 425290, 'thop': 366912,
        'thop_params': 7802, 'fvcore': 438080, 'torch': 819840},
    'tiny_vit': {'params': 21098, 'ptflops': 1204554, 'ptflops_nofunc': 1196362, 'ptflops_aten': 1702218,
        'thop': 1188160, 'thop_params': 19050, 'fvcore': 1722688, 'torch': 3342976},
    'conv_relu': {'params': 448, 'ptflops': 491520, 'ptflops_nofunc': 475136, 'ptflops_aten': 458752, 'thop': 442368,
        'thop_params': 448, 'fvcore': 442368, 'torch': 884736},
    'small_cnn': {'params': 1570, 'ptflops': 585898, 'ptflops_nofunc': 561322, 'ptflops_aten': 520362, 'thop': 553136,
        'thop_params': 1570, 'fvcore': 536736, 'torch': 1032512},
    'mlp_block': {'params': 4256, 'ptflops': 70144, 'ptflops_nofunc': 68608, 'ptflops_aten': 67072, 'thop': 69104,
        'thop_params': 4256, 'fvcore': 68096, 'torch': 131072},
    'upnet': {'params': 157, 'ptflops': 14080, 'ptflops_nofunc': 12800, 'ptflops_aten': 9472, 'thop': 10496,
        'thop_params': 149, 'fvcore': 15360, 'torch': 18432},
    'functional': {'params': 224, 'ptflops': 65536, 'ptflops_nofunc': 57344, 'ptflops_aten': 61440, 'thop': 55296,
        'thop_params': 224, 'fvcore': 59392, 'torch': 118784},
}

ZOO = {
    'resnet50': {'params': 25557032, 'ptflops': 4132436968, 'ptflops_nofunc': 4121925096, 'ptflops_aten': 4089185256,
        'thop': 4133742592, 'thop_params': 25557032, 'fvcore': 4111512576, 'torch': 8178368512},
    'densenet161': {'params': 28681000, 'ptflops': 7850193256, 'ptflops_nofunc': 7818356584,
        'ptflops_aten': 7727908072, 'thop': 7845841056, 'thop_params': 28681000, 'fvcore': 7786843488,
        'torch': 15455814144},
    'mobilenet_v2': {'params': 3504872, 'ptflops': 320300008, 'ptflops_nofunc': 320237288, 'ptflops_aten': 300775272,
        'thop': 327486720, 'thop_params': 3504872, 'fvcore': 314193216, 'torch': 601548544},
}

# timm's ViT-B/16 and Swin-T, the models flowvision 0.2.1 ported (the same parameter counts:
# 86,567,656 and 28,288,354), counted by the peers with timm 0.9.16 (timm 0.6.12 does not import
# on Python 3.11) and TIMM_FUSED_ATTN=0 (attention as explicit matmuls, as flowvision writes it):
# `benchmarks/peer_twins.py --models vit_base_patch16_224,swin_tiny_patch4_window7_224`,
# 2026-12-07 14:41 UTC, the environment above. The ptflops pytorch-backend figures differ for
# named reasons (TIMM_PTFLOPS below); every other figure is flowflops' as it is.
TIMM = {
    'vit_base_patch16_224': {'params': 86567656, 'ptflops': 12021392632, 'ptflops_nofunc': 12014130424,
        'ptflops_aten': 17580319720,
        'thop': 16863630336, 'thop_params': 86415592, 'fvcore': 17582740224, 'torch': 35127656448},
    'swin_tiny_patch4_window7_224': {'params': 28288354, 'ptflops': 4380952696, 'ptflops_nofunc': 4373042920,
        'ptflops_aten': 4503738856,
        'thop': 4371851808, 'thop_params': 28265032, 'fvcore': 4509194496, 'torch': 8981133312},
}

# ViT: ptflops 0.7.5 prices timm's own Attention class with a hook of its own
# (pytorch_ops.py:246-267, MODULES_MAPPING[timm.models.vision_transformer.Attention]), and
# since that module is then "supported", its qkv and proj Linears are not summed. flowvision's
# port is a different class, so ptflops, like flowflops.ptflops, sums its Linears. Measured with
# that one entry deleted from ptflops' MODULES_MAPPING (the same environment, 2026-12-07 14:51
# UTC): 16,883,299,048 and 16,876,036,840. By hand, per block (N = 197 tokens, C = 768, 12
# heads of 64): qkv 197*768*2304 + 197*2304 = 349,039,872, proj 197*768*768 + 197*768 =
# 116,346,624, the hook 197*64*12 + 12*(2*197*197*64 + 197*197) = 60,227,628; 12 blocks:
# 12 * (349,039,872 + 116,346,624 - 60,227,628) = 4,861,906,416 = 16,883,299,048 - 12,021,392,632.
VIT_BLOCK = 197 * 768 * 2304 + 197 * 2304 + 197 * 768 * 768 + 197 * 768 - (
    197 * 64 * 12 + 12 * (2 * 197 * 197 * 64 + 197 * 197))
# Swin: flowvision's WindowAttention multiplies with flow.matmul, timm's with `@`; ptflops patches
# torch.matmul, not the `@` operator. Per block 2 * tokens * 49 * C (q @ k^T and attn @ v over
# 7x7 windows): stages (3136 tokens, C 96, 2 blocks), (784, 192, 2), (196, 384, 6), (49, 768, 2).
SWIN_MATMULS = sum(2 * t * 49 * c * d for t, c, d in ((3136, 96, 2), (784, 192, 2), (196, 384, 6), (49, 768, 2)))
TIMM_PTFLOPS = {
    'vit_base_patch16_224': {'ptflops': 16883299048, 'ptflops_nofunc': 16876036840},
    'swin_tiny_patch4_window7_224': {'ptflops': 4380952696 + SWIN_MATMULS, 'ptflops_nofunc': 4373042920},
}

THOP_LAYERS = {
    'ZeroPad2d': (0, 0),
    'Conv1d': (168, 28),
    'Conv2d': (576, 40),
    'Conv3d': (864, 34),
    'ConvTranspose1d': (168, 28),
    'ConvTranspose2d': (5832, 76),
    'ConvTranspose3d': (2048, 34),
    'BatchNorm1d': (160, 8),
    'BatchNorm2d': (288, 8),
    'BatchNorm3d': (64, 0),
    'LayerNorm': (192, 16),
    'InstanceNorm1d': (48, 0),
    'InstanceNorm2d': (144, 8),
    'InstanceNorm3d': (32, 0),
    'PReLU': (20, 4),
    'Softmax': (84, 0),
    'ReLU': (0, 0),
    'ReLU6': (0, 0),
    'LeakyReLU': (0, 0),
    'MaxPool1d': (0, 0),
    'MaxPool2d': (0, 0),
    'MaxPool3d': (0, 0),
    'AdaptiveMaxPool1d': (0, 0),
    'AdaptiveMaxPool2d': (0, 0),
    'AdaptiveMaxPool3d': (0, 0),
    'AvgPool1d': (8, 0),
    'AvgPool2d': (32, 0),
    'AvgPool3d': (16, 0),
    'AdaptiveAvgPool1d': (24, 0),
    'AdaptiveAvgPool2d': (156, 0),
    'AdaptiveAvgPool3d': (144, 0),
    'Linear': (144, 21),
    'Dropout': (0, 0),
    'Upsample': (1408, 0),
    'UpsamplingBilinear2d': (1408, 0),
    'UpsamplingNearest2d': (128, 0),
    'RNNCell': (234, 72),
    'GRUCell': (774, 216),
    'LSTMCell': (1008, 288),
    'RNN': (2520, 156),
    'GRU': (7740, 432),
    'LSTM': (5040, 288),
    'PixelShuffle': (0, 0),
    'SyncBatchNorm': (288, 8),
}


class _FunctionalPool(flow.nn.Module):
    """torchvision's MobileNetV2 pools with ``F.adaptive_avg_pool2d(x, (1, 1))`` in its forward;
    flowvision 0.2.1's with an ``nn.AdaptiveAvgPool2d`` module, which ptflops' and thop's module
    hooks would price (ptflops: 1,280 x 7 x 7 = 62,720 MACs more). This stand-in makes the
    OneFlow model the twin: the same functional call, in a module no peer hooks."""

    def forward(self, x):
        return flow.nn.functional.adaptive_avg_pool2d(x, (1, 1))


class _MeanPool(flow.nn.Module):
    """timm 0.9's Swin head averages the tokens with ``x.mean((1, 2))``; flowvision 0.2.1's with
    an ``nn.AdaptiveAvgPool1d`` module, which thop and ptflops would price (thop 768 x 50 =
    38,400, ptflops 768 x 49 = 37,632). This stand-in makes the OneFlow model the twin: the same
    mean, in a module no peer hooks."""

    def forward(self, x):
        return x.mean(-1, keepdim=True)


def _model(name):
    if name in TIMM:
        import flowvision

        model = getattr(flowvision.models, name)()
        if name == "swin_tiny_patch4_window7_224":
            model.avgpool = _MeanPool()
        return model, (1, 3, 224, 224)
    if name in ZOO:
        import flowvision

        model = getattr(flowvision.models, name)()
        if name == "mobilenet_v2":
            model.adaptive_avg_pool2d = _FunctionalPool()
        return model, (1, 3, 224, 224)
    return small_models(flow)[name]


def _ptflops(model, shape):
    out = {}
    for key, backend, cfg in (("ptflops", "pytorch", {}), ("ptflops_nofunc", "pytorch", {"count_functional": False}),
                              ("ptflops_aten", "aten", {})):
        out[key], out["params"] = get_model_complexity_info(model, tuple(shape[1:]), as_strings=False,
                                                            print_per_layer_stat=False, backend=backend,
                                                            backend_specific_config=cfg)
    return out


def _check(name, expected, modes):
    model, shape = _model(name)
    model.eval()
    got = _ptflops(model, shape)
    got["thop"], got["thop_params"] = flowflops.thop.profile(model, inputs=(flow.randn(*shape),), verbose=False)
    assert got == {k: expected[k] for k in got}
    analysis = FlopCountAnalysis(model, flow.randn(*shape)).unsupported_ops_warnings(False)
    assert analysis.total() == expected["fvcore"]
    for mode in modes:
        assert flowflops.profile(model, shape, mode=mode, convention="fvcore").macs == expected["fvcore"], mode
        assert 2 * flowflops.profile(model, shape, mode=mode, convention="torch").macs == expected["torch"], mode


@pytest.mark.parametrize("name", list(SMALL))
def test_small_twin(name):
    _check(name, SMALL[name], ("eager", "graph"))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_twin(name):
    _check(name, ZOO[name], ("eager",))


def test_timm_twins_derivations():
    assert 12 * VIT_BLOCK == 16883299048 - 12021392632 == 4861906416
    assert SWIN_MATMULS == 59006976 + 29503488 + 44255232 + 7375872 == 140141568


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TIMM))
def test_timm_twin(name):
    """flowvision's port of a timm model: every peer's integer, ptflops' pytorch backend as it
    prices flowvision's classes (TIMM_PTFLOPS, the reasons beside it)."""
    _check(name, {**TIMM[name], **TIMM_PTFLOPS[name]}, ("eager", "graph"))


_STATELESS = ("OneFlow 0.9.0's nn.{} raises TypeError('bool' object is not callable) when called without a "
              "state (its forward calls the bool `input.is_global`); counted with the state given in "
              "test_thop_cell_with_state")
_NO_ONEFLOW_CASE = {
    "RNNCell": _STATELESS.format("RNNCell"),
    "GRUCell": _STATELESS.format("GRUCell"),
    "LSTMCell": _STATELESS.format("LSTMCell"),
    "SyncBatchNorm": "OneFlow 0.9.0's nn.SyncBatchNorm runs on a GPU only",
}

#: thop 0.1.1's ``profile`` of tests/peers/thop_layers.py's ``thop_cells_with_state`` (the cells
#: called with their state), torch 2.14.1 in /work/peers-venv, 2026-12-07 21:41 UTC: the same
#: numbers as the stateless calls in THOP_LAYERS (thop's cell rules read the input's size only)
THOP_CELLS_WITH_STATE = {"RNNCell": (234, 72), "GRUCell": (774, 216), "LSTMCell": (1008, 288)}


@pytest.mark.parametrize("name", sorted(THOP_LAYERS))
def test_thop_registered_layer(name):
    if name in _NO_ONEFLOW_CASE:
        pytest.skip(_NO_ONEFLOW_CASE[name])
    model, shape = thop_layers(flow)[name]
    macs, params = THOP_LAYERS[name]
    assert flowflops.thop.profile(model, inputs=(flow.randn(*shape),), verbose=False) == (macs, params)


@pytest.mark.parametrize("name", sorted(THOP_CELLS_WITH_STATE))
def test_thop_cell_with_state(name):
    model, inputs = thop_cells_with_state(flow)[name]
    assert flowflops.thop.profile(model, inputs=inputs, verbose=False) == THOP_CELLS_WITH_STATE[name]
    assert THOP_CELLS_WITH_STATE[name] == THOP_LAYERS[name]


def test_thop_params_are_thops():
    """thop counts the parameters of the hooked children that ran (thop/profile.py:214-233):
    thop 0.1.1 returned (7776.0, 0) for a bare nn.Conv2d(3, 8, 3) on (1, 3, 8, 8) and (32.0, 20.0)
    for the model below on (2, 4): the Linear that ran (4 x 4 + 4 = 20), not the one that did not,
    not the GroupNorm (no thop rule), the shared Linear once (torch 2.14.1, 2026-12-07)."""
    nn = flow.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.unused = nn.Linear(4, 4)
            self.gn = nn.GroupNorm(2, 4)
            self.shared = self.a

        def forward(self, x):
            return self.gn(self.a(x).unsqueeze(-1)).squeeze(-1)

    assert flowflops.thop.profile(nn.Conv2d(3, 8, 3), inputs=(flow.randn(1, 3, 8, 8),), verbose=False) == (7776, 0)
    assert flowflops.thop.profile(M(), inputs=(flow.randn(2, 4),), verbose=False) == (32, 20)
