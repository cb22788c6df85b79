"""Training-step counts (forward + loss + backward + optimizer) from the compiled training graph,
worked by hand op by op (OneFlow 0.9's CPU job)."""
from collections import Counter

import numpy as np
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.report import backward_forward_ratio
from snapshot import assert_same, plain, snapshot


def profile_train(model, *args, **kwargs):
    """A training-step count (the face's mode="train")."""
    return flowflops.profile(model, *args, mode="train", **kwargs)


def ops(report):
    """The report as a multiset of (phase, op type, module, MACs, FLOPs)."""
    return Counter(
        (rec.attrs["_phase"], rec.op_type, rec.module, c.macs, c.flops) for rec, c in report.entries
    )


def mlp():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


# -- (1) Linear(8, 16) -> ReLU -> Linear(16, 4), batch 3, cross-entropy, SGD(lr=0.1) ----------
N, H, C = 3, 16, 4
PARAMS = 16 * 8 + 16 + 4 * 16 + 4  # 212
F, B, OPT = "forward", "backward", "optimizer"
MLP_OPS = Counter({
    # forward: Linear = matmul + bias add, ReLU, then F.cross_entropy on (3, 4)
    (F, "matmul", "0", N * H * 8, 2 * N * H * 8): 1,     # 384 MACs
    (F, "broadcast_add", "0", N * H, N * H): 1,           # bias, once per output element: 48
    (F, "relu", "1", N * H, N * H): 1,                    # 48
    (F, "matmul", "2", N * C * H, 2 * N * C * H): 1,      # 192
    (F, "broadcast_add", "2", N * C, N * C): 1,           # 12
    (F, "uniform_int", "", 0, 0): 1,                      # the default random labels
    (F, "transpose", "", 0, 0): 1, (F, "reshape", "", 0, 0): 2,
    (F, "log_softmax", "", N * C, N * C): 1,              # 12
    (F, "nll", "", N, N): 1,                              # -logp[i, t_i]: one negation per sample
    (F, "reduce_sum", "", N, N): 2,                       # sum of the losses, sum of the weights
    (F, "broadcast_div", "", 1, 1): 1,                    # the mean: one scalar division
    # backward, from the loss back to the first layer's weights (x needs no gradient)
    (B, "ones_like", "", 0, 0): 1,                        # dL/dL = 1
    (B, "broadcast_div", "", 1, 1): 1,                    # d(sum)/... = 1 / count
    (B, "broadcast_div_grad", "", 3, 3): 1,               # -(z / y) * dz: divide, multiply, negate
    (B, "broadcast_like", "", 0, 0): 2, (B, "reshape", "", 0, 0): 2, (B, "transpose", "", 0, 0): 1,
    (B, "nll_grad", "", N, N): 1,                         # one multiply per sample
    (B, "log_softmax_grad", "", 4 * N * C, 4 * N * C): 1,  # sum, exp, multiply, subtract: 48
    (B, "reduce_sum_like", "2", N * C, N * C): 1,         # bias gradient: sum over the batch, 12
    (B, "matmul", "2", N * H * C, 2 * N * H * C): 2,      # dx = dy @ W: (3,16) x 4; dW = dy^T @ x: (4,16) x 3
    (B, "relu_grad", "1", N * H, N * H): 1,               # 48
    (B, "reduce_sum_like", "0", N * H, N * H): 1,         # 48
    (B, "matmul", "0", 16 * 8 * N, 2 * 16 * 8 * N): 1,    # dW = dy^T @ x: (16, 8) x 3 = 384
    # optimizer: the train-step counter, then w -= lr * g on every parameter (2 per element)
    (OPT, "scalar_add", "", 1, 1): 1, (OPT, "assign", "", 0, 0): 1,
    (OPT, "sgd_update", "0", 2 * 16 * 8, 2 * 16 * 8): 1, (OPT, "sgd_update", "0", 2 * 16, 2 * 16): 1,
    (OPT, "sgd_update", "2", 2 * 4 * 16, 2 * 4 * 16): 1, (OPT, "sgd_update", "2", 2 * 4, 2 * 4): 1,
})
MLP_FORWARD_MACS = 384 + 48 + 48 + 192 + 12 + 12 + 3 + 2 * 3 + 1            # 706
MLP_FORWARD_FLOPS = MLP_FORWARD_MACS + 384 + 192                              # matmuls count twice
MLP_BACKWARD_MACS = 1 + 3 + 3 + 48 + 12 + 2 * 192 + 48 + 48 + 384            # 931
MLP_BACKWARD_FLOPS = MLP_BACKWARD_MACS + 2 * 192 + 384
MLP_OPTIMIZER = 1 + 2 * PARAMS                                                # 425


