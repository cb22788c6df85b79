"""Roofline predictions and memory from the compiled job, derived by hand."""
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.analysis.hardware import DEVICES, Device, get_device


def _toy_device(peak, bw, memory=1000):
    return Device("toy", {"fp32": peak, "fp16": 2 * peak}, bw, memory, "test")


def test_roofline_bound_and_time():
    # Linear(16, 8, no bias) on (4, 16): 2*4*16*8 = 1024 FLOPs; bytes 256 + 512 + 128 = 896
    report = flowflops.profile(nn.Linear(16, 8, bias=False), (4, 16), mode="graph")
    pred = report.roofline(_toy_device(1024.0, 1792.0))
    (op,) = [o for o in pred.ops if o.flops]
    # compute 1024/1024 = 1 s against memory 896/1792 = 0.5 s: compute-bound, 1 s
    assert (op.bound, op.time) == ("compute", pytest.approx(1.0))
    assert pred.total == pytest.approx(1.0) and report.prediction is pred
    # at fp16 the peak doubles (1024/2048 = 0.5 s) and the bytes halve (448/1792 = 0.25 s)
    half = report.roofline(_toy_device(1024.0, 1792.0), dtype="fp16")
    assert [(o.bytes, o.bound, o.time) for o in half.ops if o.flops] == [(448, "compute", pytest.approx(0.5))]
    # a slow memory: 896 / 448 = 2 s, memory-bound
    slow = report.roofline(_toy_device(1024.0, 448.0))
    assert [(o.bound, o.time) for o in slow.ops if o.flops] == [("memory", pytest.approx(2.0))]
    assert "predicted" in slow.table()


def test_calibrated_efficiency_and_overhead():
    report = flowflops.profile(nn.Linear(16, 8, bias=False), (4, 16), mode="graph")
    dev = _toy_device(1024.0, 1792.0).calibrated({"matmul": 0.5}, overhead=0.25)
    # 1 s at half the rate is 2 s, plus 0.25 s per op
    assert [o.time for o in report.roofline(dev).ops if o.flops] == [pytest.approx(2.25)]


def test_datasheet_figures():
    # A100 datasheet: 312 TFLOPS dense fp16, 2,039 GB/s (80GB); H100 SXM: 989.5 dense fp16, 3.35 TB/s
    assert get_device("A100-80GB").peak("fp16") == 312e12 and get_device("a100-80gb").bandwidth == 2039e9
    assert get_device("H100").peak("bf16") == 989.5e12 and get_device("H100").bandwidth == 3350e9
    assert all(d.source for d in DEVICES.values())


def test_unknown_device_and_dtype():
    with pytest.raises(ValueError, match="unknown device 'B200'.*A100-80GB.*H100.*cpu"):
        get_device("B200")
    with pytest.raises(ValueError, match="V100 has no 'bf16' rate"):
        get_device("V100").peak("bf16")


def test_training_memory_by_hand():
    # Linear(8,4) -> ReLU -> Linear(4,2), batch 3, loss = out.sum(), SGD with momentum, float32.
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = flow.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    report = flowflops.profile(model, (3, 8), mode="train", optimizer=opt, loss_fn=lambda o, t: o.sum())
    m = report.memory()
    # parameters 8*4 + 4 + 4*2 + 2 = 46 floats = 184 B; one gradient and one momentum buffer each
    assert (m.params, m.gradients, m.optimizer_state["momentum"]) == (184, 184, 184)
    # kept for backward: the input x (3*8*4 = 96 B, for fc1's weight gradient) and the ReLU
    # output (3*4*4 = 48 B, for relu_grad and fc2's weight gradient); the loss and fc2's output
    # are read by backward ops for their shape only
    assert m.saved_activations == 144
    # peak at the last op of the backward pass (fc1's weight gradient, 4*8*4 = 128 B, written
    # while its inputs are alive): x 96, ReLU grad 48, gradients of fc2.bias 8, fc2.weight 32,
    # fc1.bias 16, fc1.weight 128, the loss 4, the default labels 3 int64 = 24, the train-step
    # counter 8 (int64), the learning rate 4: 368 B
    assert m.activation_peak == 96 + 48 + 8 + 32 + 16 + 128 + 4 + 24 + 8 + 4
    assert m.total == 184 + 184 + 8 + 368  # parameters + momentum + step counter + peak
    fit = report.fits(_toy_device(1.0, 1.0, memory=700))
    assert (fit.weights, fit.training_state, bool(fit)) == (True, True, False)
    assert "does not fit" in str(fit)


def test_forward_memory_by_hand():
    # inference graph of Linear(16, 8) -> ReLU on (4, 16): parameters (128 + 8) * 4 = 544 B;
    # peak while the matmul runs: input 4*16*4 = 256 B and its output 4*8*4 = 128 B (the input
    # is not read again; later, the bias add and the ReLU each hold two 128 B tensors)
    report = flowflops.profile(nn.Sequential(nn.Linear(16, 8), nn.ReLU()), (4, 16), mode="graph")
    m = report.memory()
    assert (m.params, m.gradients, m.optimizer_state, m.activation_peak) == (544, 0, {}, 384)


def test_eager_memory_is_refused():
    with pytest.raises(ValueError, match="mode='graph'"):
        flowflops.profile(nn.Linear(2, 2), (1, 2)).memory()


