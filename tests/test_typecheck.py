"""The type check CI runs (`make typecheck`, in .ci/run), also in the test suite, so that a change
that breaks it is seen before it lands."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_passes_on_flowflops():
    # configuration ([tool.mypy]: files = flowflops) in pyproject.toml
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
