"""The HTML page's data (render/html.py) and the notebook view: the numbers it holds, coverage,
sizes by bytes and time, escaping, training phases, ranks, graph and parsed-graph pages. The page in
a real browser: tests/test_browser.py."""
import json
import re

import oneflow.nn as nn
import pytest

import flowflops
from test_export_cli import LIN1, LIN2, PARAMS, RELU, Wrapper, cli


@pytest.fixture(scope="module")
def base():
    """The Wrapper of tests/test_export_cli.py counted in eager mode on (2, 4)."""
    return flowflops.profile(Wrapper(), (2, 4))


# -- the page --------------------------------------------------------------------------------------

def page_json(page):
    """The data block the page draws from."""
    m = re.search(r'<script type="application/json" id="ff-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_page_is_self_contained_and_holds_the_numbers(base):
    page = base.to_html()
    # nothing is fetched: no src/href to anywhere, no import, no fetch
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:|//)', page)
    assert "fetch(" not in page and "import(" not in page and "<link" not in page
    data = page_json(page)
    idx = {p: i for i, p in enumerate(data["modules"]["path"])}
    macs = data["values"]["all"]["macs"]
    assert macs[idx[""]] == LIN1 + RELU + LIN2 and macs[idx["body.0"]] == LIN1 and macs[idx["body.1"]] == RELU
    assert data["modules"]["params"][idx["body.2"]] == 8 * 3 + 3 and data["totals"]["params"] == PARAMS
    assert data["modules"]["parent"][idx["body.2"]] == idx["body"]
    ops = {row[0]: row for row in data["operators"]["all"]}
    # matmul: 2*8*4 + 2*3*8 MACs over 2 calls
    assert ops["matmul"][1] == 2 and ops["matmul"][2] == 2 * 8 * 4 + 2 * 3 * 8
    assert data["inputs"] == [[2, 4]] and data["views"] == ["all"]
    n = len(base.entries)
    assert data["coverage"] == {"share": 1.0, "value": "100.00%", "note": "complete", "complete": True,
                                "priced": n, "seen": n}


@pytest.mark.slow  # flowvision's ViT-Tiny, one eager count (a few seconds)
def test_coverage_card_is_the_api_coverage_on_an_incomplete_count():
    import flowvision.models as zoo

    r = flowflops.profile(zoo.vit_tiny_patch16_224(), (1, 3, 224, 224))  # default eager
    # default eager has no LayerNorm formula: ViT-Tiny's 12 blocks x 2 + the final norm = 25
    # LayerNorms counted zero, so the page must not say 100% (it said "112 of 112" before)
    assert r.unsupported == {"LayerNorm": 25} and not r.complete
    card = page_json(r.to_html())["coverage"]
    assert card["share"] == r.coverage and card["value"] == f"{r.coverage:.2%}" != "100.00%"
    assert card["complete"] is False and "LayerNorm x25" in card["note"]
    assert card["seen"] - card["priced"] == 25
    # the page draws the card from these fields, in red when incomplete
    page = r.to_html()
    assert 'cov.complete ? "" : "ff-bad"' in page and ".ff-card.ff-bad" in page


def test_page_sizes_by_bytes_and_predicted_time():
    from flowflops.analysis.hardware import get_device

    r = flowflops.profile(Wrapper(), (2, 4))
    data = page_json(r.to_html())
    assert data["metrics"] == ["macs", "flops", "bytes"] and data["device"] is None
    idx = {p: i for i, p in enumerate(data["modules"]["path"])}
    by = data["values"]["all"]["bytes"]
    # float32 ReLU on (2, 8): reads 64 B, writes 64 B
    assert by[idx["body.1"]] == 2 * 8 * 4 * 2
    # Linear(4 -> 8): weight and bias (32 + 8) * 4 B read; matmul reads x (2*4*4 B), the bias add
    # reads the matmul's (2, 8) output (64 B); both write (2, 8) (64 B each)
    assert by[idx["body.0"]] == (32 + 8) * 4 + 2 * 4 * 4 + 2 * 8 * 4 + 2 * (2 * 8 * 4)
    data = page_json(r.to_html(roofline=r.roofline("A100-80GB")))
    assert data["metrics"][-1] == "time" and data["device"] == "A100-80GB at fp32"
    dev = get_device("A100-80GB")
    # the ReLU on a datasheet device: the roofline max(16 FLOPs / peak, 128 B / bandwidth)
    t = data["values"]["all"]["time"][idx["body.1"]]
    assert t == pytest.approx(max(16 / dev.peak("fp32"), 128 / dev.bandwidth))


def test_page_escapes_script_breaking_text():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x)

    page = flowflops.profile(Odd(), (1, 2)).to_html(title="</script><b>x</b>")
    assert page.count("</script>") == 2  # the data block's and the program's, nothing else
    assert page_json(page)["title"] == "</script><b>x</b>"


