"""Results as data and the command line (issue: results, command, paper tables)."""
import csv
import io
import json
import os
import subprocess
import sys

import oneflow.nn as nn
import pytest

import flowflops
from flowflops.cli.command import run

# Linear(4 -> 8) on (2, 4): 2*8*4 + 2*8 = 80 MACs, 2*(2*8*4) + 2*8 = 144 FLOPs
# ReLU on (2, 8): 16 MACs, 16 FLOPs; Linear(8 -> 3): 2*3*8 + 2*3 = 54 MACs, 96 + 6 = 102 FLOPs
LIN1, RELU, LIN2 = 2 * 8 * 4 + 2 * 8, 2 * 8, 2 * 3 * 8 + 2 * 3
LIN1_F, LIN2_F = 2 * (2 * 8 * 4) + 2 * 8, 2 * (2 * 3 * 8) + 2 * 3
PARAMS = 4 * 8 + 8 + 8 * 3 + 3


class Wrapper(nn.Module):
    """A single-child wrapper around the MLP: folded in tables."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, x):
        return self.body(x)


def make_model():
    return Wrapper()


@pytest.fixture(scope="module")
def report():
    return flowflops.profile(Wrapper(), (2, 4))


def test_totals(report):
    assert (report.macs, report.flops, report.params) == (LIN1 + RELU + LIN2, LIN1_F + RELU + LIN2_F, PARAMS)


def test_json_round_trip(report):
    text = report.to_json()
    data = json.loads(text)
    assert data["totals"] == {"macs": LIN1 + RELU + LIN2, "flops": LIN1_F + RELU + LIN2_F,
                              "params": PARAMS, "trainable_params": PARAMS}
    assert data["mode"] == "eager" and data["inputs"] == [[2, 4]]
    assert data["flowflops_version"] == flowflops.__version__ and data["oneflow_version"]
    assert {m["path"]: m["macs"] for m in data["modules"]}["body.0"] == LIN1
    assert data["operators"]["matmul"]["macs"] == 2 * 8 * 4 + 2 * 3 * 8
    back = flowflops.Report.from_json(text)
    assert back.to_dict() == report.to_dict()
    assert (back.macs, back.flops, back.params) == (report.macs, report.flops, report.params)
    assert back.by_module()["body.2"].macs == LIN2


def test_csv_has_one_row_per_module(report):
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [r["module"] for r in rows] == ["", "body", "body.0", "body.1", "body.2"]
    by = {r["module"]: r for r in rows}
    assert int(by["body.0"]["macs"]) == LIN1 and int(by["body.1"]["flops"]) == RELU
    assert int(by[""]["params"]) == PARAMS and by["body.2"]["type"] == "Linear"
    assert by["body.0"]["output_shape"] == "2x8"


def test_markdown_and_latex_hold_names_and_numbers(report):
    md = report.to_markdown(depth=3)
    assert md.splitlines()[0] == "| module | type | params | MACs | FLOPs | bytes |"
    assert f"| {LIN1:,} (" in md and "body.0" in md and "Wrapper>Sequential" in md
    tex = report.to_latex(depth=3)
    assert tex.startswith("\\begin{tabular}") and f"{LIN2:,}" in tex and "body.2" in tex


def test_table_folds_single_child_wrappers(report):
    table = report.table(depth=1)
    # the root's only child holds all of its cost: one folded row "body", then its children
    lines = [ln for ln in table.splitlines() if ln.startswith("|")]
    assert "Wrapper>Sequential" in lines[1]
    assert any("body.0" in ln for ln in lines) and not any(ln.split("|")[1].strip() == "model" for ln in lines[2:])
    ops = report.operator_table()
    assert "matmul" in ops and "relu" in ops


def test_unsupported_shown_under_tables():
    zero = nn.Softsign() if hasattr(nn, "Softsign") else nn.Tanh()
    r = flowflops.profile(nn.Sequential(nn.Linear(2, 2), zero), (1, 2))
    assert "Counted as zero" in r.table() and "Counted as zero" in r.operator_table()


def cli(*args):
    """Run the command in-process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = run(list(args))
    except SystemExit as e:  # argparse errors
        code = e.code
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


FACTORY = "test_export_cli:make_model"


def test_cli_factory_json(tmp_path):
    out = tmp_path / "r.json"
    code, _, _ = cli(FACTORY, "--input-shape", "2,4", "--format", "json", "--output", str(out))
    assert code == 0
    assert json.loads(out.read_text())["totals"]["macs"] == LIN1 + RELU + LIN2


@pytest.mark.parametrize("fmt, needle", [("csv", f"body.0,Linear,2,{4 * 8 + 8}"), ("markdown", "| module |"),
                                         ("latex", "\\begin{tabular}"), ("text", f"({LIN1 + RELU + LIN2:,})")])
def test_cli_formats(fmt, needle):
    code, out, _ = cli(FACTORY, "--input-shape", "2,4", "--format", fmt)
    assert code == 0 and needle in out


def test_cli_depth_top_both_functional():
    code, out, _ = cli(FACTORY, "--input-shape", "2,4", "--depth", "2", "--top", "2", "--mode", "both",
                       "--count-functional")
    assert code == 0
    assert "Top 2 modules by MACs (eager):" in out and "1. body.0 (Linear)" in out
    assert "graph - eager" in out