def test_mlp_every_op_by_hand():
    r = profile_train(mlp(), (N, 8))
    assert r.mode == "train" and r.unsupported == {}
    assert ops(r) == MLP_OPS


def test_mlp_phases_total_and_ratio():
    r = profile_train(mlp(), (N, 8))
    phases = r.by_phase()
    assert (phases[F].macs, phases[F].flops) == (MLP_FORWARD_MACS, MLP_FORWARD_FLOPS) == (706, 1282)
    assert (phases[B].macs, phases[B].flops) == (MLP_BACKWARD_MACS, MLP_BACKWARD_FLOPS) == (931, 1699)
    assert (phases[OPT].macs, phases[OPT].flops) == (MLP_OPTIMIZER, MLP_OPTIMIZER)
    assert r.macs == MLP_FORWARD_MACS + MLP_BACKWARD_MACS + MLP_OPTIMIZER
    assert backward_forward_ratio(r) == MLP_BACKWARD_MACS / MLP_FORWARD_MACS
    assert backward_forward_ratio(r, flops=True) == MLP_BACKWARD_FLOPS / MLP_FORWARD_FLOPS
    # the Linear layers' totals include their gradients and updates
    assert r.by_module()["2"].macs == 192 + 12 + 12 + 2 * 192 + 2 * (64 + 4)


def test_given_target_and_loss_module():
    """A target given is a graph input (no random labels made); a loss module gets the default
    labels and compiles to the same ops as the default loss."""
    r = profile_train(mlp(), (N, 8), target=flow.tensor([0, 1, 3]))
    assert ops(r) == MLP_OPS - Counter({(F, "uniform_int", "", 0, 0): 1})
    assert ops(profile_train(mlp(), (N, 8), loss_fn=nn.CrossEntropyLoss())) == MLP_OPS


def test_momentum_and_weight_decay():
    """SGD(momentum=0.9, weight_decay=1e-4): in a graph the decay is a separate
    l1_l2_regularize_gradient op (g + l2 * w: 2 per element), and the momentum update is
    m = beta * m + g (2) then w = w - lr * m (2): 6 per parameter element."""
    model = mlp()
    opt = flow.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    r = profile_train(model, (N, 8), optimizer=opt)
    assert r.unsupported == {}
    assert r.by_operator()["l1_l2_regularize_gradient"].macs == 2 * PARAMS
    assert r.by_operator()["momentum_update"].macs == 4 * PARAMS
    assert r.by_phase()[OPT].macs == 1 + 6 * PARAMS
    assert r.by_phase()[B].macs == MLP_BACKWARD_MACS  # the optimizer does not change backward


