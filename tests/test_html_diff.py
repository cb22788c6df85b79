"""The HTML page's data, the notebook view, report diffs and the ablation table (issue #19).
The page in a real browser: tests/test_browser.py."""
import json
import re

import oneflow.nn as nn
import pytest

import flowflops
from flowflops.errors import ReportFileError
from test_export_cli import LIN1, LIN2, PARAMS, RELU, Wrapper, cli

# The wider variant: Linear(4 -> 16), ReLU, Linear(16 -> 3) on (2, 4).
# Linear(4 -> 16): 2*16*4 MACs + 2*16 bias = 160; ReLU on (2, 16): 32;
# Linear(16 -> 3): 2*3*16 + 2*3 = 102. Params: 4*16 + 16 + 16*3 + 3 = 131.
W_LIN1, W_RELU, W_LIN2, W_PARAMS = 2 * 16 * 4 + 2 * 16, 2 * 16, 2 * 3 * 16 + 2 * 3, 4 * 16 + 16 + 16 * 3 + 3


class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, x):
        return self.body(x)


class Renamed(nn.Module):
    """Wrapper with ``body`` called ``trunk``: the same modules under another path."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, x):
        return self.trunk(x)


class Shorter(nn.Module):
    """Wrapper without its last Linear, plus a new Linear(8 -> 5) under another name."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        return self.head(self.body(x))


@pytest.fixture(scope="module")
def reports():
    return {name: flowflops.profile(cls(), (2, 4)) for name, cls in
            (("base", Wrapper), ("wide", Wide), ("renamed", Renamed), ("shorter", Shorter))}


# -- the page --------------------------------------------------------------------------------------

