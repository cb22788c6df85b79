"""Every file in examples/ runs as a user runs it (a subprocess, this checkout's code), and prints
what its docstring says. A file added to examples/ is picked up here without an edit; the ones whose
docstring says ``oneflow.distributed.launch`` also run under it with two processes."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# Arguments that keep a run short, and lines each run must print. Numbers are derived by hand:
# - basic_block (the article's BasicBlock on (1, 32, 64, 64)): eager 93,847,552 and graph
#   94,109,696 MACs, the article's numbers with the Linear bias once per output element
#   (docs/differences.md); graph = eager + the residual add_n of two
#   (1, 64, 64, 64) tensors, 64*64*64 = 262,144. Params: conv1 32*64*9 + 64 = 18,496, bn1
#   2*64 = 128, fc 64*64 + 64 = 4,160: 22,784.
# - distributed (MLP 512 -> 2048 -> 512 on 64 tokens): fc1 64*512*2048 = 67,108,864 + bias
#   64*2048 = 131,072; GELU 131,072; fc2 67,108,864 + bias 64*512 = 32,768: 134,512,640; split
#   in half between 2 ranks under data parallel: 67,256,320 each.
ARGS = {"train_mfu.py": ["--steps", "12", "--every", "6", "--batch", "8", "--width", "64"]}
EXPECT = {
    "basic_block.py": ["93847552 22784", "94109696 22784"],
    "distributed.py": ["data parallel: logical 134,512,640 MACs (one device: 134,512,640)",
                       "tensor parallel: logical 134,512,640 MACs"],
    "train_mfu.py": ["step 12:"],
}
QUICK = {"basic_block.py", "custom_formula.py"}  # the others take more than a few seconds: slow


def _distributed(path: Path) -> bool:
    return "oneflow.distributed.launch" in path.read_text()


def _run(cmd, timeout=900):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _check(done, name):
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    for line in EXPECT.get(name, []):
        assert line in done.stdout, f"{name} did not print {line!r}:\n{done.stdout[-3000:]}"


def _only_distributed(path: Path) -> bool:
    return _distributed(path) and f"python examples/{path.name}" not in path.read_text()


def _param(path: Path, quick: bool = True):
    marks = [] if quick and path.name in QUICK else [pytest.mark.slow]
    return pytest.param(path, id=path.name, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in EXAMPLES if not _only_distributed(p)])
def test_example_runs(path):
    _check(_run([sys.executable, str(path), *ARGS.get(path.name, [])]), path.name)


@pytest.mark.parametrize("path", [_param(p, quick=False) for p in EXAMPLES if _distributed(p)])
def test_example_runs_distributed(path):  # two processes (about 15 s each): slow
    done = _run([sys.executable, "-m", "oneflow.distributed.launch", "--nproc_per_node", "2",
                 str(path.relative_to(ROOT)), *ARGS.get(path.name, [])])
    _check(done, path.name)
