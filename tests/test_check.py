"""The cost gate (`flowflops check`, flowflops.result.check) and flowflops.testing.assert_cost.
Numbers derived by hand in the test."""
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.analysis.gate import parse_growth, parse_metrics
from flowflops.result import check
from flowflops.cli.command import run
from flowflops.testing import assert_cost


def small(width: int = 4) -> nn.Module:
    # Conv2d(3, w, 1, bias=False) on (1, 3, 4, 4): 16 outputs per channel x 3 = 48 w MACs
    # ReLU: 16 w elements
    return nn.Sequential(nn.Conv2d(3, width, 1, bias=False), nn.ReLU())


def test_parse_limits():
    assert parse_growth("0.5%") == 0.005 and parse_growth("0.005") == 0.005 and parse_growth("0") == 0
    for bad in ("x", "-1%", "nan"):
        with pytest.raises(ValueError):
            parse_growth(bad)
    assert parse_metrics("macs, bytes") == ("macs", "bytes")
    with pytest.raises(ValueError, match="choose from"):
        parse_metrics("macs,time")


def test_growth_names_modules_and_op_types():
    a = flowflops.profile(small(4), (1, 3, 4, 4))
    b = flowflops.profile(small(5), (1, 3, 4, 4))
    # MACs: 48*4 + 16*4 = 256 -> 48*5 + 16*5 = 320 (+25%); params 12 -> 15 (+25%)
    assert (a.macs, b.macs, a.params, b.params) == (256, 320, 12, 15)
    r = check(a, b, max_growth=0.25)
    assert r.passed  # exactly 25% is not past a 25% limit
    r = check(a, b, max_growth=0.2)
    assert not r.passed
    grown = {(g.kind, g.name, g.metric): (g.before, g.after) for g in r.grown}
    assert grown[("total", "", "macs")] == (256, 320)
    assert grown[("module", "0", "macs")] == (192, 240) and grown[("module", "0", "params")] == (12, 15)
    assert grown[("module", "1", "macs")] == (64, 80)
    assert grown[("op_type", "conv2d", "macs")] == (192, 240)
    assert check(b, a).passed  # shrinking never fails


@pytest.fixture(scope="module")
def resnet18_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("gate") / "resnet18.json"
    assert run(["resnet18", "--format", "json", "--output", str(path)]) == 0
    return path


def test_cli_same_model_passes(resnet18_json, capsys):
    assert run(["check", "resnet18", "--baseline", str(resnet18_json)]) == 0
    assert capsys.readouterr().out.startswith("OK: nothing grew")


@pytest.mark.slow
def test_cli_resnet34_fails_naming_the_grown_modules(resnet18_json, capsys):
    # resnet34 has 3, 4, 6, 3 BasicBlocks where resnet18 has 2, 2, 2, 2: layer1.2, layer2.2-3,
    # layer3.2-5 and layer4.2 are new, and every layer grew.
    status = run(["check", "resnet34", "--baseline", str(resnet18_json), "--max-growth", "0.5%"])
    out = capsys.readouterr().out
    assert status == 1 and out.startswith("FAIL")
    for added in ("layer1.2", "layer2.2", "layer2.3", "layer3.2", "layer3.5", "layer4.2"):
        assert f"    {added} (BasicBlock, added)" in out
    for changed in ("layer1", "layer2", "layer3", "layer4"):
        assert f"    {changed} (Sequential, changed)" in out
    # layer1: 2 -> 3 identical blocks: +50.00%
    assert "layer1 (Sequential, changed): macs" in out and "(+50.00%)" in out
    assert "conv2d: macs" in out


def test_cli_bad_input_exits_2(tmp_path, resnet18_json, capsys):
    bad = tmp_path / "not_a_report.json"
    bad.write_text('{"model": "resnet18"}')
    assert run(["check", "resnet18", "--baseline", str(bad)]) == 2
    assert "is not a flowflops report" in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert run(["check", "resnet18", "--baseline", str(text)]) == 2
    assert run(["check", "resnet18", "--baseline", str(tmp_path / "missing.json")]) == 2
    assert run(["check", "resnet18", "--baseline", str(resnet18_json), "--max-growth", "lots"]) == 2
    assert run(["check", "resnet18", "--baseline", str(resnet18_json), "--metric", "time"]) == 2
    assert run(["check", "no_such_model", "--baseline", str(resnet18_json)]) == 2


def test_cli_check_two_report_files(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(flowflops.profile(small(4), (1, 3, 4, 4)).to_json())
    b.write_text(flowflops.profile(small(5), (1, 3, 4, 4)).to_json())
    assert run(["check", str(a), "--baseline", str(a)]) == 0
    assert run(["check", str(b), "--baseline", str(a), "--metric", "macs"]) == 1
    out = capsys.readouterr().out
    assert "256 (256 Mac) -> 320 (320 Mac) (+25.00%)" in out


def test_cli_explain(capsys):
    assert run(["explain", "resnet18", "layer1.0.conv1"]) == 0
    out = capsys.readouterr().out
    assert f"= {56 * 56 * 64 * 64 * 9:,} MACs" in out
    assert run(["explain", "resnet18", "layer9"]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_assert_cost():
    model = small(4)
    report = assert_cost(model, (1, 3, 4, 4), macs=256, params=12)
    assert report.macs == 256
    assert_cost(model, (1, 3, 4, 4), macs=250, rel=0.03)  # 256 is 2.4% over 250
    with pytest.raises(AssertionError, match=r"macs: counted 256, expected 250 \(\+2\.400%"):
        assert_cost(model, (1, 3, 4, 4), macs=250, rel=0.01)
    with pytest.raises(ValueError, match="at least one"):
        assert_cost(model, (1, 3, 4, 4))
