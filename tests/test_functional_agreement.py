"""Eager (module hooks + count_functional) and graph mode agree, op by op, on calls where they
once differed (issue 27), each priced by what OneFlow 0.9 really runs, derived by hand below.
Elementwise ops, reductions and the per-row roots cost 1 MAC and 1 FLOP per element; a
matmul k MACs and 2k FLOPs per output element (see flowflops.Cost). Then whole models: recurrent
nets and every zoo model give the same totals in both engines."""
import flowvision.models as zoo
import oneflow as flow
import oneflow.nn as nn
import oneflow.nn.functional as F
import pytest

import flowflops
from models import ZOO, zoo_input
from models import Fn as Call
from snapshot import assert_same, snapshot

FUNCTIONAL = {"count_functional": True}


def both(model, shape):
    e = flowflops.profile(model, shape, mode="eager", backend_specific_config=FUNCTIONAL)
    g = flowflops.profile(model, shape, mode="graph")
    return e, g


def assert_both(model, shape, macs, flops):
    e, g = both(model, shape)
    assert (e.macs, e.flops) == (macs, flops)
    assert (g.macs, g.flops) == (macs, flops)
    assert e.unsupported == {} and g.unsupported == {}
    return e, g


def test_weight_norm_pre_hook_is_counted_in_graph_mode_too():
    """weight_norm recomputes W = v * (g / ||v||) in a forward pre-hook on every call, which
    nn.Graph skips. Linear(64, 64) on (1, 64), dim 0: the norm of each of 64 rows of v, which
    requires grad, so OneFlow runs abs (4096), scalar_pow 2 (4096), reduce_sum (4096),
    scalar_pow 1/2 (64); g / norm: 64 divisions; v * that: 4096 multiplies; then the layer:
    matmul 64 * 64 = 4096 MACs (8192 FLOPs) and the bias add 64."""
    m = nn.utils.weight_norm(nn.Linear(64, 64))
    weight = m.weight
    norm = 3 * 4096 + 64
    assert_both(m, (1, 64), norm + 64 + 4096 + 4096 + 64, norm + 64 + 4096 + 8192 + 64)
    assert m.weight is weight  # the hook ran on the graph's proxy, not on the user's module


@pytest.mark.parametrize("fn,shape,macs,flops", [
    # an order-2 norm over one axis of (2, 512): abs 1024, scalar_pow 1024, reduce_sum 1024,
    # scalar_pow of the 2 sums
    (lambda x: x.norm(p=2, dim=-1), (2, 512), 3 * 1024 + 2, 3 * 1024 + 2),
    (lambda x: flow.linalg.vector_norm(x, 2, dim=-1), (2, 512), 3 * 1024 + 2, 3 * 1024 + 2),
    # over every axis: the fused sqrt_square_sum, 1024 MACs (2048 FLOPs) + 1 root
    (lambda x: x.norm(), (2, 512), 1024 + 1, 2 * 1024 + 1),
    # 'fro' over one axis: square 1024, reduce_sum 1024, sqrt of the 2 sums
    (lambda x: flow.norm(x, dim=1), (2, 512), 2 * 1024 + 2, 2 * 1024 + 2),
    # the matrix 1-norm of (2, 4, 4): abs 32, column sums 32, the max of 4 sums per matrix 8
    (lambda x: flow.linalg.matrix_norm(x, 1), (2, 4, 4), 32 + 32 + 8, 32 + 32 + 8),
    # inf over one axis: abs 1024, reduce_max 1024
    (lambda x: x.norm(p=float("inf"), dim=-1), (2, 512), 2048, 2048),
])
def test_norms(fn, shape, macs, flops):
    assert_both(Call(fn), shape, macs, flops)


