"""The two stand-ins of flowflops/torch_models/stand_ins.py that timm 0.6.12 models need under
mocked torch: PyTorch's ``F.dropout2d`` / ``nn.Dropout2d`` (OneFlow 0.9's refuses every p in
[0, 1]: bat_resnext26ts) and mapillary inplace_abn v1.0.12's ``inplace_abn.functions`` (timm's
InplaceAbn: the TResNets).

Expected values: measured with PyTorch 2.14.1+cu130 (CPU, /work/peers-venv) on 2026-12-08
~01:20 UTC, quoted in the comments. mapillary's extension does not build there either, so the
inplace_abn values are derived by hand from its formula (inplace_abn/functions.py docstring and
src/inplace_abn_cpu.cpp ``forward_cpu``: y = act((x - mean) / sqrt(var + eps) * (|w| + eps) + b))
and checked against torch's F.batch_norm(weight=|w| + eps) followed by F.leaky_relu / F.elu on
the same tensors. Counts: derived by hand. All quick."""
import sys
import warnings

import oneflow as flow
import pytest

import flowflops
from flowflops import torch_models as tm


def _close(t, want, tol=1e-5):
    got = t.flatten().tolist()
    assert len(got) == len(want) and all(abs(g - w) <= tol * max(1.0, abs(w)) for g, w in zip(got, want)), got


def test_dropout2d_as_torch():
    with tm.mocked_torch():
        import torch
        import torch.nn.functional as F

        x = torch.arange(16.0).reshape(1, 4, 2, 2)
        # torch 2.14.1: F.dropout2d(x, 0.2, False) is x; F.dropout2d(x, 0.0, True) is x;
        # nn.Dropout2d(0.2).eval()(x) is x (OneFlow 0.9: "dropout probability has to be between 0 and 1")
        assert F.dropout2d(x, 0.2, False) is x
        assert F.dropout2d(x, 0.0, True) is x
        assert torch.nn.Dropout2d(0.2).eval()(x) is x
        # p = 1 in training: all zeros, shape kept (torch: abs sum 0.0, torch.Size([1, 4, 2, 2]))
        y = F.dropout2d(x, 1.0, True)
        assert tuple(y.shape) == (1, 4, 2, 2) and float(y.abs().sum()) == 0.0
        # torch: ValueError "dropout probability has to be between 0 and 1, but got 1.5"
        with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
            F.dropout2d(x, 1.5, False)
        # training, p = 0.5 on ones (2, 8, 2, 2): a whole channel is 0 or 1 / (1 - 0.5) = 2
        # (torch, seed 0: [[0, 0, 2, 0, 0, 0, 2, 2], [0, 2, 2, 2, 2, 0, 2, 2]], each channel constant)
        flow.manual_seed(0)
        y = torch.nn.Dropout2d(0.5).train()(torch.ones(2, 8, 2, 2))
        per_channel = y.reshape(16, 4)
        assert set(per_channel.flatten().tolist()) <= {0.0, 2.0}
        assert bool((per_channel.amax(dim=1) == per_channel.amin(dim=1)).all())
        # a 2-D input is warned about as torch does
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            F.dropout2d(torch.ones(2, 3), 0.2, False)
        assert any("Received a 2-D input to dropout2d" in str(w.message) for w in caught)


# the 2-channel example: x (1, 2, 1, 2) = [[1, -3]], [[2, 6]]; running mean [0.5, 2], running var
# [4, 16]; weight [-2, 0.5], bias [1, -1]; eval mode, eps 1e-5 (values below to ~1e-6)
# channel 0: std 2, |w| = 2: (1 - 0.5) / 2 * 2 + 1 = 1.5; (-3 - 0.5) / 2 * 2 + 1 = -2.5
# channel 1: std 4, |w| = 0.5: (2 - 2) / 4 * 0.5 - 1 = -1; (6 - 2) / 4 * 0.5 - 1 = -0.5
# (with w itself instead of |w|, channel 0 would give -0.5 + 1 = 0.5 and 3.5 + 1 = 4.5)
BN = [1.5, -2.5, -1.0, -0.5]
# leaky_relu(0.01): [1.5, -0.025, -0.01, -0.005]; torch 2.14.1 F.leaky_relu(F.batch_norm(x, rm, rv,
# w.abs() + 1e-5, b, False, 0.1, 1e-5), 0.01): [1.5000019, -0.0250001, -0.0099999998, -0.0049999]
LEAKY = [1.5, -0.025, -0.01, -0.005]
# elu(1.0): [1.5, e^-2.5 - 1, e^-1 - 1, e^-0.5 - 1]; torch: [1.5000019, -0.9179161, -0.6321205, -0.3934634]
ELU = [1.5, -0.9179150, -0.6321206, -0.3934693]


