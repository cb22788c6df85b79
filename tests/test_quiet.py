"""The command line keeps OneFlow's start-up noise off stderr (unless --debug), and nothing else."""
import os
import subprocess
import sys
from pathlib import Path

from flowflops.runtime.quiet import _filter, is_command_line

ROOT = Path(__file__).resolve().parent.parent

NOISE = [
    b"libibverbs not available, ibv_fork_init skipped",
    b"W20261201 00:18:32.521154 14217 cuda_device_descriptor_class.cpp:48] CUDA driver version is "
    b"insufficient for CUDA runtime version",
    b"E20261201 00:41:25.030222  5587 cuda_device_manager_factory.cpp:65] Failed to get cuda runtime "
    b"version: CUDA driver version is insufficient for CUDA runtime version",
]
REAL = [
    b"Traceback (most recent call last):",
    b"E20261201 00:41:25.030222  5587 op_interpreter.cpp:12] Check failed: shape mismatch",
    b"flowflops: error: unknown model 'x'",
    b"a last line without newline",
]


def _filtered(data: bytes) -> bytes:
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    os.write(w, data)
    os.close(w)
    _filter(r, out_w)
    os.close(r)
    os.close(out_w)
    got = b""
    while True:
        chunk = os.read(out_r, 65536)
        if not chunk:
            break
        got += chunk
    os.close(out_r)
    return got


def test_filter_drops_exactly_the_noise():
    data = b"\n".join([NOISE[0], REAL[0], NOISE[1], REAL[1], NOISE[2], REAL[2], REAL[3]])
    assert _filtered(data) == b"\n".join(REAL)


def test_only_the_command_is_quiet():
    assert is_command_line(["/usr/bin/python", "-m", "flowflops", "resnet50"])
    assert is_command_line(["/venv/bin/flowflops", "zoo"])
    # what an installed console script's sys.orig_argv is: the interpreter, then the script
    assert is_command_line(["/venv/bin/python", "/venv/bin/flowflops", "resnet50"])
    assert not is_command_line(["/venv/bin/python", "/venv/bin/flowflops", "resnet50", "--debug"])
    assert not is_command_line(["/venv/bin/flowflops", "resnet50", "--debug"])
    assert not is_command_line(["/usr/bin/python", "-m", "pytest"])
    assert not is_command_line(["/usr/bin/python", "script.py", "flowflops"])


def test_command_stderr_holds_only_the_error():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "flowflops", "no_such_model"], cwd=ROOT, env=env,
                          capture_output=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.decode() == (
        "flowflops: error: unknown model 'no_such_model': give a flowvision model name (e.g. "
        "resnet50) or package.module:factory for your own code\n"
    )
