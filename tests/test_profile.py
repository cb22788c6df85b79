"""profile() on odd models and bad input: any output structure, an empty model, half precision,
a CUDA model without CUDA, wrong ranks, rejected inputs, a shared module."""

import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops

LIN = 2 * 4 * 4 + 2 * 4  # Linear(4, 4) on (2, 4): MACs + bias adds


class ReturnsDict(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(4, 4)

    def forward(self, x):
        return {"a": self.l(x), "b": x}


class ReturnsTuple(ReturnsDict):
    def forward(self, x):
        return self.l(x), [x, x]


class ReturnsNone(ReturnsDict):
    def forward(self, x):
        self.l(x)
        return None


@pytest.mark.parametrize("cls", [ReturnsDict, ReturnsTuple, ReturnsNone])
@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_any_output_structure(cls, mode):
    assert flowflops.profile(cls(), (2, 4), mode=mode).macs == LIN


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_empty_sequential(mode):
    r = flowflops.profile(nn.Sequential(), (2, 4), mode=mode)
    assert (r.macs, r.params, r.unsupported) == (0, 0, {})


def test_half_model_eager_explains_and_graph_counts():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU()).half()
    with pytest.raises(flowflops.CountError, match="mode='graph'"):
        flowflops.profile(model, (2, 4))
    # Linear 2*4*4 + bias 2*4, ReLU 2*4
    assert flowflops.profile(model, (2, 4), mode="graph").macs == LIN + 2 * 4


def test_cuda_model_without_cuda_is_refused_clearly(monkeypatch):
    import flowflops.runtime.inputs as inputs

    class FakeCuda:
        device = flow.device("cpu")
        dtype = flow.float32

    fake = FakeCuda()
    fake.device = type("D", (), {"type": "cuda", "__str__": lambda self: "cuda:0"})()
    monkeypatch.setattr(inputs, "first_parameter", lambda model: fake)
    monkeypatch.setattr(flow.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no usable CUDA.*model.to\\('cpu'\\)"):
        flowflops.profile(nn.Linear(4, 4), (2, 4))


def test_ignore_modules_naming_an_absent_type_changes_nothing():
    model = nn.Sequential(nn.Linear(4, 4))
    assert flowflops.profile(model, (2, 4), ignore_modules=[nn.Conv2d]).macs == LIN


def test_wrong_rank_for_the_model():
    with pytest.raises(flowflops.CountError, match=r"Conv2d.*\(3, 8, 8\)"):
        flowflops.profile(nn.Conv2d(3, 4, 3), (3, 8, 8))


def test_input_constructor_returning_what_the_model_rejects():
    with pytest.raises(flowflops.CountError, match="Linear"):
        flowflops.profile(nn.Linear(4, 4), None, input_constructor=lambda r: flow.ones(2, 5))


def test_shared_module_counted_per_call_params_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(4, 4)

        def forward(self, x):
            return self.l(self.l(x))

    for mode in ("eager", "graph"):
        r = flowflops.profile(Twice(), (2, 4), mode=mode)
        assert (r.macs, r.params) == (2 * LIN, 4 * 4 + 4), mode
        assert r.by_module()["l"].macs == 2 * LIN, mode  # both calls charged to the one module