@pytest.mark.parametrize("eq,shape,macs,flops", [
    # an outer product: 64 * 64 multiplies, nothing accumulated (broadcast_mul)
    ("i,j->ij", (64,), 64 * 64, 64 * 64),
    ("bi,bj->bij", (2, 8), 2 * 8 * 8, 2 * 8 * 8),
    # a matrix product: 8 * 8 outputs of 8 products each, 2 FLOPs per MAC
    ("ij,jk->ik", (8, 8), 8 * 8 * 8, 2 * 8 * 8 * 8),
    # the one summed index has length 1 (Longformer's chunked products, session 6): 8 * 8 products,
    # each a lone multiply; OneFlow runs a broadcast_mul, nothing accumulated
    ("ij,kj->ik", (8, 1), 8 * 8, 8 * 8),
    # "..." for the leading dimensions (LongT5's local attention, session 6): x (2, 3, 4) with itself,
    # ... = 2, q = k = 3, d = 4 summed: 2 * 3 * 3 outputs of 4 products
    ("...qd,...kd->...qk", (2, 3, 4), 2 * 3 * 3 * 4, 2 * 2 * 3 * 3 * 4),
    # LongT5's own: x (2, 3, 2, 4): ... = 2, q = k = 3, h = 2, d = 4 summed: 2 * 2 * 3 * 3 outputs of 4
    ("...qhd,...khd->...hqk", (2, 3, 2, 4), 2 * 2 * 3 * 3 * 4, 2 * 2 * 2 * 3 * 3 * 4),
])
def test_einsum(eq, shape, macs, flops):
    assert_both(Call(lambda x: flow.einsum(eq, x, x)), shape, macs, flops)


class _InPlaceDivisions(nn.Module):
    def forward(self, x):
        y = x * 2.0
        y /= 4.0
        y.div_(2)
        return y + x / 8.0


def test_in_place_division_by_a_number_is_a_scalar_mul_in_both_engines():
    # OneFlow divides in place by a number as a multiply by its inverse (nn.Graph compiles `y /= 4.0`
    # and `y.div_(2)` to scalar_mul; `x / 8.0` stays a scalar_div). x (2, 4), 8 elements:
    # x * 2.0, y /= 4.0, y.div_(2): scalar_mul 3 x 8 = 24; x / 8.0: scalar_div 8; the add: add_n 8.
    # 40 MACs, 40 FLOPs; per op type the same in both engines (Longformer's `query /= sqrt(d)`).
    e, g = both(_InPlaceDivisions(), (2, 4))
    for r in (e, g):
        assert (r.macs, r.flops) == (40, 40) and not r.unsupported
        ops = {k: v["macs"] for k, v in r.to_dict()["operators"].items()}
        assert ops == {"scalar_mul": 24, "scalar_div": 8, "add_n": 8}
    v = flowflops.profile(_InPlaceDivisions(), (2, 4), mode="graph", verify=True).verification
    assert v is not None and v.agree


def test_repeat_interleave():
    """(1, 4, 4) repeated twice along dim 1 is (1, 8, 4): 32 multiplies by 2. OneFlow builds
    the gather index with a cumsum over the 4 repeat counts: 4 adds."""
    assert_both(Call(lambda x: x.repeat_interleave(2, dim=1) * 2), (1, 4, 4), 32 + 4, 32 + 4)


class BatchNormNoBias(nn.Module):
    def __init__(self, bias):
        super().__init__()
        self.w = nn.Parameter(flow.ones(8) * 2)
        self.b = nn.Parameter(flow.zeros(8)) if bias else None

    def forward(self, x):
        return F.batch_norm(x, None, None, weight=self.w, bias=self.b, training=True)


def test_batch_norm_weight_without_bias():
    """OneFlow 0.9 applies F.batch_norm's affine transform only with both weight and bias: with
    the bias missing the output equals the plain normalisation's (checked here), so on (1, 8,
    4, 4), n = 128: normalising 1 per element + the batch statistics (mean: 1 add, variance: 1
    subtract + 1 squared accumulate per element) = 4n MACs, n + 2n + 2n = 5n FLOPs. With the
    bias too: + 1 per element for the affine transform, 5n MACs, 6n FLOPs."""
    x = flow.randn(1, 8, 4, 4)
    plain = F.batch_norm(x, None, None, training=True)
    assert float((BatchNormNoBias(False)(x) - plain).abs().max()) == 0.0
    n = 128
    assert_both(BatchNormNoBias(False), (1, 8, 4, 4), 4 * n, 5 * n)
    assert_both(BatchNormNoBias(True), (1, 8, 4, 4), 5 * n, 6 * n)


