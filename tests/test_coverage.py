"""Coverage: every computing op is priced or reported, in every mode (issue 13). Each number below is
derived by hand in its comment (MACs in the seed's convention: an elementwise op is 1, a
multiply-accumulate 1; FLOPs: an elementwise op 1, a multiply-accumulate 2)."""
from __future__ import annotations

import oneflow as flow
import oneflow.nn as nn
import oneflow.nn.functional as F
import pytest

from flowflops import profile
from models import Fn, Unknown

FUNC = {"count_functional": True}


def eager_f(fn, shape):
    return profile(Fn(fn), shape, backend_specific_config=FUNC)


def graph(fn, shape):
    return profile(Fn(fn), shape, mode="graph")


def eager_priced(name, args, out, flops=False):
    """What count_functional records for ``flow._C.<name>(*args)`` returning ``out``, priced."""
    from flowflops.eager.functional_table import emitter
    from flowflops.registry import price

    recs = emitter(flow._C, name)(args, {}, out)
    costs = [price(r) for r in recs]
    assert None not in costs
    return sum(c.flops if flops else c.macs for c in costs)


# -- ops that used to cost 0 in eager with count_functional --------------------------------

@pytest.mark.parametrize("fn,macs", [
    # (2, 8) @ (8, 2): 2*2 outputs, 8 MACs each = 32
    (lambda x: flow.mm(x, x.t()), 32),
    # 'ij,kj->ik' over i=2, j=8, k=2: 2*2 outputs, a sum over j=8 each = 32
    (lambda x: flow.einsum("ij,kj->ik", x, x), 32),
    # -x: one negation per element, 16
    (lambda x: -x, 16),
    # clamp: one clip per element, 16
    (lambda x: x.clamp(0, 1), 16),
    (lambda x: flow.clamp(x, min=0), 16),
    # sin, cos, floor-division by a scalar: 16 each
    (lambda x: flow.sin(x), 16),
    (lambda x: flow.cos(x), 16),
    (lambda x: x // 2, 16),
    # x > 0: a comparison makes a mask, no arithmetic on values (as fvcore and torch's
    # counter, and the broadcast comparisons): 0, but recorded and priced, not unsupported
    (lambda x: x > 0, 0),
    # 10000 ** x: scalar_reverse_pow, one per element, 16
    (lambda x: 10000 ** x, 16),
])
def test_functional_ops_priced_in_both_modes(fn, macs):
    e, g = eager_f(fn, (2, 8)), graph(fn, (2, 8))
    assert e.macs == g.macs == macs
    assert e.unsupported == g.unsupported == {}


def test_reversed_scalar_ops_agree_and_cost_two_ops_per_element():
    # OneFlow runs `1 - x` as scalar_mul(x, -1) then scalar_add(1), and `2.0 / x` as
    # reciprocal(x) then scalar_mul(2): 2 ops per element, 2 * 16 = 32 in both modes
    for fn in (lambda x: 1 - x, lambda x: 2.0 / x):
        e, g = eager_f(fn, (2, 8)), graph(fn, (2, 8))
        assert e.macs == g.macs == 32
        assert e.by_operator() == {k: v for k, v in g.by_operator().items() if v.macs}


def test_mean_over_a_length_one_axis_has_no_divide():
    # x (2, 1, 8) mean over axis 1 (length 1): OneFlow compiles a lone reduce_sum reading
    # 16 elements, no scale: 16. Over axis 2 (length 8): reduce_sum 16 + scalar_mul on the
    # 2 outputs = 18.
    assert eager_f(lambda x: x.mean(1), (2, 1, 8)).macs == graph(lambda x: x.mean(1), (2, 1, 8)).macs == 16
    assert eager_f(lambda x: x.mean(2), (2, 1, 8)).macs == graph(lambda x: x.mean(2), (2, 1, 8)).macs == 18


def test_baddbmm():
    # batch_matmul (4, 6, 6) @ (4, 6, 6): 144 outputs * 6 = 864 MACs; beta * input: 144;
    # the add: 144. Total 1152.
    fn = lambda x: flow.baddbmm(x, x, x)  # noqa: E731
    assert eager_f(fn, (4, 6, 6)).macs == graph(fn, (4, 6, 6)).macs == 864 + 144 + 144


def test_layer_norm_affine_called_directly_and_in_graph():
    # layer_norm over rows of 8 on (2, 8): n = 16, r = 2 statistics. As the CPU graph of
    # nn.LayerNorm runs it: reduce_sum 16, scalar_mul 2, var 16, scalar_add 2, broadcast_sub 16,
    # rsqrt 2, broadcast_mul 16, affine multiply 16 and add 16: 6n + 3r = 96 + 6 = 102.
    # OneFlow 0.9 has no CPU kernel for layer_norm (running it aborts the process), so the
    # eager side is checked through what count_functional records for the call
    w, b = flow.ones(8), flow.zeros(8)
    x = flow.ones(2, 8)
    out = (flow.ones(2, 8), flow.ones(2), flow.ones(2))
    assert eager_priced("layer_norm_affine", (x, w, b, 1, 1, 1e-5), out) == 102
    # the graph of nn.LayerNorm on the CPU (decomposed) counts the same 102
    assert profile(nn.LayerNorm(8), (2, 8), mode="graph").macs == 102
    # and the fused op's formula (CUDA compiles nn.LayerNorm to it) agrees: 102
    from flowflops.records import OpRecord
    from flowflops.registry import price

    rec = OpRecord("layer_norm", "", ((2, 8), (8,), (8,)), ((2, 8), (2,), (2,)))
    assert price(rec).macs == 102


def test_rms_norm():
    # rms_norm on (2, 8) with a weight: sum of squares 16 MACs (32 FLOPs); per row mean, + eps,
    # rsqrt: 3 * 2 = 6; per element * inv_rms and * weight: 32. MACs 16 + 6 + 32 = 54,
    # FLOPs 32 + 6 + 32 = 70.
    # (no CPU kernel in OneFlow 0.9: the eager side is checked through its records)
    w = flow.ones(8)
    fn = lambda x: flow._C.rms_norm(x, w, (8,), 1e-5)  # noqa: E731
    g = graph(fn, (2, 8))
    assert (g.macs, g.flops) == (54, 70)
    x = flow.ones(2, 8)
    assert eager_priced("rms_norm", (x, w, (8,), 1e-5), flow.ones(2, 8), flops=True) == 70
    assert eager_priced("rms_norm", (x, w, (8,), 1e-5), flow.ones(2, 8)) == 54


def test_fold_and_unfold():
    # unfold (im2col) of (1, 4, 6, 6) with 2x2 kernels only copies: 0. fold (col2im) of the
    # (1, 16, 25) columns adds each of its 400 elements into the output: 400.
    un = lambda x: F.unfold(x, 2)  # noqa: E731
    fo = lambda x: F.fold(F.unfold(x, 2), (6, 6), 2)  # noqa: E731
    for fn, macs in ((un, 0), (fo, 400)):
        e, g = eager_f(fn, (1, 4, 6, 6)), graph(fn, (1, 4, 6, 6))
        assert e.macs == g.macs == macs
        assert e.unsupported == g.unsupported == {}


def test_random_mask_like_and_comparisons_have_graph_formulas():
    # training-mode dropout compiles to random_mask_like + dropout: random draws, no
    # arithmetic on values: 0, and nothing unsupported
    class Drop(nn.Module):
        def forward(self, x):
            return F.dropout(x, 0.5, True)

    g = profile(Drop(), (2, 8), mode="graph")
    assert g.unsupported == {}


def test_batch_norm_training_priced_by_what_it_computes():
    # BatchNorm in training on (2, 4, 3, 3), n = 72 elements. Inference work: normalise (1 per
    # element) and, with affine, the affine transform (1 more). Training adds the batch
    # statistics: the mean (1 add per element) and the variance (1 subtract and 1
    # multiply-accumulate per element): 3n MACs, 4n FLOPs.
    # Without affine: MACs 72 + 216 = 288, FLOPs 72 + 288 = 360.
    # (the statistics tensors are made inside the forward: nn.Graph cannot update captured
    # eager tensors in place)
    def train(x):
        return F.batch_norm(x, flow.zeros(4), flow.ones(4), training=True)

    e, g = eager_f(train, (2, 4, 3, 3)), graph(train, (2, 4, 3, 3))
    assert (e.macs, e.flops) == (g.macs, g.flops) == (288, 360)

    def infer(x):  # inference without affine: 1 per element, 72
        return F.batch_norm(x, flow.zeros(4), flow.ones(4), training=False)

    assert eager_f(infer, (2, 4, 3, 3)).macs == graph(infer, (2, 4, 3, 3)).macs == 72


def test_batch_norm_forward_phase_of_train_mode():
    # nn.BatchNorm2d(4) (affine) in a training graph on (2, 4, 3, 3): its forward
    # normalization op costs 2 * 72 (normalise, affine) + 3 * 72 (statistics) = 360 MACs,
    # 144 + 288 = 432 FLOPs.
    r = profile(nn.Sequential(nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(36, 3)), (2, 4, 3, 3), mode="train")
    bn = [c for rec, c in r.entries if rec.op_type == "normalization"]
    assert [(c.macs, c.flops) for c in bn] == [(360, 432)]


def test_unpriced_callable_is_reported_not_dropped():
    # cosine_similarity has no formula: the call is listed as unsupported, never silent
    fn = lambda x: F.cosine_similarity(x, x)  # noqa: E731
    assert eager_f(fn, (2, 8)).unsupported == {"oneflow.cosine_similarity": 1}


# -- a subclass of a priced module whose forward differs ------------------------------------

class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d: a BatchNorm2d whose forward also applies an activation."""

    def __init__(self, c):
        super().__init__(c)
        self.act = nn.ReLU()

    def forward(self, x):
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.1, self.eps)
        return self.act(x)


class Scaled(nn.Linear):
    """A Linear whose forward scales its output: one more multiply per output element."""

    def forward(self, x):
        return super().forward(x) * 2


@pytest.mark.parametrize("config", [{}, FUNC])
def test_subclass_with_another_forward_is_descended_into(config):
    # BatchNormAct2d(4) on (1, 4, 3, 3), 36 elements: BatchNorm with affine 2 per element (72)
    # + ReLU 1 per element (36) = 108, in default eager, with count_functional and in graph
    r = profile(BatchNormAct2d(4), (1, 4, 3, 3), backend_specific_config=config)
    assert r.macs == profile(BatchNormAct2d(4), (1, 4, 3, 3), mode="graph").macs == 108
    assert r.by_module()["act"].macs == 36
    # Scaled(8, 3) on (2, 8): matmul 2*3 outputs * 8 = 48, bias 6, the scale 6: 60
    r = profile(Scaled(8, 3), (2, 8), backend_specific_config=config)
    assert r.macs == profile(Scaled(8, 3), (2, 8), mode="graph").macs == 60
    assert r.unsupported == {}


def test_subclass_with_the_same_forward_is_priced_as_its_base():
    class MyConv(nn.Conv2d):
        pass

    # conv 3->4, 3x3, no padding, on (1, 3, 5, 5): 4*3*3 outputs * 27 = 972 + bias 36 = 1008
    assert profile(MyConv(3, 4, 3), (1, 3, 5, 5)).macs == 1008


# -- graph mode and the structures a forward returns -----------------------------------------

class _ModelOutput(dict):
    """Like Hugging Face's ModelOutput: a dict subclass."""


@pytest.mark.parametrize("kind", ["dict subclass", "dataclass", "named tuple", "nested"])
def test_graph_mode_accepts_any_output_structure(kind):
    import collections
    import dataclasses

    @dataclasses.dataclass
    class Out:
        logits: flow.Tensor
        n: int = 3

    Pair = collections.namedtuple("Pair", "a b")

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 3)

        def forward(self, x):
            y = self.fc(x)
            return {"dict subclass": lambda: _ModelOutput(logits=y, hidden=(y,)),
                    "dataclass": lambda: Out(y), "named tuple": lambda: Pair(y, {"c": y}),
                    "nested": lambda: {"a": [y, (y, None)], "b": 1.5}}[kind]()

    # Linear(8, 3) on (2, 8): 2*3 outputs * 8 = 48 MACs + bias 6 = 54, in both modes
    assert profile(M(), (2, 8), mode="graph").macs == profile(M(), (2, 8)).macs == 54


