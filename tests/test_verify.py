"""profile(..., verify=True) and --verify: eager+count_functional against graph, every total,
module and op type where they differ with both numbers (issue 27). The on-demand sweep over
every timm name and HF type is sweeps/agreement.py; this file runs a sample of it."""
import importlib.util
import warnings

import oneflow as flow
import oneflow.nn as nn
import oneflow.nn.functional as F
import pytest

import flowflops
from flowflops.analysis.agreement import agreement
from tests.gpt import GPTBlock

HAVE_EXTRA = all(importlib.util.find_spec(p) is not None for p in ("timm", "transformers"))
FUNC = {"backend_specific_config": {"count_functional": True}}


def test_agreement_lists_each_difference_with_both_numbers():
    # Linear(4, 4) on (2, 4): matmul 2*4*4 = 32 MACs (64 FLOPs) + bias 2*4 = 8 adds: 40 / 72;
    # Linear(4, 8): 2*4*8 = 64 MACs (128 FLOPs) + bias 2*8 = 16 adds: 80 / 144
    a = flowflops.profile(nn.Sequential(nn.Linear(4, 4)), (2, 4), **FUNC)
    b = flowflops.profile(nn.Sequential(nn.Linear(4, 8)), (2, 4), mode="graph")
    got = agreement(a, b)
    assert not got.agree
    assert (got.eager, got.graph) == ((40, 72), (80, 144))
    by = {(d.kind, d.name): (d.eager, d.graph) for d in got.differences}
    assert by[("total", "")] == ((40, 72), (80, 144))
    assert by[("module", "0")] == ((40, 72), (80, 144))
    # the same model in both engines: nothing differs
    same = flowflops.profile(nn.Sequential(nn.Linear(4, 4)), (2, 4), mode="graph", verify=True).verification
    assert same.agree and same.differences == [] and same.eager == same.graph == (40, 72)


class _Captured(nn.Module):
    """An activation held where no patch reaches (a default argument): eager sees its call
    only as unreached:gelu and cannot price it; graph prices the gelu op (1 per element)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x, act=F.gelu):
        return act(self.fc(x))


def test_verify_reports_what_one_engine_cannot_see():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = flowflops.profile(_Captured(), (2, 4), verify=True, **FUNC)
    v = r.verification
    assert not v.agree and v.unsupported == {"eager": {"unreached:gelu_with_approximate": 1}}
    # eager: Linear 32 + 8 = 40 MACs; graph also the gelu on 2*4 = 8 elements: 48
    assert v.eager[0] == 40 and v.graph[0] == 48
    assert ("op type", "gelu") in {(d.kind, d.name) for d in v.differences}
    assert any("Engines differ" in str(w.message) and "unreached:gelu_with_approximate x1" in str(w.message)
               for w in caught)


def test_verify_gpt_decoder_agrees():
    r = flowflops.profile(GPTBlock(), (2, 16), mode="graph", verify=True,
                          input_constructor=lambda s: {"idx": flow.ones(*s, dtype=flow.int64)})
    assert r.verification.agree, r.verification.to_text()


def test_verify_needs_eager_or_graph():
    with pytest.raises(ValueError, match="verify=True compares an eager and a graph count"):
        flowflops.profile(nn.Linear(4, 4), (2, 4), mode="train", verify=True)


def test_cli_verify_exit_status(tmp_path):
    from flowflops.cli.command import run

    out = tmp_path / "out.txt"
    assert run(["resnet18", "--input-shape", "1,3,32,32", "--verify", "--depth", "0", "--output", str(out)]) == 0
    assert "Engines agree" in out.read_text()


# -- a sample of sweeps/agreement.py: the zoo, timm families, every HF modality -----------------

@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenet_v2", "shufflenet_v2_x0_5", "vit_tiny_patch16_224"])
def test_verify_zoo_sample(name):
    from tests.zoo import ALL, build

    res = dict((n, r) for _, n, r in ALL)[name]
    r = flowflops.profile(build(name), res, mode="graph", verify=True)
    assert r.verification.agree, r.verification.to_text()


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_EXTRA, reason="the torch-models extra is not installed: `make torch-models`")
@pytest.mark.parametrize("name,config", [
    ("timm:resnet18", {}), ("timm:convnext_atto", {}), ("timm:vit_tiny_patch16_224", {}),
    ("hf:gpt2", {"n_layer": 1, "n_embd": 64, "n_head": 4, "vocab_size": 1000, "n_positions": 64}),
    ("hf:bert", {"num_hidden_layers": 1, "hidden_size": 64, "num_attention_heads": 4,
                 "intermediate_size": 128, "vocab_size": 1000}),
])
def test_verify_torch_models_sample(name, config):
    from flowflops import torch_models as tm

    with tm.mocked_torch():
        built = tm.build(name, config)
        r = flowflops.profile(built.model, built.default_input_res, input_constructor=built.input_constructor,
                              mode="graph", verify=True)
    assert r.verification.agree, r.verification.to_text()