class _Layer(nn.Module):
    """Conditional DETR's decoder layer: every layer but the first sets a submodule to None."""

    def __init__(self, first):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.extra = nn.Linear(4, 4, bias=False)
        if not first:
            self.extra = None

    def forward(self, x):
        y = self.fc(x)
        return y + self.extra(x) if self.extra is not None else y


def test_a_submodule_slot_holding_none_compiles_and_is_put_back():
    """OneFlow 0.9's nn.Graph proxies raise a bare NotImplementedError on a submodule slot that
    holds None (hf:conditional_detr); graph mode now counts the model as eager does. On (2, 4):
    layer 0: fc 2*4*4 + bias 2*4 = 40, extra 2*4*4 = 32, the sum 2*4 = 8; layer 1: fc 40; total
    120 MACs, FLOPs 2*32 + 8 + 2*32 + 8 + 2*32 + 8 = 216. The slot is None in _modules, in its
    place, afterwards."""
    model = nn.Sequential(_Layer(True), _Layer(False))
    before = list(model[1]._modules.items())
    state = snapshot(model)
    assert_both(model, (2, 4), 120, 216)
    assert list(model[1]._modules.items()) == before and "extra" not in model[1].__dict__
    assert_same(state, snapshot(model))


class _PadByCall(nn.Module):
    """Hugging Face BiT's DynamicPad2d: the work in ``__call__``, no ``forward``."""

    def __call__(self, x):
        return F.pad(x, (1, 1, 1, 1))


def test_a_module_that_overrides_call_instead_of_forward_is_traced_as_eager_runs_it():
    """OneFlow 0.9's graph proxies call a module's ``forward``; one that overrides ``__call__``
    only (hf:bit, hf:vit_hybrid) raised an empty NotImplementedError in graph mode. Now the
    graph runs its ``__call__``: the pad reaches the conv. Conv2d(1, 2, 3) on (1, 1, 4, 4)
    padded to 6x6: output (1, 2, 4, 4), 32 outputs x 9 = 288 MACs + bias 32 = 320 MACs, FLOPs
    2*288 + 32 = 608 (without the pad: 2x2 outputs, 8 x 9 + 8 = 80). The user's module gets
    no ``forward`` of its own."""
    model = nn.Sequential(_PadByCall(), nn.Conv2d(1, 2, 3))
    state = snapshot(model)
    assert_both(model, (1, 1, 4, 4), 320, 608)
    assert "forward" not in model[0].__dict__
    assert_same(state, snapshot(model))


