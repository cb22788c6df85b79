"""report.explain(): from a number down to the op records, the formulas' arithmetic, the
convention, the sum, what was counted zero and where in the code; report.methods_text().
Every number below is derived by hand in the test."""
import json

import oneflow.nn as nn
import pytest

import flowflops
from flowflops import OpRecord
from flowflops.formulas.derivation import Derivation
from flowflops.registry import derive, price


@pytest.fixture(scope="module")
def resnet18_eager():
    import flowvision.models as fm

    return flowflops.profile(fm.resnet18(), (1, 3, 224, 224))


def test_resnet18_layer1_conv1_shapes_and_arithmetic(resnet18_eager):
    # layer1.0.conv1: Conv2d(64, 64, 3, padding=1, bias=False) on (1, 64, 56, 56):
    # 56*56*64 outputs x 64*3*3 weight elements per output = 115,605,504 MACs, no bias.
    hand = 56 * 56 * 64 * 64 * 9
    assert hand == 115_605_504
    e = resnet18_eager.explain("layer1.0.conv1")
    text = str(e)
    assert e.kind == "module" and e.type_name == "Conv2d"
    assert e.total.macs == hand and e.total.flops == 2 * hand
    assert len(e.ops) == 1 and e.ops[0].record.op_type == "conv2d"
    assert "(1, 64, 56, 56) x (64, 64, 3, 3) -> outputs (1, 64, 56, 56)" in text
    assert "1*64*56*56 output elements x 64*3*3 weight elements per output" in text
    assert "= 115,605,504 MACs" in text
    assert "flowflops.formulas.conv.conv" in text and "one per weight element per output position" in text
    assert "float32" in text
    # where in the code: the class's forward and the line of the block that called it
    assert "conv.py" in e.source and "resnet.py" in e.called_at
    assert "counted zero here: nothing" in text


def test_a_block_sums_its_children(resnet18_eager):
    # layer1.0 (BasicBlock, eager): conv1 and conv2 115,605,504 each; bn1, bn2: 2 per element of
    # (1, 64, 56, 56) = 401,408 each; relu runs twice on 200,704 elements = 401,408. No own ops
    # in default eager mode (the residual add is a tensor operator): 2*115,605,504 + 3*401,408.
    hand = 2 * 115_605_504 + 3 * 401_408
    e = resnet18_eager.explain("layer1.0")
    assert e.ops == [] and e.total.macs == hand
    assert [p.path for p in e.parts] == ["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu",
                                        "layer1.0.conv2", "layer1.0.bn2"]
    text = str(e)
    assert f"= {hand:,} MACs" in text
    assert "count_functional" in text  # the note: default eager mode does not see `out += identity`


def test_layernorm_in_default_eager_is_explained_as_zero_with_the_way_out():
    model = nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8))
    r = flowflops.profile(model, (2, 8))
    e = r.explain("1")
    text = str(e)
    assert e.total.macs == 0 and e.ops == []
    assert [z.what for z in e.zeros] == ["LayerNorm"] and e.zeros[0].paths == ["1"]
    assert "no formula for the module type LayerNorm in eager mode" in text
    assert "count_functional" in text and "mode='graph'" in text
    # priced the way the explanation says: LayerNorm over 8 features of (2, 8): n = 16 elements,
    # r = 2 rows: reduce_sum n, mean r, var n, + eps r, x - mean n, rsqrt r, * rsqrt n,
    # affine * and + 2n = 6n + 3r = 102
    r2 = flowflops.profile(model, (2, 8), backend_specific_config={"count_functional": True})
    e2 = r2.explain("1")
    assert e2.total.macs == 6 * 16 + 3 * 2 and e2.zeros == []
    assert all(s.at for s in e2.ops)  # the calling line of each functional call


def test_op_type_and_total():
    # Conv2d(3, 4, 3) on (1, 3, 8, 8): outputs (1, 4, 6, 6) = 144 x 27 = 3888 MACs + bias 144;
    # Conv2d(4, 2, 1) on (1, 4, 6, 6): 72 outputs x 4 = 288 MACs + bias 72
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 2, 1))
    r = flowflops.profile(model, (1, 3, 8, 8))
    e = r.explain("conv2d")
    assert e.kind == "op_type" and [s.record.module for s in e.ops] == ["0", "1"]
    assert e.total.macs == 144 * 27 + 72 * 4
    assert "1*4*6*6 output elements x 3*3*3 weight elements" in str(e)
    total = r.explain()
    assert total.kind == "total" and total.total.macs == 144 * 27 + 144 + 72 * 4 + 72
    assert sum(p.cost.macs for p in total.parts) == total.total.macs


def test_unknown_target_names_the_closest():
    r = flowflops.profile(nn.Sequential(nn.Conv2d(3, 4, 3)), (1, 3, 8, 8))
    with pytest.raises(ValueError, match="'conv2d'"):
        r.explain("conv2")


