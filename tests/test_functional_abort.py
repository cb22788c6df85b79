"""A model that calls a OneFlow 0.9 function whose CPU kernel aborts the process
(flow._C.layer_norm[_affine]: SIGABRT from layer_norm_cpu_kernel.cpp) is refused by an eager
count with a CountError naming the way out, instead of killing the process; graph mode, which
does not run it, counts it. Run in a subprocess: a regression would abort pytest itself."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CODE = """
import oneflow as flow, oneflow.nn as nn
import flowflops

class LN(nn.Module):  # written the way LiBai calls OneFlow's fused kernel
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(flow.ones(8))
        self.bias = nn.Parameter(flow.zeros(8))
    def forward(self, x):
        return flow._C.layer_norm_affine(x, self.weight, self.bias, begin_norm_axis=1,
                                         begin_params_axis=1, epsilon=1e-5)[0]

m = LN()
for cfg in ({}, {"count_functional": True}):
    try:
        flowflops.profile(m, (2, 8), backend_specific_config=cfg)
        print("counted?!")
    except flowflops.CountError as err:
        assert "no CPU kernel" in str(err) and "mode='graph'" in str(err), str(err)
        print("refused")
r = flowflops.profile(m, (2, 8), mode="graph")
print("graph", r.unsupported == {}, r.macs > 0)
"""


def test_eager_count_refuses_a_cpu_kernel_that_aborts():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env)
    assert p.returncode == 0, (p.returncode, p.stderr[-1500:])
    assert p.stdout.split() == ["refused", "refused", "graph", "True", "True"]