def test_graph_mode_isinstance_and_super_inside_forward():
    # nn.Graph runs forwards on proxies; isinstance(self, ...) and super() see the module's class
    class Checked(nn.Linear):
        def forward(self, x):
            assert isinstance(self, nn.Linear)
            return super().forward(x)

    # 54 as above
    assert profile(Checked(8, 3), (2, 8), mode="graph").macs == 54


# -- coverage, completeness and the loud warning -------------------------------------------

class _Half(nn.Module):
    def __init__(self):
        super().__init__()
        self.known = nn.Linear(8, 8)   # 64 + 8 = 72 parameters, priced
        self.unknown = Unknown()       # 64 parameters, counted as zero by default

    def forward(self, x):
        return self.unknown(self.known(x))


def test_coverage_and_complete():
    import io

    from flowflops import get_model_complexity_info

    r = profile(_Half(), (2, 8))
    # records: the Linear's matmul and bias add (2, priced); module calls without a formula:
    # Unknown once. Coverage 2 / 3; not complete; 64 of 136 parameters unpriced
    assert not r.complete and r.unsupported == {"Unknown": 1}
    assert r.coverage == pytest.approx(2 / 3)
    assert r.unpriced_params == 64 and r.param_coverage == pytest.approx(72 / 136)
    out = io.StringIO()
    with pytest.warns(UserWarning, match=r"47\.1% of the parameters .* Unknown x1.*count_functional"):
        get_model_complexity_info(_Half(), (2, 8), ost=out)
    assert "Coverage: 66.67% of ops priced; incomplete" in out.getvalue()
    assert "WARNING: 47.1% of the parameters" in out.getvalue()
    # with count_functional everything is priced: complete, 100%
    f = profile(_Half(), (2, 8), backend_specific_config=FUNC)
    assert f.complete and f.coverage == 1.0 and f.param_coverage == 1.0
    d = f.to_dict()
    assert d["complete"] is True and d["coverage"] == 1.0