def test_train_page_switches_between_phases():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    r = flowflops.profile(model, (2, 4), mode="train")
    data = page_json(r.to_html())
    assert data["views"] == ["all", "forward", "backward", "optimizer"]
    phases = r.by_phase()
    root = data["modules"]["path"].index("")
    for ph in ("forward", "backward", "optimizer"):
        assert data["values"][ph]["macs"][root] == phases[ph].macs
    # the views split the whole: forward + backward + optimizer = all, module by module
    for i in range(len(data["modules"]["path"])):
        parts = sum(data["values"][ph]["macs"][i] for ph in ("forward", "backward", "optimizer"))
        assert parts == data["values"]["all"]["macs"][i]
    # forward of the first Linear: matmul 2*8*4 + bias 2*8, as in eager
    assert data["values"]["forward"]["macs"][data["modules"]["path"].index("0")] == LIN1


def test_notebook_view(base):
    r = base
    view = r._repr_html_()
    assert f"({LIN1 + RELU + LIN2:,} MACs)" in view and "Open full view" in view and "body" in view
    assert "data:text/html;base64," in view


def test_cli_format_html(tmp_path):
    out = tmp_path / "r.html"
    code, _, err = cli("test_export_cli:make_model", "--input-shape", "2,4", "--format", "html", "--output", str(out))
    assert code == 0, err
    assert page_json(out.read_text())["totals"]["macs"] == LIN1 + RELU + LIN2





def test_per_rank_page_switches_between_ranks():
    from collections import OrderedDict

    from flowflops import Report
    from flowflops.registry import price_records

    b = {"_in_sbp": (("B",),), "_out_sbp": (("B",),)}
    on0 = flowflops.OpRecord("relu", "a", ((10,),), ((10,),), {**b, "_placement": {"type": "cpu", "ranks": (0,)}})
    on_both = flowflops.OpRecord("relu", "b", ((6,),), ((6,),), {**b, "_placement": {"type": "cpu", "ranks": (0, 1)}})
    data = page_json(Report(price_records([on0, on_both]), OrderedDict(), mode="graph").to_html())
    assert data["views"] == ["all", "rank 0", "rank 1"]
    idx = {p: i for i, p in enumerate(data["modules"]["path"])}
    # relu on rank 0 only: 10 there; relu broadcast on both ranks: 6 on each
    assert [data["values"][v]["macs"][idx[""]] for v in data["views"]] == [16, 16, 6]
    assert data["values"]["rank 1"]["macs"][idx["a"]] == 0 and data["values"]["rank 1"]["macs"][idx["b"]] == 6
    assert set(data["ranks"]) == {"0", "1"}


@pytest.mark.slow  # two graph compilations (about 20 s on a loaded 2-core machine)
def test_graph_page_and_both_modes_page():
    graph = flowflops.profile(Wrapper(), (2, 4), mode="graph")
    data = page_json(graph.to_html())
    idx = {p: i for i, p in enumerate(data["modules"]["path"])}
    # the compiled job prices Linear(4 -> 8) as matmul + bias add, as the eager hooks do
    assert data["mode"] == "graph" and data["values"]["all"]["macs"][idx["body.0"]] == LIN1
    code, out, err = cli("test_export_cli:make_model", "--input-shape", "2,4", "--mode", "both", "--format", "html")
    # --mode both as HTML: one page, the two engines side by side (no mismatch warning: the two
    # modes are what it compares; tests/test_cli.py checks the figures)
    assert code == 0 and out.count("<!DOCTYPE html>") == 1 and "eager (module hooks)" in out
    assert "not like for like" not in out


def test_page_of_a_parsed_graph():
    text = ("(OPERATOR: m.fc-matmul-0(_m.x/out:(sbp=(B), size=(2, 4), dtype=(oneflow.float32)), "
            "m.fc.weight/out:(sbp=(B), size=(3, 4), dtype=(oneflow.float32))) -> "
            "(m.fc-matmul-0/out_0:(sbp=(B), size=(2, 3), dtype=(oneflow.float32))), "
            "placement=(oneflow.placement(type=\"cpu\", ranks=[0])))")
    report = flowflops.count_graph_text(text)
    data = page_json(report.to_html())
    paths = data["modules"]["path"]
    assert "fc" in paths
    # matmul (2, 4) x (3, 4)^T: 2*3*4 MACs
    assert data["values"]["all"]["macs"][paths.index("fc")] == 2 * 3 * 4
