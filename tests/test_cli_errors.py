"""One-line command errors carry no terminal control codes (issue 29: OneFlow's ANSI colour
codes reached them)."""
import json
import sys

import pytest

from flowflops.cli.command import run

FACTORY = '''
import oneflow.nn as nn

class Bad(nn.Module):
    def forward(self, x):
        raise RuntimeError("\\x1b[1m\\x1b[38;2;255;000;000mError\\x1b[0m: coloured\\x07 failure")

def make():
    return Bad()
'''


def test_an_error_with_colour_codes_is_printed_plain(tmp_path, monkeypatch, capsys):
    (tmp_path / "colourful.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = run(["colourful:make", "--input-shape", "1,4"])
    out, err = capsys.readouterr()
    sys.modules.pop("colourful", None)
    assert code in (1, 2), (code, err)
    assert "\x1b" not in err and "\x07" not in err, repr(err)
    assert "Error: coloured failure" in err, err


TINY = '''
import oneflow.nn as nn

def make():
    return nn.Linear(4, 3)
'''


def test_output_dash_is_stdout_and_folders_are_refused_before_any_work(tmp_path, monkeypatch, capsys):
    (tmp_path / "tiny.py").write_text(TINY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        code = run(["tiny:make", "--input-shape", "2,4", "--format", "json", "--output", "-"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert not (tmp_path / "-").exists()  # was a file named "-"
        # Linear(4, 3) on (2, 4): matmul 2*3*4 = 24 MACs + bias 2*3 = 6
        assert json.loads(out)["totals"]["macs"] == 24 + 6
    finally:
        sys.modules.pop("tiny", None)
    (tmp_path / "out").mkdir()
    for option in ("--output", "--plot"):
        code = run(["no.such.module:make", "--input-shape", "2,4", option, str(tmp_path / "out")])
        out, err = capsys.readouterr()
        # refused before the factory is even looked up (it does not exist)
        assert code == 2 and "is a folder" in err, (option, code, err)
    assert not (tmp_path / "out.png").exists() and list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("source, want", [
    ("def make(:\n    pass\n", "SyntaxError"),
    ("UNDEFINED_NAME\n", "NameError"),
    ("def make():\n    return None\n", "returned NoneType, not a model"),
])
def test_a_factory_that_cannot_be_imported_or_returns_no_model_exits_2(tmp_path, monkeypatch, capsys, source, want):
    (tmp_path / "brokenfactory.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        code = run(["brokenfactory:make", "--input-shape", "1,4"])
    finally:
        sys.modules.pop("brokenfactory", None)
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert err.count("\n") == 1 and want in err, err


# -- the command line (issue 14's failure 11) ----------------------------------------
def _cli(capsys, *argv):
    from flowflops.cli.command import run

    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_11_a_bug_inside_a_factory_is_named_as_the_factorys(capsys):
    code, _, err = _cli(capsys, "models:buggy_factory", "--input-shape", "1,4")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "factory 'models:buggy_factory' raised TypeError" in err and "--kwargs" not in err
    code, _, err = _cli(capsys, "models:buggy_factory", "--kwargs", '{"depth": 3}')
    assert code == 2 and "--kwargs" in err  # a keyword it does not take is a --kwargs error


def test_11_missing_output_folder_fails_before_any_work(capsys, tmp_path, monkeypatch):
    import flowflops.cli.command as cli

    monkeypatch.setattr(cli, "load_model", lambda *a, **k: pytest.fail("counted before checking"))
    for option in ("--output", "--plot"):
        code, _, err = _cli(capsys, "resnet18", option, str(tmp_path / "nope" / "out.png"))
        assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, "zoo", "--models", "resnet18", "--output", str(tmp_path / "nope" / "t.txt"))
    assert code == 2 and "does not exist" in err


def test_11_zoo_checks_every_name_first(capsys, monkeypatch):
    import flowflops.cli.command as cli

    monkeypatch.setattr(cli, "zoo_rows", lambda *a, **k: pytest.fail("counted before checking"))
    code, _, err = _cli(capsys, "zoo", "--models", "resnet18,nope")
    assert code == 2 and "unknown model 'nope'" in err


@pytest.mark.parametrize("argv", [["--top", "-1"], ["--depth", "-1"]])
def test_11_negative_top_and_depth_are_refused(capsys, argv):
    with pytest.raises(SystemExit) as info:
        _cli(capsys, "resnet18", *argv)
    assert info.value.code == 2
    assert "negative" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["graph", "train"])
def test_11_count_functional_with_a_compiled_mode_is_refused(capsys, mode):
    code, _, err = _cli(capsys, "models:BasicBlock", "--mode", mode, "--count-functional")
    assert code == 2 and "--count-functional" in err
    code, _, err = _cli(capsys, "zoo", "--models", "resnet18", "--mode", "graph", "--count-functional")
    assert code == 2 and "--count-functional" in err