def page_json(page):
    """The data block the page draws from."""
    m = re.search(r'<script type="application/json" id="ff-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_page_is_self_contained_and_holds_the_numbers(reports):
    page = reports["base"].to_html()
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
    n = len(reports["base"].entries)
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


def test_notebook_view(reports):
    r = reports["base"]
    view = r._repr_html_()
    assert f"({LIN1 + RELU + LIN2:,} MACs)" in view and "Open full view" in view and "body" in view
    assert "data:text/html;base64," in view


def test_cli_format_html(tmp_path):
    out = tmp_path / "r.html"
    code, _, err = cli("test_export_cli:make_model", "--input-shape", "2,4", "--format", "html", "--output", str(out))
    assert code == 0, err
    assert page_json(out.read_text())["totals"]["macs"] == LIN1 + RELU + LIN2


# -- diff ----------------------------------------------------------------------------------------

def test_diff_wider_layer(reports):
    d = flowflops.diff(reports["base"], reports["wide"], names=["base", "wide"])
    assert d.a.totals.macs == LIN1 + RELU + LIN2 and d.b.totals.macs == W_LIN1 + W_RELU + W_LIN2
    rows = {r.path: r for r in d.modules}
    assert rows["body.0"].status == "changed" and rows["body.0"].d_macs == W_LIN1 - LIN1  # 160 - 80
    assert rows["body.1"].d_macs == W_RELU - RELU and rows[""].d_params == W_PARAMS - PARAMS
    ops = {r.path: r for r in d.operators}
    # matmul: (2*16*4 + 2*3*16) - (2*8*4 + 2*3*8) = 224 - 112
    assert ops["matmul"].d_macs == 224 - 112 and ops["matmul"].status == "changed"
    text = d.to_text()
    assert f"{W_LIN1 + W_RELU + W_LIN2 - (LIN1 + RELU + LIN2):+,}" in text and "body.0" in text
    assert "WARNING" not in text


def test_diff_renamed_added_removed(reports):
    d = flowflops.diff(reports["base"], reports["renamed"])
    top = d.changed_modules()
    assert [(r.path, r.status, r.old_path, r.inside) for r in top] == [("trunk", "renamed", "body", 3)]
    assert d.a.totals.macs == d.b.totals.macs and not [r for r in d.operators if r.status != "same"]
    d = flowflops.diff(reports["base"], reports["shorter"])
    by = {(r.path, r.status): r for r in d.changed_modules()}
    # body.2 (Linear 8 -> 3) gone: 54 MACs, 27 params; head (Linear 8 -> 5) new: 2*5*8 + 2*5 = 90 MACs
    assert by[("body.2", "removed")].d_macs == -LIN2 and by[("body.2", "removed")].d_params == -(8 * 3 + 3)
    assert by[("head", "added")].d_macs == 2 * 5 * 8 + 2 * 5
    md, tex, page = d.to_markdown(), d.to_latex(), d.to_html()
    assert "| body.2 | Linear | removed |" in md and "| head | Linear | added |" in md
    assert "\\begin{tabular}" in tex and "body.2" in tex and "removed" in tex
    assert 'class="ff-removed"' in page and "<script" not in page


def test_diff_of_different_modes_warns_and_says_so(reports):
    graph = flowflops.profile(Wrapper(), (2, 4), mode="graph")
    with pytest.warns(UserWarning, match="mode eager .* vs graph"):
        d = flowflops.diff(reports["base"], graph)
    for out in (d.to_text(), d.to_markdown(), d.to_latex(), d.to_html()):
        assert "not like for like" in out
    other = reports["base"].with_convention("fvcore")
    with pytest.warns(UserWarning, match="convention"):
        d = flowflops.diff(reports["base"], other)
    assert d.mismatches == [("convention", reports["base"].convention, "fvcore")]
    with pytest.warns(UserWarning, match="convention"):
        table = flowflops.compare([reports["base"], other]).render("markdown")
    assert "not like for like" in table


def test_cli_diff_and_compare(tmp_path, reports):
    files = {}
    for name, r in reports.items():
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(r.to_json())
    code, out, err = cli("diff", str(files["base"]), str(files["wide"]), "--format", "markdown")
    assert code == 0, err
    assert f"| MACs | {LIN1 + RELU + LIN2:,} | {W_LIN1 + W_RELU + W_LIN2:,} |" in out
    code, out, err = cli("compare", str(files["base"]), str(files["wide"]), str(files["shorter"]), "--format", "latex")
    assert code == 0, err
    # Shorter: Linear(4->8) 80 + ReLU 16 + Linear(8->5) 90 = 186 MACs
    assert out.startswith("\\begin{tabular}")
    assert f"{W_LIN1 + W_RELU + W_LIN2:,}" in out and f"{LIN1 + RELU + 90:,}" in out
    assert "wide" in out and "shorter" in out
    code, out, _ = cli("compare", str(files["base"]), str(files["wide"]), "--depth", "2", "--format", "csv")
    assert code == 0 and f"body.0,{LIN1},{W_LIN1}" in out
    code, out, _ = cli("compare", str(files["base"]), str(files["wide"]), "--format", "html")
    # the wide model: 160 + 32 + 102 = 294 MACs, 96 % more than the base's 150
    assert code == 0 and 'id="ff-compare"' in out and f">{W_LIN1 + W_RELU + W_LIN2}<" in out and "+96.00%" in out
    assert "<script" not in out


def test_cli_diff_bad_files_are_one_line_errors(tmp_path, reports):
    bad = tmp_path / "bad.json"
    bad.write_text('{"mode": "eager", "modules": [')
    good = tmp_path / "good.json"
    good.write_text(reports["base"].to_json())
    for args, msg in (((str(bad), str(good)), "not JSON"),
                      ((str(tmp_path / "none.json"), str(good)), "cannot read report"),
                      ((str(good), str(tmp_path)), "cannot read report")):
        code, out, err = cli("diff", *args)
        assert code == 2 and msg in err and len(err.strip().splitlines()) == 1 and not out
    notreport = tmp_path / "list.json"
    notreport.write_text("[1, 2]")
    code, _, err = cli("compare", str(good), str(notreport))
    assert code == 2 and "is not a flowflops report" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ReportFileError):
        flowflops.diff(str(bad), str(good))


def test_cli_diff_of_a_both_file(tmp_path):
    both = tmp_path / "both.json"
    assert cli("test_export_cli:make_model", "--input-shape", "2,4", "--mode", "both", "--format", "json",
               "--output", str(both))[0] == 0
    code, _, err = cli("diff", str(both), str(both))
    assert code == 2 and "both.json:eager" in err
    code, out, err = cli("diff", f"{both}:eager", f"{both}:graph")
    # graph and eager see the same ops in this MLP, but their modes differ: warned on stderr and in the output
    assert code == 0 and "WARNING" in out and "flowflops: warning:" in err


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


# -- the two ablations, by hand ------------------------------------------------------------