# -- (2) Conv -> BN -> ReLU -> Conv(bias), sum loss ---------------------------------------
def test_conv_bn_relu_block_by_hand():
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU(), nn.Conv2d(3, 4, 3)
    )
    r = profile_train(model, (2, 2, 5, 5), loss_fn=lambda out, target: out.sum())
    A = 2 * 3 * 5 * 5      # 150 elements of every (2, 3, 5, 5) activation
    Y = 2 * 4 * 3 * 3      # 72 elements of the second conv's output (no padding: 5 - 2 = 3)
    conv1 = A * 2 * 3 * 3  # 2700: in_channels * kernel per output element
    conv2 = Y * 3 * 3 * 3  # 1944
    assert ops(r) == Counter({
        (F, "conv2d", "0", conv1, 2 * conv1): 1,
        (F, "scalar_add", "1", 1, 1): 1,                  # BN's num_batches_tracked += 1 (training)
        # normalise + affine (2 per element), and the batch statistics of training: mean (1 add),
        # variance (1 subtract + 1 multiply-accumulate): 5A MACs, 6A FLOPs
        (F, "normalization", "1", 5 * A, 6 * A): 1,
        (F, "relu", "2", A, A): 1,
        (F, "conv2d", "3", conv2, 2 * conv2): 1,
        (F, "bias_add", "3", Y, Y): 1,
        (F, "reduce_sum", "", Y, Y): 1,                   # the loss: out.sum()
        (B, "ones_like", "", 0, 0): 1,
        (B, "broadcast_like", "", 0, 0): 1,               # d(sum)/d(out) = ones of out's shape
        (B, "reduce_sum", "3", Y, Y): 1,                  # conv2's bias gradient: sum of dy
        (B, "conv_data_grad", "3", conv2, 2 * conv2): 1,  # dx of conv2 costs conv2's forward
        (B, "conv_filter_grad", "3", conv2, 2 * conv2): 1,  # and so does its dW
        (B, "relu_grad", "2", A, A): 1,
        (B, "normalization_grad", "1", 8 * A, 9 * A): 1,  # 1 MAC + 7 elementwise per element
        (B, "conv_filter_grad", "0", conv1, 2 * conv1): 1,  # conv1: dW only (x needs no grad)
        (OPT, "scalar_add", "", 1, 1): 1, (OPT, "assign", "", 0, 0): 1,
        (OPT, "sgd_update", "0", 2 * 3 * 2 * 3 * 3, 2 * 3 * 2 * 3 * 3): 1,
        (OPT, "sgd_update", "1", 2 * 3, 2 * 3): 2,          # gamma, beta
        (OPT, "sgd_update", "3", 2 * 4 * 3 * 3 * 3, 2 * 4 * 3 * 3 * 3): 1,
        (OPT, "sgd_update", "3", 2 * 4, 2 * 4): 1,
    })
    assert r.by_phase()[B].macs == Y + 2 * conv2 + A + 8 * A + conv1 == 8010


# -- (3) Adam on one Linear ---------------------------------------------------------------
@pytest.mark.parametrize("make, per_element", [
    # m: 2 mul + add; v: 3 mul + add; sqrt, / sqrt(bias correction 2), + eps; m / denom,
    # * lr / bias correction 1, subtract: 3 + 4 + 3 + 3
    (lambda ps: flow.optim.Adam(ps, lr=1e-3), 3 + 4 + 3 + 3),
    # AdamW's decoupled decay: w -= (lr * wd) * w, 2 more
    (lambda ps: flow.optim.AdamW(ps, lr=1e-3, weight_decay=0.01), 3 + 4 + 3 + 3 + 2),
])
def test_adam_per_element(make, per_element):
    model = nn.Linear(5, 3)
    params = 5 * 3 + 3
    r = profile_train(model, (2, 5), optimizer=make(model.parameters()))
    assert r.unsupported == {}
    assert r.by_operator()["adam_update"].macs == per_element * params
    # besides the updates: the train-step counter (1) and the two bias-correction factors
    # 1 - beta ** (step + 1), one scalar each (add, power, subtract: 3)
    assert r.by_phase()[OPT].macs == per_element * params + 1 + 2 * 3
    assert r.by_phase()[OPT].flops == r.by_phase()[OPT].macs  # all elementwise


