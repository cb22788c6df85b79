"""Bytes read and written per record, derived by hand, in both engines.

Each tensor is read (or written) once per op at its dtype's size: float32 4 bytes, int64 8,
float16 2. Parameters (weights, biases, BN statistics) are told apart from activations."""
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops

ENGINES = ["eager", "graph"]


class Softmax(nn.Module):
    def forward(self, x):
        return flow.softmax(x, dim=-1)


def _record(model, shape, mode, op_type, **kw):
    cfg = {"count_functional": True} if mode == "eager" else {}
    report = flowflops.profile(model, shape, mode=mode, backend_specific_config=cfg, **kw)
    found = [(rec, t) for (rec, _), t in zip(report.entries, report.record_traffic()) if rec.op_type == op_type]
    assert len(found) == 1, [r.op_type for r, _ in report.entries]
    return report, found[0][1]


@pytest.mark.parametrize("mode", ENGINES)
def test_conv2d(mode):
    # x (1,3,8,8) float32: 192 elements = 768 B read; weight (8,3,3,3) = 216 elements = 864 B;
    # output (1,8,8,8) = 512 elements = 2048 B written
    _, t = _record(nn.Conv2d(3, 8, 3, padding=1, bias=False), (1, 3, 8, 8), mode, "conv2d")
    assert (t.act_read, t.param_read, t.bytes_written) == (768, 864, 2048)


@pytest.mark.parametrize("mode", ENGINES)
def test_matmul_and_intensity(mode):
    # x (4,16) = 64 el = 256 B; weight (8,16) = 128 el = 512 B; y (4,8) = 32 el = 128 B
    report, t = _record(nn.Linear(16, 8, bias=False), (4, 16), mode, "matmul")
    assert (t.act_read, t.param_read, t.bytes_written) == (256, 512, 128)
    # FLOPs 2*4*16*8 = 1024 over 896 bytes
    assert report.bytes == 896 and report.intensity == pytest.approx(1024 / 896)


@pytest.mark.parametrize("mode", ENGINES)
def test_batch_norm(mode):
    # eval-mode BN on (2,8,4,4): x 256 el = 1024 B read and 1024 B written; gamma, beta,
    # running mean and var: 4 * 8 el = 128 B of parameters
    _, t = _record(nn.BatchNorm2d(8), (2, 8, 4, 4), mode, "normalization")
    assert (t.act_read, t.param_read, t.bytes_written) == (1024, 128, 1024)


@pytest.mark.parametrize("mode", ENGINES)
def test_softmax(mode):
    # (2,5,10) = 100 el: 400 B in, 400 B out
    _, t = _record(Softmax(), (2, 5, 10), mode, "softmax")
    assert (t.act_read, t.param_read, t.bytes_written) == (400, 0, 400)


@pytest.mark.parametrize("mode", ENGINES)
def test_relu(mode):
    # (2,3,4,4) = 96 el: 384 B in, 384 B out
    _, t = _record(nn.ReLU(), (2, 3, 4, 4), mode, "relu")
    assert (t.act_read, t.param_read, t.bytes_written) == (384, 0, 384)


@pytest.mark.parametrize("mode", ENGINES)
def test_embedding(mode):
    # indices (2,7) int64 = 14 * 8 = 112 B read; only the 14 rows of 6 float32 picked are read:
    # 14 * 6 * 4 = 336 B of parameters (not the 50*6*4 = 1200 B table); output 336 B written
    idx = lambda _: flow.ones(2, 7, dtype=flow.int64)  # noqa: E731
    report, t = _record(nn.Embedding(50, 6), None, mode, "gather", input_constructor=idx)
    assert (t.act_read, t.param_read, t.bytes_written) == (112, 336, 336)
    assert report.macs == 0


def test_half_precision_graph():
    # float16 Linear(16, 8) with bias on (4,16): matmul 64*2 + 128*2 read, 32*2 written;
    # bias add: y 32*2 + bias 8*2 read, 32*2 written
    report = flowflops.profile(nn.Linear(16, 8).half(),
                               input_constructor=lambda _: flow.ones(4, 16, dtype=flow.float16), mode="graph")
    assert report.traffic.param_read == 128 * 2 + 8 * 2
    assert report.traffic.act_read == 64 * 2 + 32 * 2
    assert report.traffic.bytes_written == 32 * 2 * 2


def test_module_and_operator_bytes_add_up():
    model = nn.Sequential(nn.Linear(16, 8, bias=False), nn.ReLU())
    report = flowflops.profile(model, (4, 16))
    mods, ops = report.by_module_bytes(), report.by_operator_bytes()
    # matmul 896 B (see above); relu on (4,8): 128 B in, 128 B out
    assert mods["0"].total == 896 and mods["1"].total == 256 and mods[""].total == report.bytes == 1152
    assert ops["matmul"].total == 896 and ops["relu"].total == 256
    data = report.to_dict()
    assert data["bytes"] == {"read": 896 - 128 + 128, "param_read": 512, "written": 128 + 128}
    assert "bytes" in report.table() and "FLOP/B" in report.operator_table()
    assert flowflops.Report.from_json(report.to_json()).bytes == 1152
