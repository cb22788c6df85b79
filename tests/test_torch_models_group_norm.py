"""``F.group_norm`` under flowflops.torch_models (flowflops/torch_models/shims.py): OneFlow 0.9
has no ``oneflow.nn.functional.group_norm``, which timm's GroupNorm, GroupNorm1 and GroupNormAct
(ResNetV2 BiT, the ViT-ResNet hybrids, PoolFormer, MobileViTv2, the ``*_gn`` nets) and Hugging
Face's BiT call in their forward.

Expected values: measured with PyTorch 2.14.1+cu130 (CPU, /work/peers-venv) on 2026-12-07
~23:55 UTC, ``torch.nn.functional.group_norm`` on the same tensors, rounded to 5 decimals and
quoted below, as are its errors. Counts: derived by hand in each test. All quick."""
import importlib.util

import numpy as np
import oneflow as flow
import pytest

import flowflops
from flowflops import torch_models as tm

HAVE_EXTRA = all(importlib.util.find_spec(p) is not None for p in ("timm", "transformers"))


def _close(t, want):
    np.testing.assert_allclose(t.numpy().ravel(), want, atol=2e-5)


def test_group_norm_gives_torchs_values():
    with tm.mocked_torch():
        import torch
        import torch.nn.functional as F

        # 2-d (N, C) = (2, 4), 2 groups, no affine: each pair normalised, e.g. (0, 1) -> (-1, 1)
        x2 = torch.tensor([[0.0, 1, 2, 4], [1, 1, 3, 5]])
        _close(F.group_norm(x2, 2), [-0.99998, 0.99998, -0.99999, 0.99999, 0.0, 0.0, -0.99999, 0.99999])
        # 3-d (1, 4, 3): arange(12)^2 / 10, 2 groups; weight [1, 2, -1, 0.5], bias [0, 1, 0, -1]
        x3 = (torch.arange(12.0).reshape(1, 4, 3) ** 2) / 10
        w, b = torch.tensor([1.0, 2, -1, 0.5]), torch.tensor([0.0, 1, 0, -1])
        _close(F.group_norm(x3, 2, w, b), [-1.03042, -0.91801, -0.58078, 0.96253, 2.53626, 4.55963,
                                           1.34409, 0.89796, 0.38321, -0.89991, -0.5739, -0.21357])
        _close(F.group_norm(x3, 2, w), [-1.03042, -0.91801, -0.58078, -0.03747, 1.53626, 3.55963,
                                        1.34409, 0.89796, 0.38321, 0.10009, 0.4261, 0.78643])
        _close(F.group_norm(x3, 2, None, b), [-1.03042, -0.91801, -0.58078, 0.98127, 1.76813, 2.77981,
                                              -1.34409, -0.89796, -0.38321, -0.79982, -0.14779, 0.57287])
        # 4-d (1, 2, 2, 2): one group (over everything) with affine and eps=0.1, and one group per channel
        x4 = torch.tensor([[[[1.0, 2], [3, 5]], [[0, 0], [1, 7]]]])
        y = F.group_norm(x4, 1, torch.tensor([2.0, 3]), torch.tensor([1.0, -1]), eps=0.1)
        _close(y, [-0.16371, 0.68262, 1.52896, 3.22163, -4.01507, -4.01507, -2.74557, 4.87145])
        assert tuple(y.shape) == (1, 2, 2, 2) and y.dtype == flow.float32
        _close(F.group_norm(x4, 2), [-1.18321, -0.50709, 0.16903, 1.52127, -0.68599, -0.68599, -0.343, 1.71498])
        # keywords, as timm and transformers pass them
        _close(F.group_norm(input=x4, num_groups=2, weight=None, bias=None, eps=1e-5),
               [-1.18321, -0.50709, 0.16903, 1.52127, -0.68599, -0.68599, -0.343, 1.71498])


def test_bad_arguments_raise_as_torch_does():
    # torch 2.14.1's exception types and messages for the same calls
    with tm.mocked_torch():
        import torch
        import torch.nn.functional as F

        x = torch.zeros(2, 6, 3)
        with pytest.raises(RuntimeError, match=r"^Expected number of channels in input to be divisible by "
                           r"num_groups, but got input of shape \[2, 6, 3\] and num_groups=4$"):
            F.group_norm(x, 4)
        with pytest.raises(RuntimeError, match="divisible by num_groups, but got input of shape "
                           r"\[2, 6, 3\] and num_groups=7"):
            F.group_norm(x, 7)
        with pytest.raises(ZeroDivisionError):
            F.group_norm(x, 0)
        with pytest.raises(RuntimeError, match=r"^Expected num groups to be greater than 0, got -3$"):
            F.group_norm(x, -3)
        with pytest.raises(RuntimeError, match=r"^Expected at least 2 dimensions for input tensor but received 1$"):
            F.group_norm(torch.zeros(6), 2)
        with pytest.raises(ValueError, match=r"^Expected more than 1 value per channel when training, "
                           r"got input size \[1, 4\]$"):
            F.group_norm(torch.zeros(1, 4), 4)
        with pytest.raises(RuntimeError, match=r"^Expected weight to be a vector of size equal to the number of "
                           r"channels in input, but got weight of shape \[4\] and input of shape \[2, 6, 3\]$"):
            F.group_norm(x, 3, torch.ones(4))
        with pytest.raises(RuntimeError, match=r"Expected bias to be a vector .* bias of shape \[4\]"):
            F.group_norm(x, 3, None, torch.ones(4))