def test_cli_shows_coverage(tmp_path):
    from flowflops.cli.command import run

    out = tmp_path / "out.txt"
    assert run(["resnet18", "--input-shape", "1,3,32,32", "--output", str(out)]) == 0
    assert "Coverage: 100.00% of ops priced; complete" in out.read_text()


# -- errors that name the real cause ----------------------------------------------------------

def test_missing_cpu_kernel_is_named():
    from flowflops import CountError

    w = flow.ones(8)
    with pytest.raises(CountError, match="no CPU kernel for the op 'rms_norm'.*mode='graph'") as info:
        profile(Fn(lambda x: flow._C.rms_norm(x, w, (8,), 1e-5) + 0), (2, 8))
    assert "Check that the shape" not in str(info.value)


def test_untraceable_op_is_named_with_its_line():
    from flowflops import CountError

    class Item(nn.Module):  # graph mode compiles a value read with the eager run's number
        def forward(self, x):  # (flowflops.graph.values), unless the trace reads it elsewhere:
            if x.is_lazy:
                return x * x.sum().item()
            return x * x.sum().item()

    with pytest.raises(CountError, match=r"cannot trace a tensor read as a Python number.*"
                                         r"test_coverage.py:\d+ in forward.*mode='eager'") as info:
        profile(Item(), (2, 8), mode="graph")
    assert "Check that the shape" not in str(info.value)