class _CachesOnEval(nn.Module):
    """EfficientFormer's attention: train(False) caches a tensor the eval forward reads."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(flow.ones(4))

    def train(self, mode=True):
        super().train(mode)
        if not mode:
            self.cached = self.w * 2
        elif hasattr(self, "cached"):
            del self.cached
        return self

    def forward(self, x):
        return x * (self.w * 2 if self.training else self.cached)


def test_a_module_whose_eval_does_work_is_counted_as_model_eval_runs_it():
    """A count runs the model in eval mode as model.eval() would, train(False) overrides
    included (hf:efficientformer failed in both engines: no attribute 'ab'). On (2, 4): Linear
    2*4*4 + bias 2*4 = 40 MACs, the product with the cached tensor 2*4 = 8: 48 MACs, FLOPs
    2*32 + 8 + 8 = 80. The model is in training mode, without the cache, afterwards."""
    model = nn.Sequential(nn.Linear(4, 4), _CachesOnEval()).train()
    assert_both(model, (2, 4), 48, 80)
    assert model.training and model[1].training and not hasattr(model[1], "cached")


class _CrossEntropy(nn.Module):
    def __init__(self, reduction, classes):
        super().__init__()
        self.loss = nn.CrossEntropyLoss(reduction=reduction)
        self.classes = classes

    def forward(self, x):
        target = flow.zeros(x.shape[0], *x.shape[2:], dtype=flow.int64)
        return self.loss(x, target)


@pytest.mark.parametrize("reduction, shape, total", [
    # (3, 5): log_softmax 15, nll 3 (one negation per row), then "sum": reduce_sum 3;
    # "mean": reduce_sum 3 of the losses, 3 of their weights, and one division
    ("none", (3, 5), 15 + 3),
    ("sum", (3, 5), 15 + 3 + 3),
    ("mean", (3, 5), 15 + 3 + 3 + 3 + 1),
    # (2, 5, 4): classes on axis 1, 2 * 4 = 8 rows of 5: log_softmax 40, nll 8, mean 8 + 8 + 1
    ("mean", (2, 5, 4), 40 + 8 + 8 + 8 + 1),
])
def test_cross_entropy(reduction, shape, total):
    """nn.CrossEntropyLoss (RetriBERT's loss) calls flow._C.cross_entropy, which eager mode
    could not price (reported unsupported) while graph mode counted the ops OneFlow's functor
    compiles it to: both now count log_softmax, nll and the reduction's ops."""
    assert_both(_CrossEntropy(reduction, shape[1]), shape, total, total)


def test_zero_arithmetic_ops_are_zero_cost_in_both_engines():
    """flip, diag, median (a selection), Tensor.unfold (a strided view): no arithmetic, and
    known to both engines (nothing unsupported)."""
    assert_both(Call(lambda x: (x.flip(0), flow.diag(x), x.median(), x.unfold(0, 2, 1))), (4, 4), 0, 0)
    # any / all of a mask, as_strided (a view): Longformer's; x > 0 is a mask, no arithmetic on values
    assert_both(Call(lambda x: ((x > 0).any(), (x > 0).all(), flow.as_strided(x, (3, 2), (1, 1)))), (4, 4), 0, 0)


def _closure_model():
    act = F.gelu  # captured before any count: patching F cannot replace this reference

    class Closure(nn.Module):
        def forward(self, x):
            return act(x)

    return Closure()


def test_a_function_captured_in_a_closure_is_priced():
    """gelu of (1, 64): 64 (1 per element), in both engines."""
    assert_both(_closure_model(), (1, 64), 64, 64)


class DefaultArgument(nn.Module):
    def forward(self, x, act=F.gelu):
        return act(x)


def test_a_function_no_patch_reaches_lowers_coverage_naming_it():
    """A default argument holds F.gelu where no patch reaches: the eager count cannot price the
    call, but sees it (below the reference) and says so, never a silent zero under 100 %."""
    e, g = both(DefaultArgument(), (1, 64))
    assert (g.macs, g.unsupported) == (64, {})
    assert e.macs == 0 and not e.complete and e.coverage < 1.0
    assert list(e.unsupported) == [f"unreached:{F.gelu.__name__}"]


# -- whole models: recurrent nets and the zoo --------------------------------------------------
@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_eager_equals_graph(cls, bidirectional):
    m = cls(8, 16, num_layers=2, batch_first=True, bidirectional=bidirectional)
    e = flowflops.profile(m, (2, 5, 8))
    g = flowflops.profile(m, (2, 5, 8), mode="graph")
    assert e.macs == g.macs
    assert e.unsupported == g.unsupported == {}


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_zoo_eager_with_functional_equals_graph(name):
    model = getattr(zoo, name)().eval()
    before = snapshot(model)
    full = flowflops.profile(model, zoo_input(name), backend_specific_config=FUNCTIONAL)
    graph = flowflops.profile(model, zoo_input(name), mode="graph")
    assert_same(before, snapshot(model))
    assert full.unsupported == {} and graph.unsupported == {}
    assert full.macs == graph.macs
    assert full.flops == graph.flops
    assert full.params == graph.params
