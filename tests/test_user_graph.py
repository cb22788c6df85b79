"""Counting a user's own nn.Graph instance, compiled or not."""
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops

# Linear(4 -> 8) on (3, 4): 3*8*4 + 3*8; ReLU 3*8; Linear(8 -> 2): 3*2*8 + 3*2
L1, RELU, L2 = 3 * 8 * 4 + 3 * 8, 3 * 8, 3 * 2 * 8 + 3 * 2


class MyGraph(nn.Graph):
    def __init__(self, net, amp=False):
        super().__init__()
        self.net = net
        if amp:
            self.config.enable_amp(True)

    def build(self, x):
        return self.net(x)


def mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def test_uncompiled_user_graph_is_compiled_with_the_inputs():
    r = flowflops.profile(MyGraph(mlp()), (3, 4))
    assert r.macs == L1 + RELU + L2
    assert r.params == 4 * 8 + 8 + 8 * 2 + 2
    # the graph's single model is the root: paths as in its named_modules()
    assert r.by_module()["0"].macs == L1 and r.by_module()["2"].macs == L2


def test_compiled_and_run_user_graph_is_read_as_is():
    g = MyGraph(mlp())
    g(flow.ones(3, 4))
    assert flowflops.profile(g).macs == L1 + RELU + L2  # no inputs needed: it is compiled


def test_user_graph_config_is_what_gets_counted():
    r = flowflops.profile(MyGraph(mlp(), amp=True), (3, 4))
    assert r.macs == L1 + RELU + L2 and r.unsupported == {}


def test_graph_with_two_models():
    class Two(nn.Graph):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 8), nn.Linear(8, 2)

        def build(self, x):
            return self.b(self.a(x))

    r = flowflops.profile(Two(), (3, 4))
    assert r.by_module()["a"].macs == L1 and r.by_module()["b"].macs == L2
    assert r.macs == L1 + L2


@pytest.mark.parametrize("dtype", [flow.float64, flow.float16])
def test_user_graph_of_a_float64_or_float16_model_gets_an_input_of_its_dtype(dtype):
    """Issue 29: input_res made a float32 input, and the compile failed ("Expected kFloat")."""
    graph = MyGraph(nn.Linear(4, 3).to(dtype))
    # Linear(4, 3) on (2, 4): matmul 2*3*4 = 24 MACs + bias 2*3 = 6
    assert flowflops.profile(graph, (2, 4)).macs == 24 + 6
