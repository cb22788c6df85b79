"""Roll-ups: cost by module type (sums to the total), top types per depth, identical sibling
blocks folded into one row. Numbers derived by hand in the test."""
import oneflow.nn as nn
import pytest

import flowflops
from models import Block
from flowflops.analysis.rollup import folded_rows, folded_top, repeat_groups
from flowflops.cli.command import run


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block(), Block())
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.blocks(x)) * 2  # the model's own op (seen in graph mode)


# Input (4, 8). Linear(8, 8): 4*8 outputs x 8 = 256 MACs + 32 bias adds = 288; ReLU 32;
# a Block 320, three 960. head Linear(8, 2): 4*2 x 8 = 64 + 8 bias = 72. "* 2" on (4, 2): 8.
BLOCK = 4 * 8 * 8 + 4 * 8 + 4 * 8
HEAD = 4 * 2 * 8 + 4 * 2
OWN = 4 * 2


@pytest.fixture(scope="module")
def graph_report():
    return flowflops.profile(Net(), (4, 8), mode="graph")


def test_by_type_sums_to_the_total_with_the_models_own_ops_apart(graph_report):
    r = graph_report
    assert r.macs == 3 * BLOCK + HEAD + OWN
    t = r.by_type()
    assert sum(v.cost.macs for v in t.values()) == r.macs
    assert t[""].cost.macs == OWN and t[""].type_name == "Net" and list(t)[-1] == ""
    assert (t["Linear"].count, t["Linear"].cost.macs) == (4, 3 * (4 * 8 * 8 + 4 * 8) + HEAD)
    assert (t["ReLU"].count, t["ReLU"].cost.macs) == (3, 3 * 4 * 8)
    assert (t["Block"].count, t["Block"].cost.macs, t["Block"].inclusive.macs) == (3, 0, 3 * BLOCK)
    # params: Linear(8, 8) 72 each, head 18
    assert t["Linear"].params == 3 * 72 + 18 and t["Block"].params == 3 * 72
    depth = r.by_depth_type(k=2)
    assert [(x.type_name, x.count, x.inclusive.macs) for x in depth[1]] == [("Sequential", 1, 3 * BLOCK),
                                                                            ("Linear", 1, HEAD)]
    assert "(the model's own ops, Net)" in r.type_table()


def test_identical_blocks_fold(graph_report):
    r = graph_report
    assert repeat_groups(r)["blocks"] == [["blocks.0", "blocks.1", "blocks.2"]]
    rows = {row["module"]: row for row in folded_rows(r, depth=3)}
    row = rows["blocks.0-2"]
    assert (row["type"], row["copies"], row["macs"], row["per_copy"].macs) == ("Block", 3, 3 * BLOCK, BLOCK)
    assert rows["blocks.0-2.fc"]["macs"] == 3 * (4 * 8 * 8 + 4 * 8)
    assert "blocks.1" not in rows
    text = r.table(depth=3, fold_repeats=True)
    assert "blocks.0-2" in text and "Block x 3" in text and "blocks.1 " not in text
    assert folded_top(r, 1) == [("blocks.0-2.fc", "Linear", 3 * (4 * 8 * 8 + 4 * 8), 3)]
    assert "blocks.0-2.fc (Linear x 3)" in r.top_text(1, fold_repeats=True)
    assert "(0-2): 3 x Block(" in r.printout(fold_repeats=True)
    # without folding every copy has its row
    assert "blocks.1" in r.table(depth=3)


def test_blocks_that_differ_do_not_fold():
    model = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 4), nn.Linear(4, 4))
    r = flowflops.profile(model, (1, 8))
    assert repeat_groups(r)[""] == [["0", "1"], ["2"], ["3"]]


def test_vit_tiny_blocks_fold_into_one_row():
    import flowvision.models as fm

    r = flowflops.profile(fm.vit_tiny_patch16_224(), (1, 3, 224, 224))
    # One Block, default eager, tokens T = 197, width 192, MLP 768 (LayerNorm and the attention
    # matmuls unseen): qkv 197*576*192 + 197*576 bias; proj 197*192*192 + 197*192;
    # fc1 197*768*192 + 197*768; GELU 197*768; fc2 197*192*768 + 197*192.
    T = 197
    block = (T * 576 * 192 + T * 576) + (T * 192 * 192 + T * 192) + (T * 768 * 192 + T * 768) \
        + T * 768 + (T * 192 * 768 + T * 192)
    rows = [row for row in folded_rows(r, depth=2) if row["copies"] > 1]
    assert [(row["module"], row["type"], row["copies"]) for row in rows] == [("blocks.0-11", "Block", 12)]
    assert rows[0]["per_copy"].macs == block and rows[0]["macs"] == 12 * block
    assert "blocks.0-11" in r.table(depth=2, fold_repeats=True)
    assert sum(v.cost.macs for v in r.by_type().values()) == r.macs


def test_cli_fold_and_by_type(capsys):
    assert run(["resnet18", "--depth", "2", "--fold-repeats", "--top", "3", "--by-type"]) == 0
    out = capsys.readouterr().out
    # layer1's two BasicBlocks are identical (no downsample); layer2.0 has one, layer2.1 not
    assert "layer1.0-1" in out and "BasicBlock x 2" in out and "layer2.0 " in out
    assert "module type" in out and "depth 1:" in out
