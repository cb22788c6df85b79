"""What a pip user meets when oneflow's CUDA wheel cannot load its libraries (the wheel itself
is checked end to end by .ci/pip_check.sh: `make pip-check`)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_missing_cuda_library_names_the_fix(tmp_path):
    # a stand-in oneflow that fails the way PyPI's 0.9.0 wheel does without nvidia-cudnn-cu11
    fake = tmp_path / "oneflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "raise ImportError('libcudnn_cnn_infer.so.8: cannot open shared object file: "
        "No such file or directory')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))
    p = subprocess.run([sys.executable, "-c", "import flowflops"], capture_output=True, text=True,
                       env=env, cwd=str(tmp_path))
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: oneflow cannot load a CUDA library")
    assert "pip install nvidia-cudnn-cu11==8.5.0.96 nvidia-cublas-cu11==11.10.3.66" in last


def test_other_import_errors_are_not_rewritten(tmp_path):
    fake = tmp_path / "oneflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('something else entirely')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))
    p = subprocess.run([sys.executable, "-c", "import flowflops"], capture_output=True, text=True,
                       env=env, cwd=str(tmp_path))
    assert p.stderr.strip().splitlines()[-1] == "ImportError: something else entirely"
