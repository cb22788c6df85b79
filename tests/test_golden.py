"""Golden files: the exact layout of the per-layer printout, the tables and every export format.

The numbers in them are not taken on trust: each test first checks the report's numbers against
the hand derivation below, then compares the rendering with ``tests/golden/<name>``, byte for
byte. After a deliberate change of a layout, regenerate the files with the one command

    make golden        # = FLOWFLOPS_UPDATE_GOLDEN=1 python -m pytest -q tests/test_golden.py

and read the diff (``git diff tests/golden``) before committing it.
"""
import os
from collections import OrderedDict
from pathlib import Path

import oneflow.nn as nn
import pytest

import flowflops
from flowflops import Cost, OpRecord
from flowflops.render.export import (module_tree_text, per_rank_table, top_text, totals_text, zoo_flat,
                              zoo_text)
from flowflops.registry import price_records

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("FLOWFLOPS_UPDATE_GOLDEN") == "1"

# The model: input (1, 3, 8, 8); every activation below is (1, 4, 8, 8) = 256 elements.
#   0 Conv2d(3, 4, 3, padding=1): 256 outputs x 27 MACs = 6912 (+256 bias) = 7168 MACs,
#     FLOPs 2 * 6912 + 256 = 14080; params 4 * 27 + 4 = 112.
#     bytes (float32): conv2d reads x 768 + w 432, bias_add reads y 1024 + b 16 -> 2240;
#     writes y twice -> 2048.
#   1 BatchNorm2d(4), eval, affine: 2 per element = 512 MACs = 512 FLOPs; params 8;
#     reads x 1024 + mean, var, gamma, beta 4 * 16 -> 1088; writes 1024.
#   2 ReLU: 256 MACs/FLOPs; reads 1024, writes 1024.
#   3 AdaptiveAvgPool2d(1): one per input element, 256; reads 1024, writes (1, 4, 1, 1) 16.
#   4 Flatten: nothing.
#   5 Linear(4, 2): 1 x 4 x 2 = 8 MACs (16 FLOPs) + 2 bias = 10 MACs, 18 FLOPs; params 10;
#     matmul reads x 16 + w 32, bias add reads 8 + b 8 -> 64; writes 8 + 8 = 16.
#   total: 8202 MACs, 15122 FLOPs, 130 params, 5440 bytes read, 4128 written.
HAND = {  # path: (MACs, FLOPs, params, bytes read, bytes written)
    "": (8202, 15122, 130, 5440, 4128),
    "0": (7168, 14080, 112, 2240, 2048),
    "1": (512, 512, 8, 1088, 1024),
    "2": (256, 256, 0, 1024, 1024),
    "3": (256, 256, 0, 1024, 16),
    "4": (0, 0, 0, 0, 0),
    "5": (10, 18, 10, 64, 16),
}

# The article's numbers (seed_numbers.md): params, eager MACs, graph MACs.
ARTICLE_ROWS = [
    {"model": "alexnet", "input_shape": [1, 3, 227, 227], "params": 61_100_840,
     "eager_macs": 718_161_960, "graph_macs": 718_161_960},
    {"model": "resnet18", "input_shape": [1, 3, 224, 224], "params": 11_689_512,
     "eager_macs": 1_822_177_768, "graph_macs": 1_822_930_408},
]


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
        return
    assert path.exists(), f"no golden file {path}: run `make golden`"
    assert text == path.read_text(), f"{name} differs from {path}; after a deliberate change: make golden"


@pytest.fixture(scope="module")
def report():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    r = flowflops.profile(model, (1, 3, 8, 8))
    by_module, by_bytes = r.by_module(), r.by_module_bytes()
    got = {p: (by_module[p].macs, by_module[p].flops, r.modules[p].params,
               by_bytes[p].bytes_read, by_bytes[p].bytes_written) for p in HAND}
    assert got == HAND
    return r


RENDERINGS = {
    "printout.txt": lambda r: module_tree_text(r),
    "table.txt": lambda r: r.table(),
    "table_depth0_mmac.txt": lambda r: r.table(depth=0, units="MMac", precision=3),
    "operator_table.txt": lambda r: r.operator_table(),
    "totals.txt": totals_text,
    "top.txt": lambda r: top_text(r, 3),
    "report.csv": lambda r: r.to_csv(),
    "report.md": lambda r: r.to_markdown(),
    "report.tex": lambda r: r.to_latex(),
    "report.json": lambda r: r.to_json(),
}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_report_layouts(report, name):
    check(name, RENDERINGS[name](report))


# issue 32: explanations, roll-ups, folded repeats and the cost gate. The explanations are of the
# report read back from JSON, which keeps no code locations (they name this file's lines).
EXPLAINED = {
    "explain_total.txt": lambda r: r.explain().to_text(),
    "explain_conv.txt": lambda r: r.explain("0").to_text(),
    "explain_op_type.txt": lambda r: r.explain("relu").to_text(),
    "type_table.txt": lambda r: r.type_table(),
}


