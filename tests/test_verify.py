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


# -- recurrent layers: eager records one cell op per layer, the graph unrolls it ----------------

class _Recurrent(nn.Module):
    """cls(I=3, H=4, 2 layers, bidirectional, batch_first) on (B=2, T=5, 3), then Linear(8, 2)."""

    def __init__(self, cls):
        super().__init__()
        self.rnn = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(self.rnn(x)[0])


# Per step, direction and layer, batch B=2, hidden H=4, G gates (LSTM 4, GRU 3, RNN 1): the
# x product B*G*H*I (I = 3 in layer 0, 2H = 8 in layer 1), the h product B*G*H*H, two bias adds
# of B*G*H, then the cell's elementwise ops on B*H = 8 values. 5 steps x 2 directions = 10
# repeats of each layer, 20 of each layer's per-step ops.
def _matmul(g):
    return 10 * (2 * g * 4 * 3 + 2 * g * 4 * 4 + 2 * g * 4 * 8 + 2 * g * 4 * 4)


GRAPH_OPS = {
    # LSTM: add_n sums the 4 gates (B*4H = 32) and c' = f*c + i*g (8); sigmoid for i, f, o (3 x 8);
    # tanh for g and c' (2 x 8); broadcast_mul f*c, i*g, o*tanh(c') (3 x 8)
    nn.LSTM: {"matmul": _matmul(4), "bias_add": 20 * 2 * 32, "add_n": 20 * (32 + 8),
              "sigmoid": 20 * 3 * 8, "tanh": 20 * 2 * 8, "broadcast_mul": 20 * 3 * 8},
    # GRU: add_n for the r and z gate sums (2 x 8), x_n + r*h_n (8), n + z*(h - n) (8);
    # sigmoid r, z; broadcast_mul r*h_n, z*(h - n); tanh n; broadcast_sub h - n
    nn.GRU: {"matmul": _matmul(3), "bias_add": 20 * 2 * 24, "add_n": 20 * 4 * 8, "sigmoid": 20 * 2 * 8,
             "broadcast_mul": 20 * 2 * 8, "tanh": 20 * 8, "broadcast_sub": 20 * 8},
    # RNN: add_n of the two products (8), tanh (8)
    nn.RNN: {"matmul": _matmul(1), "bias_add": 20 * 2 * 8, "add_n": 20 * 8, "tanh": 20 * 8},
}
CELL_OP = {nn.LSTM: "lstm_cell", nn.GRU: "gru_cell", nn.RNN: "rnn_tanh_cell"}


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN], ids=lambda c: c.__name__)
def test_verify_compares_a_recurrent_layer_as_its_cell_op(cls):
    ops = GRAPH_OPS[cls]
    macs = sum(ops.values())
    flops = macs + ops["matmul"]  # a product is 2 FLOPs, everything else 1
    # Linear(8, 2) on (2, 5, 8), a 3-d input: broadcast_matmul 2*5*8*2 = 160 MACs, its bias
    # broadcast_add 2*5*2 = 20 adds
    linear = {"broadcast_matmul": (160, 320), "broadcast_add": (20, 20)}
    graph = flowflops.profile(_Recurrent(cls), (2, 5, 3), mode="graph", verify=True)
    got = {k: (c.macs, c.flops) for k, c in graph.by_operator().items() if c.macs}
    assert got == {**{k: (v, 2 * v if k == "matmul" else v) for k, v in ops.items()}, **linear}
    assert (graph.by_module()["rnn"].macs, graph.by_module()["rnn"].flops) == (macs, flops)
    eager = flowflops.profile(_Recurrent(cls), (2, 5, 3), **FUNC)
    got = {k: (c.macs, c.flops) for k, c in eager.by_operator().items() if c.macs}
    assert got == {CELL_OP[cls]: (macs, flops), **linear}
    v = graph.verification
    assert v.agree, v.to_text()
    assert v.recurrent == {"rnn": CELL_OP[cls]} and v.eager == v.graph == (macs + 180, flops + 340)
    assert "rnn (%s)" % CELL_OP[cls] in v.to_text()
    # fvcore prices the layer 0 in both engines (no handle for aten::lstm/gru/rnn_tanh): the Linear
    fv = flowflops.profile(_Recurrent(cls), (2, 5, 3), mode="graph", convention="fvcore", verify=True)
    assert fv.verification.agree and fv.verification.eager == (160, 320)


def test_recurrent_layers_compared_whole_still_differ():
    # LSTM(3, 4) against LSTM(3, 5) on (T=5, B=2, 3): the cell op and the module differ;
    # H=4: 5*(2*16*3 + 2*16*4 + 2*2*16 + 2*4*13) = 5*(96 + 128 + 64 + 104) = 1,960 MACs;
    # H=5: 5*(2*20*3 + 2*20*5 + 2*2*20 + 2*5*13) = 5*(120 + 200 + 80 + 130) = 2,650 MACs
    e = flowflops.profile(nn.Sequential(nn.LSTM(3, 4)), (5, 2, 3), **FUNC)
    g = flowflops.profile(nn.Sequential(nn.LSTM(3, 5)), (5, 2, 3), mode="graph")
    got = agreement(e, g)
    by = {(d.kind, d.name): (d.eager[0], d.graph[0]) for d in got.differences}
    assert by == {("total", ""): (1960, 2650), ("module", ""): (1960, 2650), ("module", "0"): (1960, 2650),
                  ("op type", "lstm_cell"): (1960, 2650)}


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
