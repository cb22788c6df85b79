"""Roofline predictions (analysis/roofline.py), devices and calibration, derived by hand."""
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
        measured = Measurement(dev, "fp32", "eager", report.flops, mm + relu, [mm + relu], times, {}, 1024.0)
        runs.append((report, measured))
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
