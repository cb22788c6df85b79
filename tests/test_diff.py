"""Report diffs (flowflops.diff / compare, analysis/diff.py and render/diff.py): a wider layer,
renamed/added/removed modules, mismatched modes, the command line, and the issue's two ablations
derived by hand. The models and the ``reports`` fixture are shared with tests/test_html.py."""

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