def test_cli_kwargs():
    code, out, _ = cli("resnet18", "--kwargs", '{"num_classes": 10}', "--input-shape", "1,3,32,32", "--format", "json")
    assert code == 0
    # fc: 512 -> 10 on one row: 512*10 + 10 MACs
    assert {m["path"]: m["macs"] for m in json.loads(out)["modules"]}["fc"] == 512 * 10 + 10


@pytest.mark.parametrize("args, code, msg", [
    (("no_such_model",), 2, "unknown model 'no_such_model'"),
    (("resnet18", "--input-shape", "1,-3"), 2, "bad --input-shape"),
    (("resnet18", "--input-shape", "a,b"), 2, "bad --input-shape"),
    (("nonexistent_pkg_xyz:factory",), 2, "cannot load 'nonexistent_pkg_xyz:factory'"),
    ((FACTORY, "--kwargs", "{bad"), 2, "bad --kwargs"),
    ((FACTORY, "--input-shape", "2,5"), 1, "CountError"),
    (("graph-text", "/nonexistent/file.txt"), 2, "cannot read"),
])
def test_cli_errors_are_one_line(args, code, msg):
    got, out, err = cli(*args)
    assert got == code
    assert msg in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_debug_shows_the_traceback():
    with pytest.raises(Exception):
        run([FACTORY, "--input-shape", "2,5", "--debug"])


def test_cli_plot(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "top.png"
    code, _, _ = cli(FACTORY, "--input-shape", "2,4", "--plot", str(png), "--top", "3")
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_zoo_on_two_small_models():
    code, out, _ = cli("zoo", "--models", "squeezenet1_1,shufflenet_v2_x0_5", "--format", "csv")
    assert code == 0
    # the article's integers (seed_numbers.md)
    assert out.splitlines() == ["model,params,eager_macs,graph_macs",
                                "squeezenet1_1,1235496,355862008,355862008",
                                "shufflenet_v2_x0_5,1366792,43647944,43699144"]


# The article's two tables, verbatim.
ARTICLE_TABLES = """====== eager ======
+--------------------+----------+-------------+
|       Model        |  Params  |    FLOPs    |
+--------------------+----------+-------------+
|      alexnet       |  61.1 M  | 718.16 MMac |
|       vgg11        | 132.86 M |  7.63 GMac  |
|      vgg11_bn      | 132.87 M |  7.64 GMac  |
|   squeezenet1_0    |  1.25 M  | 830.05 MMac |
|   squeezenet1_1    |  1.24 M  | 355.86 MMac |
|      resnet18      | 11.69 M  |  1.82 GMac  |
|      resnet50      | 25.56 M  |  4.12 GMac  |
|  resnext50_32x4d   | 25.03 M  |  4.27 GMac  |
| shufflenet_v2_x0_5 |  1.37 M  |  43.65 MMac |
|   regnet_x_16gf    | 54.28 M  |  16.01 GMac |
|  efficientnet_b0   |  5.29 M  | 401.67 MMac |
|    densenet121     |  7.98 M  |  2.88 GMac  |
+--------------------+----------+-------------+
====== graph ======
+--------------------+----------+-------------+
|       Model        |  Params  |    FLOPs    |
+--------------------+----------+-------------+
|      alexnet       |  61.1 M  | 718.16 MMac |
|       vgg11        | 132.86 M |  7.63 GMac  |
|      vgg11_bn      | 132.87 M |  7.64 GMac  |
|   squeezenet1_0    |  1.25 M  | 830.05 MMac |
|   squeezenet1_1    |  1.24 M  | 355.86 MMac |
|      resnet18      | 11.69 M  |  1.82 GMac  |
|      resnet50      | 25.56 M  |  4.13 GMac  |
|  resnext50_32x4d   | 25.03 M  |  4.28 GMac  |
| shufflenet_v2_x0_5 |  1.37 M  |  43.7 MMac  |
|   regnet_x_16gf    | 54.28 M  |  16.02 GMac |
|  efficientnet_b0   |  5.29 M  | 410.35 MMac |
|    densenet121     |  7.98 M  |  2.88 GMac  |
+--------------------+----------+-------------+
"""


@pytest.mark.slow
def test_zoo_reproduces_the_article_tables():
    code, out, _ = cli("zoo")
    assert code == 0
    assert out == ARTICLE_TABLES


def test_python_dash_m_runs():
    p = subprocess.run([sys.executable, "-m", "flowflops", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "zoo" in p.stdout


def test_cli_graph_text(tmp_path):
    from models import ModelGraph

    import oneflow as flow

    g = ModelGraph(Wrapper().eval())
    g.build_graph(flow.ones(2, 4))
    g.finish_complie_and_init_runtime()  # OneFlow prints OPERATOR lines once the plan exists
    path = tmp_path / "graph.txt"
    path.write_text(repr(g))
    code, out, _ = cli("graph-text", str(path), "--format", "json")
    assert code == 0
    assert json.loads(out)["totals"]["macs"] == LIN1 + RELU + LIN2
    code, out, _ = cli("graph-text", str(path))
    assert code == 0 and f"({LIN1 + RELU + LIN2:,})" in out


@pytest.mark.slow
@pytest.mark.parametrize("script", ["basic_block.py", "custom_formula.py", "transformer.py", "llm.py",
                                    "training_script.py", "zoo_table.py"])
def test_examples_run(script):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run([sys.executable, os.path.join(root, "examples", script)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