def test_group_norm_is_there_only_inside_the_block():
    assert not hasattr(flow.nn.functional, "group_norm")
    with tm.mocked_torch():
        assert callable(flow.nn.functional.group_norm)
    assert not hasattr(flow.nn.functional, "group_norm")
    assert "group_norm" not in vars(flow.nn.functional)


class _TimmGroupNorm(flow.nn.GroupNorm):
    """timm 0.6.12's layers/norm.py GroupNorm: an nn.GroupNorm whose forward calls F.group_norm."""

    def forward(self, x):
        import torch.nn.functional as F  # flowflops' mocked torch, inside the block

        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class _Functional(flow.nn.Module):
    """F.group_norm called in a module that is no GroupNorm: no affine, then a weight only."""

    def __init__(self):
        super().__init__()
        self.w = flow.nn.Parameter(flow.ones(6))

    def forward(self, x):
        import torch.nn.functional as F

        return F.group_norm(x, 3) + F.group_norm(x, 3, self.w)


ENGINES = [("eager", False), ("eager", True), ("graph", None)]


def _count(model, shape, mode, functional, convention):
    cfg = {"count_functional": True} if functional else None
    return flowflops.profile(model, shape, mode=mode, backend_specific_config=cfg, convention=convention,
                             verify=True)


@pytest.mark.parametrize("mode,functional", ENGINES)
@pytest.mark.parametrize("convention", ["flowflops", "fvcore"])
def test_a_groupnorm_subclass_calling_group_norm_is_priced_as_nn_groupnorm(mode, functional, convention):
    # input (2, 6, 4, 4), 6 channels in 2 groups, affine: n = 2*6*4*4 = 192 elements, r = 2*2 = 4 statistics.
    # flowflops' convention, op by op as OneFlow's CPU GroupNorm runs it: sum n, mean r, variance n,
    # x - mean n, + eps r, sqrt r, divide n, * weight n, + bias n = 6n + 3r = 1152 + 12 = 1164 (no
    # multiply-add in it: FLOPs = MACs). fvcore: one aten::group_norm, 5 per input element with a
    # weight: 5 * 192 = 960 (FLOPs twice that: 1920). The same for OneFlow's own nn.GroupNorm.
    want = {"flowflops": (1164, 1164), "fvcore": (960, 1920)}[convention]
    with tm.mocked_torch():
        for layer in (flow.nn.GroupNorm(2, 6), _TimmGroupNorm(2, 6)):
            report = _count(flow.nn.Sequential(layer), (2, 6, 4, 4), mode, functional, convention)
            assert (report.macs, report.flops) == want, type(layer)
            assert not report.unsupported and not report.unpriced_modules
            assert report.by_module()["0"].macs == want[0]
            assert report.verification is not None and report.verification.agree, report.verification


@pytest.mark.parametrize("mode", ["eager", "graph"])
@pytest.mark.parametrize("convention", ["flowflops", "fvcore"])
def test_group_norm_called_outside_a_groupnorm_module_is_priced(mode, convention):
    # input (2, 6, 5), 3 groups: n = 60 elements, r = 2*3 = 6 statistics, and one add of the two results (60)
    # flowflops: without affine 4n + 3r = 240 + 18 = 258; with a weight only, priced as affine (the op
    # OneFlow's graph compiles gets ones for the bias) 6n + 3r = 360 + 18 = 378; + the add 60 = 696
    # fvcore: aten::group_norm 4 per element without a weight (240), 5 with one (300); the add is not
    # counted: 540 (FLOPs 1080)
    want = {"flowflops": (696, 696), "fvcore": (540, 1080)}[convention]
    with tm.mocked_torch():
        report = _count(_Functional(), (2, 6, 5), mode, mode == "eager", convention)
    assert (report.macs, report.flops) == want
    assert not report.unsupported
    assert report.verification is not None and report.verification.agree, report.verification


def test_without_count_functional_a_module_calling_group_norm_is_reported_not_silent():
    with tm.mocked_torch():
        with pytest.warns(UserWarning, match="counted as zero"):
            report = flowflops.profile(_Functional(), (2, 6, 5), mode="eager")
    assert report.macs == 0 and report.unsupported == {"_Functional": 1}


@pytest.mark.skipif(not HAVE_EXTRA, reason="the torch-models extra is not installed: `make torch-models`")
@pytest.mark.parametrize("mode,functional", ENGINES)
@pytest.mark.parametrize("convention", ["flowflops", "fvcore"])
def test_timms_group_norm_layers_count_in_both_engines(mode, functional, convention):
    # timm 0.6.12's GroupNormAct(6, num_groups=2) (+ its ReLU), GroupNorm(6, num_groups=3), GroupNorm1(6)
    # on (2, 6, 4, 4): n = 192 each, r = 2*2, 2*3, 2*1
    # flowflops: (6n + 3*4) + n (ReLU) + (6n + 3*6) + (6n + 3*2) = 1164 + 192 + 1170 + 1158 = 3684
    # fvcore: 3 aten::group_norm with a weight, 5n each = 2880 (ReLU not counted), FLOPs 5760
    want = {"flowflops": (3684, 3684), "fvcore": (2880, 5760)}[convention]
    with tm.mocked_torch():
        from timm.models.layers import GroupNorm, GroupNorm1, GroupNormAct

        model = flow.nn.Sequential(GroupNormAct(6, 2), GroupNorm(6, 3), GroupNorm1(6))
        report = _count(model, (2, 6, 4, 4), mode, functional, convention)
    assert (report.macs, report.flops) == want
    assert not report.unsupported
    assert report.verification is not None and report.verification.agree, report.verification
