"""The memory an eager input may take: free memory, RLIMIT_AS and the cgroup limit
(issue 29: an input larger than the process's address-space limit aborted the process,
because only MemAvailable was read)."""
import os
import subprocess
import sys

import oneflow.nn as nn
import pytest

import flowflops
from flowflops.runtime import limits
from process_state import assert_process_clean, default_sigint  # noqa: F401 (a fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_cgroup_v2_limit_minus_usage(tmp_path):
    proc, root = str(tmp_path / "proc"), str(tmp_path / "cg")
    _write(f"{proc}/self/cgroup", "0::/user.slice/job\n")
    _write(f"{root}/user.slice/job/memory.max", "5368709120\n")      # 5 GiB
    _write(f"{root}/user.slice/job/memory.current", "1073741824\n")  # 1 GiB used
    assert limits.cgroup_left(proc, root) == 4 * 2 ** 30             # 5 - 1 = 4 GiB


def test_cgroup_v2_without_a_limit(tmp_path):
    proc, root = str(tmp_path / "proc"), str(tmp_path / "cg")
    _write(f"{proc}/self/cgroup", "0::/\n")
    _write(f"{root}/memory.max", "max\n")
    _write(f"{root}/memory.current", "123\n")
    assert limits.cgroup_left(proc, root) is None


def test_cgroup_v1_limit_at_the_mount_root(tmp_path):
    """A container sees its own group at the root of the mount, not under the host's path."""
    proc, root = str(tmp_path / "proc"), str(tmp_path / "cg")
    _write(f"{proc}/self/cgroup", "4:memory:/docker/abc\n3:cpuset:/\n")
    _write(f"{root}/memory/memory.limit_in_bytes", str(3 * 2 ** 30))
    _write(f"{root}/memory/memory.usage_in_bytes", str(2 ** 30))
    assert limits.cgroup_left(proc, root) == 2 * 2 ** 30              # 3 - 1 = 2 GiB


def test_cgroup_v1_unlimited_is_no_limit(tmp_path):
    proc, root = str(tmp_path / "proc"), str(tmp_path / "cg")
    _write(f"{proc}/self/cgroup", "4:memory:/\n")
    _write(f"{root}/memory/memory.limit_in_bytes", "9223372036854771712")  # 2**63 in pages
    _write(f"{root}/memory/memory.usage_in_bytes", "10")
    assert limits.cgroup_left(proc, root) is None


RLIMIT = """
import resource
import oneflow.nn as nn
import flowflops

mapped = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
# 1 GiB of address space left to this process
resource.setrlimit(resource.RLIMIT_AS, (mapped + 2 ** 30, resource.getrlimit(resource.RLIMIT_AS)[1]))
try:
    # 2 GiB of float32: 2 * 2**30 / (256 * 4) = 2097152 rows of 256
    flowflops.profile(nn.Linear(256, 4), (2097152, 256))
    print("counted")
except flowflops.InputError as err:
    print("refused:", err)
"""


def test_an_input_past_the_address_space_limit_is_refused_not_aborted():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", RLIMIT], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, (p.returncode, p.stderr[-1500:])
    out = p.stdout.strip()
    # 2 GiB = 2 * 2**30 = 2.147e9 bytes: "2.1 GB"
    assert out.startswith("refused:") and "needs 2.1 GB" in out, out


# -- huge shapes (issue 14's failure 7) --------------------------------------------------
@pytest.mark.usefixtures("default_sigint")
@pytest.mark.parametrize("shape", [(2 ** 64, 4), (2 ** 40, 2 ** 40)])
@pytest.mark.parametrize("mode", ["eager", "graph", "train"])
def test_7_shapes_past_int64_are_a_clear_error(shape, mode):
    with pytest.raises(flowflops.InputError, match="int64"):
        flowflops.profile(nn.Linear(4, 3), shape, mode=mode)
    assert_process_clean()


@pytest.mark.usefixtures("default_sigint")
def test_7_eager_input_larger_than_memory_is_a_clear_error():
    with pytest.raises(flowflops.InputError, match=" GB "):
        flowflops.profile(nn.Conv2d(3, 4, 3), (1, 3, 100000, 100000))
    with pytest.raises(flowflops.InputError, match="mode='graph'"):
        flowflops.profile(nn.Linear(4, 3), (2 ** 40, 4))
    assert_process_clean()


@pytest.mark.usefixtures("default_sigint")
def test_7_graph_mode_counts_huge_inputs_without_allocating_them():
    # (2**40, 4) float32 is 16 TiB; graph mode reads only the shape.
    # Linear 4 -> 3 without bias: 2**40 * 3 outputs x 4
    assert flowflops.profile(nn.Linear(4, 3, bias=False), (2 ** 40, 4), mode="graph").macs == 2 ** 40 * 12
    # conv 3 -> 4, 3x3, no bias, on 100000 x 100000: 4 * 99998**2 outputs x 27; its output
    # (160 GB) is never allocated either
    conv = nn.Conv2d(3, 4, 3, bias=False)
    assert flowflops.profile(conv, (1, 3, 100000, 100000), mode="graph").macs == 4 * 99998 ** 2 * 27
    assert_process_clean()


@pytest.mark.usefixtures("default_sigint")
def test_7_cli_huge_shape_is_one_line_and_exit_2():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "flowflops", "tests.models:BasicBlock", "--input-shape", "1,32,100000,100000"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("flowflops")]
    assert len(lines) == 1 and " GB " in lines[0]