@pytest.mark.slow
def test_diff_resnet50_without_one_block():
    import flowvision.models as zoo

    full, cut = zoo.resnet50(), zoo.resnet50()
    cut.layer3 = nn.Sequential(*list(cut.layer3.children())[:5])  # drop layer3.5
    d = flowflops.diff(flowflops.profile(full, (1, 3, 224, 224)), flowflops.profile(cut, (1, 3, 224, 224)),
                       names=["resnet50", "without layer3.5"])
    # layer3.5 is Bottleneck(1024 -> 256 -> 1024) on 14x14 (196 positions), seed convention:
    # conv1 1x1 1024->256: 196*1024*256 = 51,380,224; conv2 3x3 256->256: 196*256*256*9 = 115,605,504;
    # conv3 1x1 256->1024: 51,380,224; bn1, bn2: 2*256*196 = 100,352 each; bn3: 2*1024*196 = 401,408;
    # relu (one module called 3 times): 256*196 + 256*196 + 1024*196 = 301,056
    conv = 2 * 196 * 1024 * 256 + 196 * 256 * 256 * 9
    bn = 2 * (2 * 256 * 196) + 2 * 1024 * 196
    relu = 196 * (256 + 256 + 1024)
    block = conv + bn + relu
    assert block == 219_269_120
    # params: convs 1024*256 + 256*256*9 + 256*1024, BatchNorms 2*256 + 2*256 + 2*1024
    block_params = 1024 * 256 + 256 * 256 * 9 + 256 * 1024 + 2 * 256 + 2 * 256 + 2 * 1024
    assert d.a.totals.macs == 4_121_925_096  # the article's ResNet-50
    assert d.b.totals.macs == 4_121_925_096 - block and d.b.totals.params == 25_557_032 - block_params
    top = d.changed_modules()
    assert [(r.path, r.status) for r in top] == [("", "changed"), ("layer3", "changed"), ("layer3.5", "removed")]
    assert top[2].d_macs == -block and top[2].d_params == -block_params and top[2].inside == 7
    assert top[1].d_macs == -block
    ops = {r.path: r for r in d.operators if r.status != "same"}
    assert set(ops) == {"conv2d", "normalization", "relu"}
    assert ops["conv2d"].d_macs == -conv and (ops["conv2d"].a.calls, ops["conv2d"].b.calls) == (53, 50)
    assert ops["normalization"].d_macs == -bn and ops["relu"].d_macs == -relu
    assert (ops["relu"].a.calls - ops["relu"].b.calls) == 3
    assert f"{-block:+,}" in d.to_text() and "removed (+7 inside)" in d.to_markdown()


@pytest.mark.slow
def test_diff_resnet18_at_224_and_448():
    import flowvision.models as zoo

    model = zoo.resnet18()
    small, large = flowflops.profile(model, (1, 3, 224, 224)), flowflops.profile(model, (1, 3, 448, 448))
    d = flowflops.diff(small, large, names=["224", "448"])
    # Twice the side: every layer before the global pool works on 4x the positions, so costs 4x;
    # fc sees the same (1, 512) after the adaptive pool: 512*1000 + 1000 bias, unchanged.
    fc = 512 * 1000 + 1000
    a = 1_822_177_768  # the article's ResNet-18 at 224
    assert d.a.totals.macs == a and d.b.totals.macs == 4 * (a - fc) + fc == 7_287_172_072
    rows = {r.path: r for r in d.modules}
    assert rows["fc"].status == "same" and rows["fc"].a.macs == fc
    # conv1: 7x7x3 -> 64, stride 2: 112*112 outputs at 224, 224*224 at 448: 112*112*64*147 = 118,013,952
    assert rows["conv1"].a.macs == 118_013_952 and rows["conv1"].d_macs == 3 * 118_013_952
    # layer1.0.conv1: 3x3x64 -> 64 on 56x56: 3136*64*576 = 115,605,504, then 4x
    assert rows["layer1.0.conv1"].b.macs == 4 * 115_605_504
    assert d.a.totals.params == d.b.totals.params and not d.mismatches
    assert all(r.status == "changed" for r in d.changed_modules()) and "fc" not in [r.path for r in d.changed_modules()]


@pytest.mark.slow  # two graph compilations (about 20 s on a loaded 2-core machine)
def test_graph_page_and_both_modes_page(reports):
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
