"""Free eager tensors (neither parameters nor buffers) and repeated graph-mode counts.

OneFlow 0.9 aborts the process (SIGABRT, `Check failed: 'blob_desc' Must be non NULL`) when a
second nn.Graph captures a tensor object an earlier graph captured. Each case runs in its own
process, since a regression would kill pytest itself: three graph-mode counts, then the user's
own nn.Graph compiled and run, must all succeed and leave the user's tensor objects in place.
"""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PRELUDE = """
import oneflow as flow, oneflow.nn as nn
import flowflops

class UserGraph(flow.nn.Graph):
    def __init__(self, m):
        super().__init__()
        self.m = m
    def build(self, x):
        return self.m(x)

def check(model, where, name):
    before = id(where[name]) if isinstance(where, dict) else None
    for _ in range(3):
        r = flowflops.profile(model, (2, 4), mode="graph")
        # x (2, 4) * t (4,): one broadcast_mul, 2*4 = 8 elementwise MACs
        assert r.macs == 8, r.macs
    if before is not None:
        assert id(where[name]) == before  # the user's own tensor object is back
    out = UserGraph(model)(flow.ones(2, 4))  # the user's graph compiles and runs afterwards
    assert out.shape == (2, 4)
    print("ok")
"""

CASES = {
    "module global": """
        SCALE = flow.ones(4)
        class M(nn.Module):
            def forward(self, x):
                return x * SCALE
        check(M(), globals(), "SCALE")
    """,
    "tensor attribute": """
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.scale = flow.ones(4)   # a plain attribute: not a parameter, not a buffer
            def forward(self, x):
                return x * self.scale
        m = M()
        check(m, m.__dict__, "scale")
    """,
    "helper function's global": """
        TABLE = flow.ones(4)
        def helper(x):
            return x * TABLE
        class M(nn.Module):
            def forward(self, x):
                return helper(x)
        check(M(), globals(), "TABLE")
    """,
    "closure": """
        def make():
            t = flow.ones(4)
            class M(nn.Module):
                def forward(self, x):
                    return x * t
            return M()
        check(make(), None, None)
    """,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_repeated_graph_counts_do_not_kill_the_process(case):
    code = PRELUDE + textwrap.dedent(CASES[case])
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert p.returncode == 0, (p.returncode, p.stderr[-1500:])
    assert p.stdout.strip().endswith("ok")