def test_inplace_abn_values():
    with tm.mocked_torch():
        import torch
        from inplace_abn.functions import inplace_abn, inplace_abn_sync

        x = torch.tensor([[[[1.0, -3.0]], [[2.0, 6.0]]]])
        rm, rv = torch.tensor([0.5, 2.0]), torch.tensor([4.0, 16.0])
        w, b = torch.tensor([-2.0, 0.5]), torch.tensor([1.0, -1.0])
        _close(inplace_abn(x, w, b, rm, rv, False, 0.1, 1e-5, "leaky_relu", 0.01), LEAKY)
        _close(inplace_abn(x, w, b, rm, rv, False, 0.1, 1e-5, "elu", 1.0), ELU, tol=2e-5)
        _close(inplace_abn(x, w, b, rm, rv, False, 0.1, 1e-5, "identity", 0.01), BN)
        _close(inplace_abn_sync(x, w, b, rm, rv, False, 0.1, 1e-5, "identity", 0.01), BN)
        # the input is left as it was; the running statistics too in eval mode
        _close(x, [1.0, -3.0, 2.0, 6.0])
        _close(rm, [0.5, 2.0])
        # no weight: no affine transform: channel 0 (1 - 0.5) / 2 = 0.25, (-3 - 0.5) / 2 = -1.75;
        # channel 1 0 / 4 = 0, 4 / 4 = 1
        _close(inplace_abn(x, None, None, rm, rv, False, 0.1, 1e-5, "identity", 0.01), [0.25, -1.75, 0.0, 1.0])
        with pytest.raises(ValueError, match="Unknown activation function relu"):
            inplace_abn(x, w, b, rm, rv, False, 0.1, 1e-5, "relu", 0.01)

        # training: batch statistics. x (2, 2, 1, 1): channel 0 [1, 3] (mean 2, biased var 1),
        # channel 1 [2, 6] (mean 4, var 4): xhat [-1, 1] each; channel 0 * 2 + 1 = [-1, 3],
        # channel 1 * 0.5 - 1 = [-1.5, -0.5]; leaky_relu(0.01): [-0.01, 3] and [-0.015, -0.005],
        # in (n, c) order [-0.01, -0.015, 3, -0.005]. Running stats from 0 / 1 with momentum 0.1:
        # mean 0.1 * [2, 4] = [0.2, 0.4]; var 0.9 + 0.1 * unbiased [2, 8] = [1.1, 1.7].
        # torch 2.14.1 (F.batch_norm training + F.leaky_relu): [-0.01, -0.0150001, 3.0, -0.0049999],
        # running mean [0.2, 0.4], running var [1.1, 1.7]
        x = torch.tensor([[[[1.0]], [[2.0]]], [[[3.0]], [[6.0]]]])
        rm, rv = torch.zeros(2), torch.ones(2)
        _close(inplace_abn(x, w, b, rm, rv, True, 0.1, 1e-5, "leaky_relu", 0.01), [-0.01, -0.015, 3.0, -0.005])
        _close(rm, [0.2, 0.4])
        _close(rv, [1.1, 1.7])
        # one value per channel cannot give batch statistics (mapillary's ValueError)
        with pytest.raises(ValueError, match="single sample per channel"):
            inplace_abn(torch.ones(1, 2, 1, 1), w, b, rm, rv, True)


def test_the_stand_ins_are_gone_after_the_block():
    f_dropout2d, forward = flow.nn.functional.dropout2d, flow.nn.Dropout2d.forward
    with tm.mocked_torch():
        import inplace_abn.functions  # noqa: F401

        assert flow.nn.functional.dropout2d is not f_dropout2d and flow.nn.Dropout2d.forward is not forward
        from timm.models.layers import inplace_abn as timm_iabn

        assert timm_iabn.has_iabn
    assert flow.nn.functional.dropout2d is f_dropout2d is flow._C.dropout2d
    assert flow.nn.Dropout2d.forward is forward
    assert not any(k == "inplace_abn" or k.startswith("inplace_abn.") for k in sys.modules)
    with pytest.raises(ImportError):
        import inplace_abn  # noqa: F401


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_a_model_with_both_counts_the_same_in_both_engines(mode):
    # input (1, 2, 3, 3). conv 1x1 2 -> 4 without bias: 4 * 3 * 3 = 36 outputs x 2 inputs = 72 MACs
    # (144 FLOPs). timm's InplaceAbn(4), eval: |w| (abs, 4) + eps (scalar add, 4) = 8; the batch
    # norm with affine, 2 per element x 36 = 72; leaky_relu 36: 116 elementwise (MACs = FLOPs).
    # Dropout2d in eval: nothing. 72 + 116 = 188 MACs, 144 + 116 = 260 FLOPs.
    with tm.mocked_torch():
        import torch
        from timm.models.layers.inplace_abn import InplaceAbn

        class ConvAbnDrop(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = torch.nn.Conv2d(2, 4, 1, bias=False)
                self.abn = InplaceAbn(4, act_layer="leaky_relu", act_param=0.01)
                self.drop = torch.nn.Dropout2d(0.2)

            def forward(self, x):
                return self.drop(self.abn(self.conv(x)))

        cfg = {"count_functional": True} if mode == "eager" else None
        report = flowflops.profile(ConvAbnDrop().eval(), (1, 2, 3, 3), mode=mode, backend_specific_config=cfg,
                                   verify=True)
    assert (report.macs, report.flops) == (188, 260)
    assert not report.unsupported
    assert report.verification is not None and report.verification.agree, report.verification


class _TimesEye(flow.nn.Module):
    """timm's BilinearAttnTransform (bat_resnext26ts, behind its Dropout2d): x * torch.eye(t, t)."""

    def forward(self, x):
        return x * flow.eye(4, 4, dtype=x.dtype, device=x.device)


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_eye_is_zero_cost_in_both_engines(mode):
    # (4, 4) input times the 4 x 4 identity: one multiply per element, 16; eye itself creates
    # data without arithmetic (zero, as in eager mode; graph mode listed it as unsupported before)
    cfg = {"count_functional": True} if mode == "eager" else None
    report = flowflops.profile(_TimesEye(), (4, 4), mode=mode, backend_specific_config=cfg, verify=True)
    assert (report.macs, report.flops) == (16, 16)
    assert not report.unsupported
    assert report.verification is not None and report.verification.agree, report.verification