# -- the phase rule -----------------------------------------------------------------------
class AddedParameter(nn.Module):
    """fc2(fc1(x) + pos): with batch 1, pos's gradient *is* the gradient flowing on into fc1."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 4, bias=False)
        self.pos = nn.Parameter(flow.zeros(1, 4))
        self.fc2 = nn.Linear(4, 3, bias=False)

    def forward(self, x):
        return self.fc2(self.fc1(x) + self.pos)


def test_a_parameter_gradient_that_feeds_backward_stays_backward():
    r = profile_train(AddedParameter(), (1, 6))
    weight_grads = [(rec.attrs["_phase"], rec.module, c.macs) for rec, c in r.entries
                    if rec.op_type == "matmul" and rec.outputs[0] in ((4, 6), (3, 4))]
    # dW1 = dh^T @ x: (4, 6) x 1, dW2 = dy^T @ h: (3, 4) x 1, both backward
    assert sorted(weight_grads) == [(B, "fc1", 24), (B, "fc2", 12)]
    assert r.by_phase()[OPT].macs == 1 + 2 * (4 * 6 + 4 + 3 * 4)


def test_user_training_graph_gets_phases():
    """flowflops.profile on a user's own training nn.Graph: the same ops, the same phases."""
    model = mlp()

    class Train(nn.Graph):
        def __init__(self):
            super().__init__()
            self.model = model
            self.add_optimizer(flow.optim.SGD(model.parameters(), lr=0.1))

        def build(self, x, target):
            loss = nn.functional.cross_entropy(self.model(x), target)
            loss.backward()
            return loss

    r = flowflops.profile(
        Train(), input_constructor=lambda _: (flow.ones(N, 8), flow.zeros(N, dtype=flow.int64))
    )
    expected = MLP_OPS - Counter({(F, "uniform_int", "", 0, 0): 1})  # labels are an input here
    assert ops(r) == expected
    assert r.by_module()["0"].macs == 384 + 48 + 48 + 384 + 2 * (128 + 16)


def test_inference_counts_have_no_phases():
    r = flowflops.profile(mlp(), (N, 8), mode="graph")
    assert all("_phase" not in rec.attrs for rec, _ in r.entries)
    assert r.by_phase()[F].macs == r.macs and r.by_phase()[B].macs == 0


# -- (4) nothing the user owns is touched -------------------------------------------------


def test_model_optimizer_and_gradients_untouched():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    opt = flow.optim.Adam(model.parameters(), lr=1e-3)
    x = flow.randn(2, 3, 8, 8)
    nn.functional.cross_entropy(model(x), flow.tensor([1, 2])).backward()
    opt.step()  # Adam now has state (m, v, step), and every parameter a gradient
    model.eval()
    model[2].register_forward_hook(lambda m, i, o: None)
    out_before = model(x).numpy()
    before = snapshot(model)
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    opt_before = plain(opt.state_dict())

    r = profile_train(model, (2, 3, 8, 8), optimizer=opt)
    assert r.unsupported == {} and r.by_phase()[OPT].macs > 0

    assert_same(before, snapshot(model))  # flags (eval), hooks, parameters, BN buffers
    for name, p in model.named_parameters():
        assert not p.grad.is_lazy and np.array_equal(p.grad.numpy(), grads[name]), name
    assert plain(opt.state_dict()) == opt_before  # hyperparameters, step, m and v
    # the model still runs eagerly, forward and a training step
    assert np.array_equal(model(x).numpy(), out_before)
    model.train()
    nn.functional.cross_entropy(model(x), flow.tensor([0, 1])).backward()
    opt.step()


def test_counting_twice_gives_the_same_numbers():
    """Compiling backward leaves a lazy .grad on the parameters unless it is put back; a
    leftover would break (or be compiled into) the next count."""
    model = mlp()
    assert profile_train(model, (N, 8)).macs == profile_train(model, (N, 8)).macs
    assert all(p.grad is None for p in model.parameters())


def test_bad_arguments():
    with pytest.raises(flowflops.CountError, match="loss_fn"):
        profile_train(nn.Conv2d(3, 4, 3), (1, 3, 8, 8))  # a 4-D output needs a loss_fn
    with pytest.raises(TypeError, match="optimizer"):
        profile_train(mlp(), (N, 8), optimizer="sgd")
    with pytest.raises(TypeError, match="input_res"):
        profile_train(mlp())
    with pytest.raises(ValueError, match="trainable"):
        profile_train(nn.ReLU(), (N, 8))


# -- (5) whole models -----------------------------------------------------------------------
def _conv_bn_checks(model, r):
    """A CNN's backward, op family by op family, from its inference count: every conv's dW and
    (all but the stem's, whose input needs no gradient) dx cost its forward; BatchNorm backward
    8 per element against 2 forward; ReLU and pooling gradients cost their forward."""
    count = flowflops.profile(model, (1, 3, 224, 224), mode="graph")
    inference, train = count.by_operator(), r.by_operator()
    stem = count.by_module()["conv1"].macs
    assert train["conv_filter_grad"].macs == inference["conv2d"].macs
    assert train["conv_data_grad"].macs == inference["conv2d"].macs - stem
    assert train["normalization_grad"].macs == 4 * inference["normalization"].macs
    assert train["relu_grad"].macs == inference["relu"].macs
    assert train["max_pool_2d_grad"].macs == inference["max_pool_2d"].macs
    assert train["adaptive_avg_pool2d_grad"].macs == inference["adaptive_avg_pool2d"].macs


