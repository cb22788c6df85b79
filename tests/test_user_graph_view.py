"""Counting a user's own training nn.Graph compiles a copy over a view of its modules
(flowflops.graph.engine._compile_user_graph): the user's modules, parameters, .grad,
optimizers and learning-rate schedulers are never touched, so the user's graph trains
afterwards exactly as it would have without the count, and another thread sees nothing."""
import copy
import threading

import numpy as np
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.errors import CountError
from process_state import assert_process_clean, default_sigint  # noqa: F401 (a fixture)
from snapshot import assert_same, plain, snapshot

# each test starts with Python's own SIGINT handler, which assert_process_clean checks is back
# (see process_state.default_sigint: a runner in the background hands pytest SIGINT ignored)
pytestmark = pytest.mark.usefixtures("default_sigint")


class Gate(nn.Module):
    """Identity. While ``arm`` holds a pair of events, its first call in lazy mode (the trace
    of a compile) sets the first and waits for the second; ``boom`` makes that call raise."""

    def __init__(self):
        super().__init__()
        self.arm = None
        self.boom = False

    def forward(self, x):
        if flow._oneflow_internal.lazy_mode.is_enabled():
            if self.boom:
                raise RuntimeError("boom in the middle of the compile")
            if self.arm is not None:
                reached, go = self.arm
                self.arm = None  # (the view's attribute: the user's module keeps its own)
                reached.set()
                assert go.wait(60)
        return x


def net():
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), Gate(), nn.ReLU(), nn.Linear(6, 3))


class Train(nn.Graph):
    def __init__(self, model, opt, sch):
        super().__init__()
        self.model = model
        self.add_optimizer(opt, lr_sch=sch)

    def build(self, x):
        loss = self.model(x).square().sum()
        loss.backward()
        return loss


def rig(model, kind):
    """An optimizer that has state (one eager step taken), a scheduler that halves the rate at
    every step, and the user's training graph over them."""
    opt = (flow.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if kind == "sgd"
           else flow.optim.Adam(model.parameters(), lr=0.01))
    sch = flow.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    model.train()
    model(X).square().sum().backward()
    opt.step()
    sch.step()
    return opt, sch, Train(model, opt, sch)


X = flow.tensor(np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4))


def held(model, opt, sch):
    """What the user owns, by identity and value: modules (flags, hooks, attribute names),
    parameters and buffers, each parameter's .grad (the object and its value), the optimizer's
    and the scheduler's state dicts."""
    return (snapshot(model), [(p.grad, p.grad.numpy().copy()) for p in model.parameters()],
            plain(opt.state_dict()), plain(sch.state_dict()))


def assert_held(before, after):
    assert_same(before[0], after[0])
    for (g0, v0), (g1, v1) in zip(before[1], after[1]):
        assert g1 is g0 and not g1.is_lazy and np.array_equal(v0, v1)
    assert after[2] == before[2]  # hyperparameters, param groups, momentum / m, v, step
    assert after[3] == before[3]  # last_step, base_lrs, last lr


def train_steps(graph, model):
    """Three steps of the user's graph: the losses and the parameters after."""
    for p in model.parameters():
        p.grad = None  # (the eager step's; the graph keeps gradients of its own)
    losses = [graph(X).numpy() for _ in range(3)]
    return losses, [p.numpy() for p in model.parameters()] + [b.numpy() for b in model.buffers()]


def assert_trains_as_the_twin(graph, model, twin_graph, twin):
    losses, values = train_steps(graph, model)
    twin_losses, twin_values = train_steps(twin_graph, twin)
    assert all(np.array_equal(a, b) for a, b in zip(losses, twin_losses)), (losses, twin_losses)
    assert all(np.array_equal(a, b) for a, b in zip(values, twin_values))
    assert losses[1] != losses[0]  # the steps did train (and were not all the same)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_a_counted_training_graph_trains_as_its_uncounted_twin(kind):
    """Count the user's graph (SGD with momentum or Adam, with state, and a StepLR), then train
    it three steps: the same losses, parameters and BN statistics as a twin never counted;
    before the training, everything the user owns is as it was."""
    model = net()
    twin = copy.deepcopy(model)
    opt, sch, graph = rig(model, kind)
    _, _, twin_graph = rig(twin, kind)
    before = held(model, opt, sch)

    report = flowflops.profile(graph, input_constructor=lambda _: X)
    # the forward's two matmuls alone: (5, 4) x (4, 6) and (5, 6) x (6, 3), 5*6*4 + 5*3*6 MACs
    assert report.macs > 5 * 6 * 4 + 5 * 3 * 6
    assert report.by_phase()["optimizer"].macs > 0  # the optimizer's update was compiled

    assert_held(before, held(model, opt, sch))
    assert not graph._is_compiled
    assert_process_clean()
    assert_trains_as_the_twin(graph, model, twin_graph, twin)


