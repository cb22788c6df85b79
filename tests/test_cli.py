"""The installed ``flowflops`` command as a user runs it: the real console script in a subprocess."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowflops.cli.command import SUBCOMMANDS, run

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "flowflops"  # pip's console script next to this interpreter

needs_script = pytest.mark.skipif(
    not SCRIPT.exists(), reason=f"no installed console script at {SCRIPT} (pip install -e . makes it)")

# A factory in a plain file of the current directory, as a user writes one: two Linear layers.
# MACs by hand for input (2, 8): fc1 2*8*16 = 256 multiply-adds + 2*16 = 32 bias adds;
# fc2 2*16*4 = 128 + 2*4 = 8 bias adds: 256 + 32 + 128 + 8 = 424.
# Params: 8*16 + 16 + 16*4 + 4 = 212.
FACTORY = '''
import oneflow.nn as nn

def build(hidden=16):
    return nn.Sequential(nn.Linear(8, hidden), nn.Linear(hidden, 4))
'''


def _script(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout's code under the installed script
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, timeout=300)


@needs_script
def test_installed_command_is_quiet_and_imports_from_the_current_directory(tmp_path):
    (tmp_path / "mymodels.py").write_text(FACTORY)
    done = _script(["mymodels:build", "--input-shape", "2,8", "--format", "json"], tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""  # no libibverbs / CUDA lines: nothing at all on a successful count
    import json

    data = json.loads(done.stdout)
    assert (data["totals"]["macs"], data["totals"]["params"]) == (424, 212)


@needs_script
def test_installed_command_version():
    import flowflops

    done = _script(["--version"], ROOT)
    assert done.returncode == 0 and done.stderr == b""
    assert done.stdout.decode() == f"flowflops {flowflops.__version__}\n"


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as ex:
        run(["--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    for name in ("zoo", "graph-text", "diff", "compare", "sweep", "explain", "check"):
        assert f"flowflops {name} " in out
    # and each listed name is a command of its own, with its own --help
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as ex:
            run([name, "--help"])
        assert ex.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: flowflops {name}")


class AddRelu(__import__("oneflow").nn.Module):
    """relu(fc(x)) + x: the residual add is a functional call, seen only with count_functional."""

    def __init__(self):
        import oneflow.nn as nn

        super().__init__()
        self.fc, self.relu = nn.Linear(4, 4), nn.ReLU()

    def forward(self, x):
        return self.relu(self.fc(x)) + x


def test_conventions_never_change_the_headline(capsys):
    # input (1, 4), flowflops convention: fc 1*4*4 = 16 multiply-adds + 4 bias adds, ReLU 4:
    # 24 MACs by default; the functional `+ x` adds 4 more (28) only with count_functional
    assert run(["tests.test_cli:AddRelu", "--input-shape", "1,4", "--format", "json"]) == 0
    import json

    plain = json.loads(capsys.readouterr().out)
    assert plain["totals"]["macs"] == 24
    assert run(["tests.test_cli:AddRelu", "--input-shape", "1,4", "--format", "json", "--conventions", "all"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert both["totals"]["macs"] == 24  # the headline as without --conventions
    assert both["by_convention"]["flowflops"]["macs"] == 24  # profile(model)'s own number
    # fvcore (counted with functional calls, its default): the Linear's 16 multiply-adds only
    assert both["by_convention"]["fvcore"]["macs"] == 16
    assert run(["tests.test_cli:AddRelu", "--input-shape", "1,4", "--conventions", "all"]) == 0
    out = capsys.readouterr().out
    assert "MACs:   24 Mac (24)" in out, out
    assert "each convention's own default" in out
    # with --count-functional every figure is from that one count: flowflops 28
    assert run(["tests.test_cli:AddRelu", "--input-shape", "1,4", "--format", "json", "--count-functional",
                "--conventions", "flowflops"]) == 0
    fn = json.loads(capsys.readouterr().out)
    assert fn["totals"]["macs"] == fn["by_convention"]["flowflops"]["macs"] == 28


def test_mode_both_html_shows_the_two_engines_side_by_side(tmp_path, capsys):
    out = tmp_path / "both.html"
    assert run(["tests.test_cli:AddRelu", "--input-shape", "1,4", "--mode", "both", "--format", "html",
                "--output", str(out)]) == 0
    assert capsys.readouterr().err == ""  # no "not like for like" warning: two modes is the point
    page = out.read_text()
    assert "ff-mismatch" not in page and "not like for like" not in page
    assert "eager (module hooks)" in page and "graph (compiled job)" in page
    # totals: eager 24 (above); the graph also sees the residual add_n of 2 tensors, 1 per element: 28
    assert "<td class=\"l\">MACs</td><td class=\"\">24</td><td class=\"\">28</td><td class=\"ff-pos\">+4</td>" in page
    # every module, both engines: fc 16 + 4 bias = 20 in each
    assert ("<td class=\"l\">fc</td><td class=\"l\">Linear</td><td class=\"l\">same</td>"
            "<td class=\"\">20</td><td class=\"\">20</td>") in page
