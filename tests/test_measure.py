"""measure() and MFUMeter: structure, hand-derived rates with a fake clock, flags and bad input.
No timed assertions: measured seconds are only checked for being positive."""
import time

import oneflow.nn as nn
import pytest

import flowflops
from flowflops.analysis.hardware import Device
from flowflops.tools.measure import MFUMeter, flags_for


def _toy(peak=2048.0, kind="cpu"):
    return Device("toy", {"fp32": peak}, 1e9, 1e9, "test", kind=kind)


@pytest.fixture
def linear_report():
    # graph count of Linear(16, 8, no bias) on (4, 16): 2*4*16*8 = 1024 FLOPs, 256 per sample
    return flowflops.profile(nn.Linear(16, 8, bias=False), (4, 16), mode="graph")


class FakeClock:
    def __init__(self, monkeypatch):
        self.t = 0.0
        monkeypatch.setattr(time, "perf_counter", lambda: self.t)


def test_meter_rates_by_hand(monkeypatch, linear_report):
    clock = FakeClock(monkeypatch)
    meter = MFUMeter(linear_report, device=_toy(8192.0), warmup=1, tokens_per_sample=10, synchronize=False)
    meter.step(batch_size=4)  # warm-up step: not timed
    for _ in range(3):
        with meter.phase("forward"):
            clock.t += 0.25
        with meter.phase("backward"):
            clock.t += 0.5
        clock.t += 0.25
        meter.step(batch_size=4)
    s = meter.summary()
    # 3 timed steps of 1 s, 4 samples each: 4 samples/s, 40 tokens/s, 1024 FLOP/s, 1024/8192 = 12.5%
    assert (s.steps, s.seconds_per_step, s.samples_per_s, s.tokens_per_s) == (3, 1.0, 4.0, 40.0)
    assert (s.achieved_flops, s.mfu, s.hfu) == (1024.0, 0.125, 0.125)
    # the report has only forward work: 256 FLOPs/sample * 4 / 0.25 s = 4096 FLOP/s
    assert s.phases["forward"] == (0.25, 4096.0) and s.phases["backward"][0] == 0.5
    assert "MFU 12.50%" in str(s)


def test_meter_hfu_counts_recomputation(monkeypatch, linear_report):
    clock = FakeClock(monkeypatch)
    meter = MFUMeter(linear_report, device=_toy(4096.0), warmup=0, recompute_flops=128, synchronize=False)
    meter.step(batch_size=4)
    clock.t += 2.0
    meter.step(batch_size=4)
    s = meter.summary()
    # model 1024 FLOPs in 2 s = 512 FLOP/s, 12.5% of 4096; hardware adds 128*4: 768 FLOP/s, 18.75%
    assert (s.mfu, s.hfu) == (0.125, 0.1875)


def test_meter_flags_impossible(monkeypatch, linear_report):
    clock = FakeClock(monkeypatch)
    meter = MFUMeter(linear_report, device=_toy(100.0), warmup=0, synchronize=False)
    meter.step(batch_size=4)
    clock.t += 1.0
    meter.step(batch_size=4)
    s = meter.summary()  # 1024 FLOP/s on a 100 FLOP/s device
    assert s.mfu is None and s.achieved_flops is None and "above the device's peak" in s.flags[0]
    assert "n/a (flagged)" in str(s)
    meter2 = MFUMeter(linear_report, device=_toy(), warmup=0, synchronize=False)
    meter2.step(batch_size=4)
    meter2.step(batch_size=4)  # the clock did not move: zero time
    assert meter2.summary().mfu is None and "not positive" in meter2.summary().flags[0]


def test_flags_for():
    assert flags_for(10, 1.0, 100.0) == []
    assert "not positive" in flags_for(10, 0.0, 100.0)[0]
    assert "negative" in flags_for(-1, 1.0, 100.0)[0]
    assert "above" in flags_for(1000, 1.0, 100.0)[0]


def test_meter_bad_input(linear_report):
    meter = MFUMeter(linear_report, device=_toy(), warmup=2)
    meter.step(batch_size=4)
    meter.step(batch_size=4)
    with pytest.raises(RuntimeError, match="no timed steps yet.*warm-up"):
        meter.summary()
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        meter.step(batch_size=0)
    with pytest.raises(ValueError, match="unknown device 'TPUv9'.*A100-80GB"):
        MFUMeter(linear_report, device="TPUv9")
    with pytest.raises(ValueError, match="the model is on cpu but the profile is A100-80GB"):
        MFUMeter(nn.Linear(2, 2), (1, 2), device="A100-80GB")
    with pytest.raises(ValueError, match="the model is on cpu but the profile is H100"):
        flowflops.measure(nn.Linear(2, 2), (1, 2), device="H100")


def test_measure_structure():
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU())
    flags = [(m, m.training) for m in model.modules()]
    m = flowflops.measure(model, (4, 16), device=_toy(1e15), warmup=1, repeats=2)
    # forward FLOPs: matmul 2*4*16*8 = 1024, bias add 32, ReLU 32
    assert m.flops == 1024 + 32 + 32 and m.module_flops["0"] == 1056
    assert m.time > 0 and len(m.times) == 2 and set(m.module_times) == {"", "0", "1"}
    assert m.flags == [] and 0 < m.share_of_peak < 1
    assert [(x, x.training) for x in model.modules()] == flags
    assert all(not x._forward_hooks and not x._forward_pre_hooks for x in model.modules())
    assert "Achieved" in m.table()


def test_measure_train_does_not_touch_the_model():
    model = nn.Sequential(nn.Linear(8, 4))
    before = model[0].weight.numpy().copy()
    m = flowflops.measure(model, (3, 8), mode="train", device=_toy(1e15), warmup=1, repeats=1, per_module=False)
    assert m.mode == "train" and m.time > 0
    assert (model[0].weight.numpy() == before).all() and model[0].weight.grad is None


def test_cli_measure(capsys):
    from flowflops.cli.command import run

    assert run(["tests.models:BasicBlock", "--input-shape", "1,32,2,64", "--measure"]) == 0
    out = capsys.readouterr().out
    assert "Measured on cpu (eager, fp32)" in out and "Time per call" in out


@pytest.mark.slow
def test_example_train_mfu_runs():
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run([sys.executable, os.path.join(root, "examples", "train_mfu.py"), "--steps", "12",
                        "--every", "6", "--width", "64"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.count("rank 0/1 on cpu") == 2 and "MFU" in p.stdout and "optimizer" in p.stdout
