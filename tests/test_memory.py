"""Memory from the compiled job (analysis/memory.py), derived by hand."""
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.analysis.hardware import Device


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
    fit = report.fits(Device("toy", {"fp32": 1.0, "fp16": 2.0}, 1.0, 700, "test"))
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