@pytest.mark.parametrize("name", sorted(EXPLAINED))
def test_explanation_layouts(report, name):
    check(name, EXPLAINED[name](flowflops.Report.from_json(report.to_json())))


# Repeated blocks, input (2, 4): Linear(4, 4): 2*4 outputs x 4 = 32 MACs + 8 bias = 40, ReLU 8:
# a block 48, three 144; head Linear(4, 2): 2*2 x 4 = 16 + 4 bias = 20; total 164 MACs.
# Params: Linear(4, 4) 4*4 + 4 = 20 each, head 4*2 + 2 = 10: 70. Bytes (float32): a Linear(4, 4)
# reads x 32 + w 64, writes 32 (matmul), reads 32 + b 16, writes 32 (bias add): 208; ReLU 32 + 32;
# a block 272, three 816; head reads 32 + 32, writes 16, reads 16 + 8, writes 16: 120; total 936.
@pytest.fixture(scope="module")
def repeated():
    blocks = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.ReLU()) for _ in range(3)])
    r = flowflops.profile(nn.Sequential(OrderedDict(blocks=blocks, head=nn.Linear(4, 2))), (2, 4))
    assert (r.macs, r.params) == (3 * (40 + 8) + 20, 3 * 20 + 10)
    assert [r.by_module()[f"blocks.{i}"].macs for i in range(3)] == [48, 48, 48]
    assert r.bytes == 3 * (208 + 64) + 120
    return r


FOLDED = {
    "table_folded.txt": lambda r: r.table(depth=3, fold_repeats=True),
    "printout_folded.txt": lambda r: r.printout(fold_repeats=True),
    "top_folded.txt": lambda r: r.top_text(3, fold_repeats=True),
}


@pytest.mark.parametrize("name", sorted(FOLDED))
def test_folded_layouts(repeated, name):
    check(name, FOLDED[name](repeated))


def test_gate_layouts():
    from flowflops.result import check as gate

    # Conv2d(3, w, 1, bias=False) on (1, 3, 4, 4): 16 outputs x 3 = 48 MACs per channel; ReLU 16
    # per channel: w=4 256 MACs, 12 params; w=5 320 MACs (+25%), 15 params (+25%). Bytes: conv
    # reads x 48*4 + w 3w*4, writes 16w*4; ReLU reads and writes 16w*4: w=4 1008, w=5 1212.
    a, b = (flowflops.profile(nn.Sequential(nn.Conv2d(3, w, 1, bias=False), nn.ReLU()), (1, 3, 4, 4)) for w in (4, 5))
    assert (a.macs, b.macs, a.params, b.params) == (256, 320, 12, 15)
    assert (a.bytes, b.bytes) == (192 + 48 + 256 + 512, 192 + 60 + 320 + 640)
    check("gate_ok.txt", gate(a, b, max_growth=0.25).to_text())
    check("gate_fail.txt", gate(a, b, max_growth=0.005, metrics=("macs", "params", "bytes")).to_text())


def test_rank_table_layout():
    # matmul (4, 6) x (4, 6)^T, K = 6 split S(1) over ranks 0 and 1: 96 MACs, 48 on each rank
    # (4 * 4 * 3); the output is a partial sum, nothing moves.
    rec = OpRecord("matmul", "", ((4, 6), (4, 6)), ((4, 4),),
                   {"transpose_a": False, "transpose_b": True, "_in_sbp": (("S(1)",), ("S(1)",)),
                    "_out_sbp": (("P",),), "_placement": {"type": "cpu", "ranks": (0, 1)}})
    r = flowflops.Report(price_records([rec]), OrderedDict(), mode="graph")
    assert r.by_rank() == {0: Cost(48, 96), 1: Cost(48, 96)}
    check("rank_table.txt", per_rank_table(r))


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "csv", "json"])
def test_zoo_layouts(fmt):
    modes = ["eager", "graph"]
    text = zoo_text(ARTICLE_ROWS, modes) if fmt == "text" else zoo_flat(ARTICLE_ROWS, modes, fmt)
    check(f"zoo.{fmt}", text)
    if fmt in ("text", "markdown", "latex"):  # the article's cells
        assert "11.69 M" in text and "1.82 GMac" in text and "718.16 MMac" in text


def test_zoo_raw_integers_and_escaping():
    rows = [{"model": 'my_net, "v2"', "params": 1_234, "eager_macs": 5_678}]
    assert zoo_flat(rows, ["eager"], "markdown", raw=True).splitlines()[2] == '| my_net, "v2" | 1,234 | 5,678 |'
    assert zoo_flat(rows, ["eager"], "csv").splitlines()[1] == '"my_net, ""v2""",1234,5678'
    assert r"my\_net" in zoo_flat(rows, ["eager"], "latex")