def test_shape_advice_only_for_shape_problems():
    from flowflops import CountError

    with pytest.raises(CountError, match="Check that the shape"):
        profile(nn.Linear(8, 3), (2, 5))

    class Raises(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    with pytest.raises(CountError, match="boom") as info:
        profile(Raises(), (2, 8))
    assert "Check that the shape" not in str(info.value)


def test_global_model_whose_forward_raises_names_the_cause():
    from flowflops import CountError

    class Raises(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 3)

        def forward(self, x):
            raise ValueError("the real cause")

    m = Raises().to_global(placement=flow.placement("cpu", ranks=[0]), sbp=flow.sbp.broadcast)
    with pytest.raises(CountError, match="the real cause"):
        profile(m, (2, 8))


# -- references to functions taken before the count -------------------------------------------

from oneflow import matmul as _captured_matmul  # noqa: E402  (a module-level name, as models do)


class _Captures(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = F.gelu  # an instance attribute, as Hugging Face's ACT2FN does

    def forward(self, x):
        return self.act(_captured_matmul(x, x.t()))


def test_references_captured_before_the_count_are_priced():
    # matmul (2, 8) @ (8, 2): 4 outputs * 8 = 32; gelu on the 4 outputs: 4. Total 36, in
    # eager+functional and in graph
    r = profile(_Captures(), (2, 8), backend_specific_config=FUNC)
    assert r.macs == profile(_Captures(), (2, 8), mode="graph").macs == 36
    assert r.unsupported == {}
    # and the captured references are the user's again afterwards
    m = _Captures()
    profile(m, (2, 8), backend_specific_config=FUNC)
    assert m.act is F.gelu and _captured_matmul is flow.matmul


def test_module_under_two_names_is_attributed_alike():
    # regionvit's `self.proj_cls = self.proj`: one module, two paths. Both engines put its
    # cost under its first name, `proj`: Linear(8, 3) on (2, 8) = 48 + 6 = 54
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 3)
            self.proj_cls = self.proj

        def forward(self, x):
            return self.proj_cls(x)

    for r in (profile(Two(), (2, 8), backend_specific_config=FUNC), profile(Two(), (2, 8), mode="graph")):
        assert r.by_module()["proj"].macs == 54 and r.macs == 54


# -- the walk over every entry point ------------------------------------------------------------

def test_every_callable_is_classified_and_the_computing_ones_are_patched():
    import inspect

    from flowflops.eager.functional import patched_attributes
    from flowflops.eager.functional_table import callable_names, classify, namespaces

    patched = {(id(o), n) for o, n in patched_attributes()}
    kinds = {}
    for owner in namespaces():
        for name in callable_names(owner):
            kind = classify(owner, name)
            kinds[(getattr(owner, "__name__", owner), name)] = kind
            assert kind in ("priced", "zero", "not computing", "composite", "reported"), (owner, name)
            fn = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name)
            if kind in ("priced", "reported") and not inspect.isfunction(fn):
                # a computing builtin is wrapped: priced, or listed as unsupported when called
                assert (id(owner), name) in patched, (owner, name)
            if kind == "composite":
                assert inspect.isfunction(fn)  # Python over the primitives, which are patched
    # the entry points the issue found silent are priced now
    for owner, name in [(flow, "mm"), (flow._C, "einsum"), (flow, "baddbmm"), (flow._C, "normalization"),
                        (flow._C, "layer_norm_affine"), (flow.Tensor, "__neg__"), (flow.Tensor, "clamp"),
                        (flow, "sin"), (flow, "cos"), (flow.Tensor, "__floordiv__"), (F, "fold"),
                        (flow._C, "unfold"), (flow.Tensor, "__rsub__"), (flow.Tensor, "__rtruediv__"),
                        (flow.Tensor, "__rpow__"), (flow.Tensor, "mul_"), (flow.Tensor, "__iadd__")]:
        assert classify(owner, name) == "priced", (owner, name)
    # a builtin nobody has classified yet (a newer OneFlow) is reported, never silently zero
    assert classify(flow._C, "an_op_of_a_later_oneflow") == "reported"


def test_coverage_survives_json():
    # the _Half model above: coverage 2/3, 64 unpriced parameters, after a JSON round trip too
    from flowflops import Report

    r = Report.from_json(profile(_Half(), (2, 8)).to_json())
    assert r.coverage == pytest.approx(2 / 3) and not r.complete and r.unpriced_params == 64


def test_unpriced_params_count_each_outermost_unpriced_module_once():
    from flowflops.records import ModuleInfo
    from flowflops.result import Report

    # "a.b" and "a.b.c" sit inside "a" (their parameters are in a's 10 already); "a-b" and "ab"
    # only share a's first letter: 10 + 3 + 5 = 18 parameters unpriced
    params = {"": 20, "a": 10, "a.b": 4, "a.b.c": 1, "a-b": 3, "ab": 5}
    tree = {p: ModuleInfo("M", params=n) for p, n in params.items()}
    unpriced = {p: "M" for p in ("a.b.c", "a", "ab", "a-b", "a.b")}
    r = Report([], tree, mode="eager", unpriced_modules=unpriced)
    assert r.unpriced_params == 10 + 3 + 5