def test_cli_device(capsys):
    from flowflops.cli.command import run

    assert run(["tests.models:BasicBlock", "--input-shape", "1,32,2,64", "--mode", "graph",
                "--device", "H100", "--dtype", "fp16"]) == 0
    out = capsys.readouterr().out
    assert "Roofline on H100 at fp16" in out and "activation peak" in out and "Fits on H100" in out
    assert run(["tests.models:BasicBlock", "--input-shape", "1,32,8,8", "--device", "B200"]) == 2
    assert "unknown device 'B200'" in capsys.readouterr().err


def test_calibrate_recovers_known_efficiencies():
    from flowflops.tools.measure import Measurement

    # on a toy device (1024 FLOP/s, bandwidth so high that bytes never bound), Linear(16, 8)
    # without bias at batch B costs 2*B*16*8 FLOPs = B/4 s at peak, ReLU on (B, 8) 8B FLOPs =
    # B/128 s. Measured times made with matmul efficiency 0.5, ReLU ("other") 0.25, no overhead:
    dev = Device("toy", {"fp32": 1024.0}, 1e15, 1e9, "test")
    runs = []
    for b in (4, 8):
        model = nn.Sequential(nn.Linear(16, 8, bias=False), nn.ReLU())
        report = flowflops.profile(model, (b, 16))
        mm, relu = (b / 4) / 0.5, (b / 128) / 0.25
        times = {"": mm + relu, "0": mm, "1": relu}
        runs.append((report, Measurement(dev, "fp32", "eager", report.flops, mm + relu, [mm + relu], times, {}, 1024.0)))
    cal = flowflops.calibrate(runs, device=dev, overhead=0.0)
    assert cal.efficiency["matmul"] == pytest.approx(0.5) and cal.efficiency["other"] == pytest.approx(0.25)
    assert cal.overhead == 0.0
    # with a known per-op overhead of 0.01 s added to every measured op, the same efficiencies
    runs2 = []
    for report, m in runs:
        t = {k: v + 0.01 * (2 if k == "" else 1) for k, v in m.module_times.items()}
        runs2.append((report, Measurement(dev, "fp32", "eager", m.flops, t[""], [t[""]], t, {}, 1024.0)))
    cal2 = flowflops.calibrate(runs2, device=dev, overhead=0.01)
    assert cal2.efficiency["matmul"] == pytest.approx(0.5) and cal2.efficiency["other"] == pytest.approx(0.25)
    # the calibrated roofline then predicts the batch-8 run's time: 4 + 0.25 s
    assert runs[1][0].roofline(cal).total == pytest.approx(4.25)


def test_memory_per_rank_by_hand():
    from collections import OrderedDict

    from flowflops.records import ModuleInfo, OpRecord
    from flowflops.result import Report

    # a job over ranks 0 and 1: y = x @ w^T with x (4, 8) split on the batch, w (16, 8) a
    # parameter split on its rows (S(0)), then z = relu(y), both outputs split on the batch
    place = {"type": "cpu", "ranks": (0, 1)}
    mm = OpRecord("matmul", "", ((4, 8), (16, 8)), ((4, 16),), {
        "_in_tensors": ("x/out", "w/out"), "_out_tensors": ("mm/out",), "_params": (1,),
        "_in_sbp": (("S(0)",), ("S(0)",)), "_out_sbp": (("S(0)",),), "_placement": place})
    relu = OpRecord("relu", "", ((4, 16),), ((4, 16),), {
        "_in_tensors": ("mm/out",), "_out_tensors": ("relu/out",),
        "_in_sbp": (("S(0)",),), "_out_sbp": (("S(0)",),), "_placement": place})
    report = Report([(mm, None), (relu, None)], OrderedDict({"": ModuleInfo("M")}), mode="graph")
    by_rank = report.memory_by_rank()
    assert sorted(by_rank) == [0, 1]
    for m in by_rank.values():
        # w: 16*8*4 = 512 B, half on each rank
        assert m.params == 256
        # x 4*8*4/2 = 64 B alive from the start; y 4*16*4/2 = 128 B; z 128 B. At the matmul x
        # and y (192 B); at the relu y and z (256 B), x being freed after its last reader
        assert m.activation_peak == 256


def test_cli_train_shows_memory(capsys):
    from flowflops.cli.command import run

    assert run(["oneflow.nn:Linear", "--kwargs", '{"in_features": 8, "out_features": 4}',
                "--input-shape", "2,8", "--mode", "train"]) == 0
    out = capsys.readouterr().out
    assert "Memory (rank 0" in out and "gradients:" in out and "saved activations:" in out


def test_roofline_table_bytes_at_the_dtype_asked():
    # Linear(16, 8, no bias) on (4, 16) in graph mode: 1024 FLOPs (above); float32 bytes
    # 256 (x) + 512 (weight) + 128 (out) = 896, at fp16 half: 448; FLOP/B 1024/448 = 2.29
    report = flowflops.profile(nn.Linear(16, 8, bias=False), (4, 16), mode="graph")
    half = report.roofline(_toy_device(1024.0, 1792.0), dtype="fp16")
    assert half.bytes == 448 and half.by_module_bytes()[""] == 448
    root = half.table().splitlines()[4]  # the whole model's row
    assert "448 B" in root and "2.29" in root, root
    assert "bytes (fp16)" in half.table()
    full = report.roofline(_toy_device(1024.0, 1792.0), dtype="fp32").table().splitlines()[4]
    assert "896 B" in full and "1.14" in full, full  # 1024 / 896 = 1.14
