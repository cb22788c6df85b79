"""What OneFlow 0.9's graph compiler would abort the process on is refused before it is
compiled (issue 29): a '/' in a module name, an empty batch from input_constructor. Each
case runs in a subprocess (a regression aborts the process) that must exit normally."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CODE = """
import sys
import oneflow as flow, oneflow.nn as nn
import flowflops

case, mode = sys.argv[1], sys.argv[2]
if case == "slash":
    model = nn.Sequential()
    model.add_module("encoder/layer_0", nn.Linear(4, 4))
    kwargs = dict(input_res=(2, 4))
else:   # an empty batch made by the user's constructor (input_res with a 0 is refused already)
    model = nn.Linear(4, 4)
    kwargs = dict(input_res=(1, 4), input_constructor=lambda res: flow.ones(0, 4))
try:
    flowflops.profile(model, mode=mode, **kwargs)
    print("counted")
except flowflops.CountError as err:
    print("refused:", err)
"""


def _run(*argv):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", CODE, *argv], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("mode", ["graph", "train"])
def test_a_slash_in_a_module_name_is_refused_with_the_fix(mode):
    p = _run("slash", mode)
    assert p.returncode == 0, (p.returncode, p.stderr[-1500:])
    out = p.stdout.strip()
    assert out.startswith("refused:"), out
    assert "'encoder/layer_0'" in out and "rename it" in out and "mode='eager'" in out


@pytest.mark.parametrize("mode", ["graph", "train"])
def test_an_empty_batch_from_input_constructor_is_refused_with_the_fix(mode):
    p = _run("empty", mode)
    assert p.returncode == 0, (p.returncode, p.stderr[-1500:])
    out = p.stdout.strip()
    assert out.startswith("refused:"), out
    assert "(0, 4)" in out and "at least one row" in out