def test_an_exception_mid_compile_leaves_everything_as_it_was():
    model = net()
    twin = copy.deepcopy(model)
    opt, sch, graph = rig(model, "adam")
    _, _, twin_graph = rig(twin, "adam")
    before = held(model, opt, sch)

    model[2].boom = True
    with pytest.raises(CountError, match="boom in the middle of the compile"):
        flowflops.profile(graph, input_constructor=lambda _: X)
    model[2].boom = False

    assert_held(before, held(model, opt, sch))
    assert not graph._is_compiled
    assert_process_clean()
    assert_trains_as_the_twin(graph, model, twin_graph, twin)


def test_another_thread_mid_compile_sees_the_users_objects_and_keeps_what_it_sets():
    """Another thread, while the count traces the user's training graph: every parameter still
    holds the user's own eager .grad (the old compile on the user's modules set them to None
    for the compile and OneFlow's lazy gradients in it), and the flag it sets (eval on the
    BatchNorm) stays (the old compile put the model's __dict__ back after it)."""
    model = net()
    opt, sch, graph = rig(model, "sgd")
    params = list(model.parameters())
    grads = [p.grad for p in params]
    seen = {}
    reached, go = threading.Event(), threading.Event()

    def other():
        assert reached.wait(60)
        try:
            seen["grads"] = [p.grad is g for p, g in zip(params, grads)]
            seen["params"] = [p is q for p, q in zip(model.parameters(), params)]
            seen["flags"] = [m.training for m in model.modules()]
            model[1].eval()  # the user's own change, mid-count
        finally:
            go.set()

    thread = threading.Thread(target=other)
    thread.start()
    model[2].arm = (reached, go)
    try:
        flowflops.profile(graph, input_constructor=lambda _: X)
    finally:
        model[2].arm = None
        go.set()
        thread.join(60)
    # six parameters (two Linear weights and biases, the BatchNorm's weight and bias), six
    # modules (the Sequential and its five layers), all in training mode (rig)
    assert seen["grads"] == [True] * 6 and seen["params"] == [True] * 6
    assert seen["flags"] == [True] * 6
    assert model[1].training is False  # kept
    assert [p.grad is g for p, g in zip(params, grads)] == [True] * 6
    assert_process_clean()


def test_a_lazy_grad_left_by_the_users_graph_training_stays_the_users():
    """OneFlow's own graph training leaves lazy .grad on the parameters; counting a second
    training graph of the same model leaves those very tensors there (the old compile set
    them to None: a lazy gradient cannot be assigned back)."""
    model = net()
    opt, sch, graph = rig(model, "sgd")
    for p in model.parameters():
        p.grad = None
    graph(X)
    lazy = [p.grad for p in model.parameters()]
    assert all(g is not None and g.is_lazy for g in lazy)

    second = Train(model, opt, sch)
    flowflops.profile(second, input_constructor=lambda _: X)
    assert [p.grad is g for p, g in zip(model.parameters(), lazy)] == [True] * 6
    graph(X)  # the user's graph trains on
    assert_process_clean()


def test_an_inputs_grad_is_left_as_it_was():
    """Compiling loss.backward() gives an input that requires grad a lazy .grad, after which
    the user's next eager backward through it fails: the input's own .grad is put back."""
    model = net()
    opt, sch, graph = rig(model, "sgd")
    x = X.clone().requires_grad_()
    (x * 2).sum().backward()
    grad = x.grad
    flowflops.profile(graph, input_constructor=lambda _: x)
    assert x.grad is grad and not grad.is_lazy
    (x * 2).sum().backward()  # an eager backward through the input still works
    assert np.array_equal(x.grad.numpy(), np.full((5, 4), 4.0, dtype=np.float32))  # 2 + 2


def test_graph_with_two_models_sharing_a_module():
    """The graph's models are viewed together: a module both hold has one view, and the
    optimizer over both trains it once. Inference counts by hand: Linear(4, 8) on (3, 4):
    3*8*4 + 3*8 = 120, twice (both models call it), Linear(8, 2): 3*2*8 + 3*2 = 54."""
    shared = nn.Linear(4, 8)
    head = nn.Sequential(shared, nn.Linear(8, 2))

    class Two(nn.Graph):
        def __init__(self):
            super().__init__()
            self.a, self.b = shared, head

        def build(self, x):
            return self.a(x).sum() + self.b(x).sum()

    report = flowflops.profile(Two(), (3, 4))
    assert report.by_module()["a"].macs == 120
    assert report.by_module()["b"].macs == 120 + 54
