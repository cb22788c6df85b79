"""One-line command errors carry no terminal control codes (issue 29: OneFlow's ANSI colour
codes reached them)."""
import sys

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