def test_formulas_give_their_arithmetic_as_data():
    # x (4, 8) @ W^T (8, 16): 4*16 outputs x K=8 = 512 MACs
    rec = OpRecord("matmul", "m", ((4, 8), (16, 8)), ((4, 16),), {"transpose_b": True})
    d = derive(rec)
    assert isinstance(d, Derivation) and [t.n for t in d.terms] == [4 * 16 * 8]
    assert price(rec).macs == 512 == d.cost.macs
    # a zero-cost op says why
    z = derive(OpRecord("reshape", "m", ((4, 8),), ((32,),)))
    assert isinstance(z, Derivation) and z.terms == () and "no arithmetic" in z.note


def test_peer_convention_zero_is_explained():
    r = flowflops.profile(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (1, 3, 8, 8), convention="fvcore")
    e = r.explain("1")
    assert e.total.macs == 0
    assert "the fvcore convention does not count 'relu'" in str(e)


def test_graph_mode_names_the_scope_and_oneflow_location():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x) + x  # an add the graph sees, made on this line

    r = flowflops.profile(Net(), (2, 4), mode="graph")
    e = r.explain("")
    adds = [s for s in e.ops if s.record.op_type in ("add_n", "broadcast_add")]
    assert adds and "test_explain.py" in adds[0].at and "(forward)" in adds[0].at
    # (2, 4) + (2, 4): 8 adds
    assert adds[0].cost.macs == 8


def test_explain_after_a_json_round_trip():
    r = flowflops.profile(nn.Sequential(nn.Linear(4, 3)), (2, 4))
    back = flowflops.Report.from_json(r.to_json())
    e = back.explain("0")
    # 2*3 outputs x K=4 = 24 MACs + 6 bias adds
    assert e.total.macs == 24 + 6
    assert "2*3 output elements x 4 steps of the contraction (K) = 24 MACs" in str(e)


def test_methods_text():
    # Conv2d(3, 4, 3, padding=1) on (1, 3, 8, 8): 256 outputs x 27 = 6912 MACs + 256 bias
    # = 7168 MACs, FLOPs 2 * 6912 + 256 = 14080; params 4 * 27 + 4 = 112
    r = flowflops.profile(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1)), (1, 3, 8, 8))
    text = r.methods_text()
    assert text.startswith("Sequential: 7.17 KMACs and 14.08 KFLOPs per forward call (")
    assert "112 parameters" in text and "input 1x3x8x8, batch 1" in text
    assert f"flowflops {flowflops.__version__}" in text and "eager engine (module hooks)" in text
    assert text.count(".") >= 1 and "\n" not in text
    g = flowflops.profile(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1)), (2, 3, 8, 8), mode="graph",
                          convention="fvcore")
    assert "fvcore 0.1.5 convention" in g.methods_text() and "batch 2" in g.methods_text()
    assert "graph engine" in g.methods_text()
    json.dumps(text)


def test_html_page_carries_each_modules_explanation_and_the_repeats():
    import re

    from models import Block

    model = nn.Sequential(Block(), Block(), Block(), nn.Linear(8, 2))
    page = flowflops.profile(model, (4, 8)).to_html()
    data = json.loads(re.search(r'id="ff-data">(.*?)</script>', page, re.S).group(1))
    assert set(data["explain"]) == {"", "0", "0.fc", "0.act", "1", "1.fc", "1.act", "2", "2.fc", "2.act", "3"}
    # 1.fc: Linear(8, 8) on (4, 8): 4*8 outputs x K=8 = 256 MACs + 32 bias adds = 288
    text = data["explain"]["1.fc"]
    assert text.startswith("1.fc (Linear)")
    assert "4*8 output elements x 8 steps of the contraction (K) = 256 MACs" in text
    assert "sum: 288 MACs" in text
    # the three identical blocks form one group; Linear(8, 2) differs
    assert data["repeats"] == [["0-2", "Block", ["0", "1", "2"]]]


def test_methods_text_of_a_report_file_names_the_versions_that_counted_it():
    r = flowflops.profile(nn.Sequential(nn.Linear(4, 3)), (2, 4))
    data = r.to_dict()
    data["flowflops_version"], data["oneflow_version"] = "0.0.9", "0.8.1"
    back = flowflops.Report.from_dict(data)
    # Linear(4, 3) on (2, 4): 2*3 outputs x 4 = 24 MACs + 6 bias adds = 30 MACs, 2 * 24 + 6 = 54 FLOPs
    assert back.methods_text().startswith("Sequential: 30 MACs and 54 FLOPs per forward call")
    assert "counted with flowflops 0.0.9 on OneFlow 0.8.1" in back.methods_text()
    assert f"counted with flowflops {flowflops.__version__} on OneFlow" in r.methods_text()