@pytest.mark.slow
@pytest.mark.parametrize("name, batch_norms", [("resnet18", 20), ("resnet50", 53)])
def test_resnet_training_step(name, batch_norms):
    import flowvision

    model = getattr(flowvision.models, name)()
    r = profile_train(model, (1, 3, 224, 224))
    assert r.unsupported == {}
    count = flowflops.profile(model, (1, 3, 224, 224), mode="graph")
    inference = count.macs
    # each BatchNorm (affine) costs 2 per element at inference; training adds the batch
    # statistics, 3 per element (mean 1, variance 1 subtract + 1 MAC): 3/2 of its inference cost
    statistics = 3 * count.by_operator()["normalization"].macs // 2
    # training forward = inference + statistics + the loss on (1, 1000) (log-softmax 1000, nll 1,
    # two sums of one element 1 + 1, the mean's division 1) + each BatchNorm's batch counter (1)
    assert r.by_phase()[F].macs == inference + statistics + 1000 + 1 + 2 + 1 + batch_norms
    assert r.by_phase()[OPT].macs == 2 * r.trainable_params + 1  # SGD: 2 per element, + step
    _conv_bn_checks(model, r)


@pytest.mark.slow
def test_vit_training_step():
    import flowvision

    r = profile_train(flowvision.models.vit_tiny_patch16_224(), (1, 3, 224, 224))
    assert r.unsupported == {}
    phases = r.by_phase()
    assert phases[OPT].macs == 2 * r.trainable_params + 1
    assert phases[B].macs > phases[F].macs > 0


def test_profile_mode_train_and_the_command():
    """``profile(mode="train")`` is the training-step count; the JSON export holds its phases;
    the command prints the split."""
    r = flowflops.profile(mlp(), (N, 8), mode="train")
    assert r.macs == MLP_FORWARD_MACS + MLP_BACKWARD_MACS + MLP_OPTIMIZER
    assert r.to_dict()["phases"]["backward"]["macs"] == MLP_BACKWARD_MACS
    from flowflops.cli.command import run

    import io
    import sys

    buf, old = io.StringIO(), sys.stdout
    sys.stdout = buf
    try:
        assert run(["tests.test_train:mlp", "--input-shape", f"{N},8", "--mode", "train", "--depth", "1"]) == 0
    finally:
        sys.stdout = old
    assert f"backward  {MLP_BACKWARD_MACS} Mac ({MLP_BACKWARD_MACS:,})" in buf.getvalue()


# -- issue 29: a training-step count never touches a tensor the user owns ---------------------
@pytest.mark.parametrize("had_grad", [False, True])
def test_train_count_leaves_an_inputs_grad_as_it_was(had_grad):
    """Compiling backward left a lazy .grad on an input that requires grad: the user's next
    eager backward() failed with "This is a oneflow bug"."""
    m = nn.Linear(4, 3)
    x = flow.ones(2, 4, requires_grad=True)
    if had_grad:
        x.grad = flow.full((2, 4), 7.0)
    grad = x.grad
    profile_train(m, input_res=(2, 4), input_constructor=lambda res: x)
    # the input was never touched: compiled as a stand-in (its .grad is the very object; a
    # .grad set back on a plain tensor would be a new one of the same value)
    assert x.grad is grad
    if had_grad:
        assert not x.grad.is_lazy and np.array_equal(x.grad.numpy(), np.full((2, 4), 7.0))
    else:
        assert x.grad is None
    m(x).sum().backward()  # the user's own eager step works
    # d(sum(x W^T + b))/dx = column sums of W, the same for both rows; plus 7 already there
    want = m.weight.numpy().sum(axis=0) + (7.0 if had_grad else 0.0)
    assert np.allclose(x.grad.numpy(), np.stack([want, want]))
