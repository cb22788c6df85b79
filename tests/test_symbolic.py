"""flowflops.symbolic: exact cost formulas in named sizes (flowflops.tools.symbolic).

Every formula is checked two ways: against closed forms derived by hand here, and against real
counts (flowflops.profile) at shapes that no fit or check of the analysis used."""
import random
from fractions import Fraction

import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.tools.symbolic import Formula, Symbolic, interpolate
from flowflops.errors import CountError

from .gpt import GPTBlock


def ids(shape):
    return {"idx": flow.zeros(*shape, dtype=flow.int64)}


def small_cnn():
    # conv 3->8, 3x3, stride 2, pad 1, bias; BN; ReLU; global average pool; Linear 8->10
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))


def wide_cnn():
    # small_cnn with 16 channels instead of 8
    return nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


@pytest.fixture(scope="module")
def gpt():
    model = GPTBlock()  # vocab 100, d 32, 4 heads, positional table of 16 rows
    return model, flowflops.symbolic(model, ("B", "T"), domain={"T": range(1, 17)}, input_constructor=ids)


@pytest.fixture(scope="module")
def cnn():
    model = small_cnn()
    return model, flowflops.symbolic(model, ("B", 3, "H", "W"), domain={"H": 2, "W": 2})


def unused_shapes(sym, choices, n, seed=1):
    """``n`` shapes (dicts) no count of the analysis used."""
    used = {tuple(sorted(p.items())) for p in sym.fit_points + sym.check_points}
    rng, out = random.Random(seed), []
    while len(out) < n:
        p = {d: rng.choice(c) for d, c in choices.items()}
        if tuple(sorted(p.items())) not in used and p not in out:
            out.append(p)
    return out


def assert_exact(sym, report, shape):
    """Every formula of ``sym`` at ``shape`` against the real count ``report``."""
    at = sym.at(**shape)
    assert (at.macs, at.flops, at.params, at.bytes) == (report.macs, report.flops, report.params, report.bytes)
    modules, module_bytes = report.by_module(), report.by_module_bytes()
    for path, costs in sym.by_module().items():
        assert costs.macs(**shape) == modules[path].macs, path
        assert costs.flops(**shape) == modules[path].flops, path
        assert costs.bytes(**shape) == module_bytes[path].total, path
        assert costs.params(**shape) == report.modules[path].params, path
    ops, op_bytes = report.by_operator(), report.by_operator_bytes()
    for op, costs in sym.by_operator().items():
        c = ops.get(op, flowflops.Cost())
        assert (costs.macs(**shape), costs.flops(**shape)) == (c.macs, c.flops), op
        assert costs.bytes(**shape) == op_bytes[op].total, op
    assert set(ops) <= set(sym.by_operator())


# -- the GPT-style decoder in (B, T) ------------------------------------------------------------

def test_decoder_equals_real_counts_at_unused_shapes(gpt):
    model, sym = gpt
    for shape in unused_shapes(sym, {"B": range(1, 7), "T": range(1, 17)}, 3):
        report = flowflops.profile(model, (shape["B"], shape["T"]), input_constructor=ids, mode="graph")
        assert_exact(sym, report, shape)


def test_decoder_linear_closed_form(gpt):
    _, sym = gpt
    d = 32
    qkv = sym.by_module()["qkv"]
    # a Linear d -> 3d on B*T tokens: B*T*d*3d multiply-accumulates plus B*T*3d bias adds
    assert qkv.macs == Formula(("B", "T"), {(1, 1): d * 3 * d + 3 * d})  # 3072 + 96 = 3168
    # FLOPs: 2 per multiply-accumulate, 1 per bias add: 2*3072 + 96 = 6240
    assert qkv.flops == Formula(("B", "T"), {(1, 1): 2 * d * 3 * d + 3 * d})
    assert qkv.params == Formula(("B", "T"), {(0, 0): d * 3 * d + 3 * d})
    # the head: Linear d -> vocab without bias: B*T*32*100
    assert sym.by_module()["head"].macs == Formula(("B", "T"), {(1, 1): 32 * 100})


def test_decoder_attention_is_quadratic_in_T(gpt):
    _, sym = gpt
    heads, dh = 4, 8
    scores = sym.by_operator()["batch_matmul"].macs
    # q @ k^T and att @ v: each B*heads*T*T*dh multiply-accumulates -> 2*4*8 = 64 * B*T^2
    assert scores == Formula(("B", "T"), {(1, 2): 2 * heads * dh})
    assert scores.degree("T") == 2 and scores.degree("B") == 1
    # the whole model's B*T^2 term: the two matmuls (64), and per score (B*4*T^2 of them) one
    # scale multiply, one mask add, one softmax op (1 each in the seed's convention): 64 + 3*4
    assert sym.macs.coefficient(B=1, T=2) == 64 + 3 * heads
    assert sym.macs.degree() == 3


def test_decoder_domain_is_enforced(gpt):
    _, sym = gpt
    assert sym.macs(B=1, T=16) >= 0
    with pytest.raises(ValueError, match="T=17 is outside"):
        sym.macs(B=1, T=17)
    with pytest.raises(ValueError, match="B=0 is outside"):
        sym.macs(B=0, T=4)
    with pytest.raises(TypeError, match="B, T as keywords"):
        sym.macs(B=1)
    with pytest.raises(TypeError, match="must be an int"):
        sym.macs(B=1.5, T=2)


def test_formula_text_is_an_exact_python_expression(gpt):
    _, sym = gpt
    for f in (sym.macs, sym.flops, sym.bytes, sym.params, sym.by_module()["ln1"].macs):
        for b, t in ((1, 1), (3, 7), (5, 16)):
            value = eval(str(f), {}, {"B": Fraction(b), "T": Fraction(t)})
            assert value == f(B=b, T=t)


def test_json_round_trip(gpt):
    _, sym = gpt
    back = Symbolic.from_json(sym.to_json())
    assert back.macs == sym.macs and back.bytes == sym.bytes
    assert back.by_module()["qkv"].flops == sym.by_module()["qkv"].flops
    assert back.by_operator()["softmax"].macs == sym.by_operator()["softmax"].macs
    assert back.macs(B=2, T=9) == sym.macs(B=2, T=9)
    with pytest.raises(ValueError, match="outside"):
        back.macs(B=2, T=17)


# -- a small CNN in (B, H, W) --------------------------------------------------------------------

def test_cnn_closed_forms(cnn):
    _, sym = cnn
    dims = ("B", "H", "W")
    # conv: output (H/2)(W/2) positions x 8 channels, each 3*3*3 = 27 MACs, plus one bias add:
    # B * H*W/4 * 8 * (27 + 1) = 56 * B*H*W
    assert sym.by_module()["0"].macs == Formula(dims, {(1, 1, 1): 56})
    # the Linear 8 -> 10 after the pool: B*(8*10 + 10) = 90*B, whatever the image size
    assert sym.by_module()["5"].macs == Formula(dims, {(1, 0, 0): 90})
    assert str(sym.by_module()["0"].macs) == "56*B*H*W"
    assert sym.by_module()["0"].macs.to_latex() == "56 B H W"
    assert sym.params == Formula(dims, {(0, 0, 0): 8 * 27 + 8 + 2 * 8 + 8 * 10 + 10})


def test_cnn_equals_real_counts_at_unused_shapes(cnn):
    model, sym = cnn
    for shape in unused_shapes(sym, {"B": range(1, 6), "H": range(2, 40, 2), "W": range(2, 40, 2)}, 3):
        report = flowflops.profile(model, sym.shape(**shape), mode="graph")
        assert_exact(sym, report, shape)


def test_cnn_outside_domain_raises(cnn):
    _, sym = cnn
    with pytest.raises(ValueError, match="H=5 is outside.*H a multiple of 2"):
        sym.macs(B=1, H=5, W=4)


def test_a_stride_without_domain_raises_naming_the_module():
    # stride 2 without a domain: the output side is ceil(H/2), not one polynomial in H
    with pytest.raises(CountError, match=r"module '0'.*not a polynomial of degree <= 2 in H.*domain="):
        flowflops.symbolic(small_cnn(), ("B", 3, "H", "W"), max_degree=2)


def test_eager_mode_and_another_convention(cnn):
    model, _ = cnn
    sym = flowflops.symbolic(model, (1, 3, "S", "S"), domain={"S": 2}, mode="eager", convention="fvcore", checks=1)
    assert sym.dims == ("S",)
    for s in (12, 30):
        r = flowflops.profile(model, (1, 3, s, s), mode="eager", convention="fvcore")
        assert sym.macs(S=s) == r.macs and sym.flops(S=s) == r.flops


def test_markdown_and_latex(cnn):
    _, sym = cnn
    md = sym.to_markdown()
    assert "| 0 | Conv2d | `56*B*H*W` |" in md
    assert sym.to_latex().startswith(r"\mathrm{MACs}(B, H, W) = ")


def test_bad_arguments():
    m = small_cnn()
    with pytest.raises(ValueError, match="names no size"):
        flowflops.symbolic(m, (1, 3, 8, 8))
    with pytest.raises(ValueError, match="does not"):
        flowflops.symbolic(m, ("B", 3, 8, 8), domain={"H": 2})
    with pytest.raises(ValueError, match="identifier"):
        flowflops.symbolic(m, ("B", 3, "my size", 8))
    with pytest.raises(TypeError, match="domain"):
        flowflops.symbolic(m, ("B", 3, 8, 8), domain={"B": 2.5})


# -- the fitting itself --------------------------------------------------------------------------

def test_interpolate_recovers_a_known_polynomial():
    # p(x, y) = 3/2 x^2 y - 5 y + 7, on the grid x in {1, 2, 3}, y in {4, 6}
    def p(x, y):
        return Fraction(3, 2) * x * x * y - 5 * y + 7

    grid = [[1, 2, 3], [4, 6]]
    values = {(x, y): p(x, y) for x in grid[0] for y in grid[1]}
    assert interpolate(grid, values) == {(2, 1): Fraction(3, 2), (0, 1): Fraction(-5), (0, 0): Fraction(7)}


def test_counts_taken(gpt, cnn):
    # the CNN is linear in B, H and W: the first guess (degree 1 each) holds, so 2 values per size
    # on the grid, 2*2*2 = 8 counts, and the default check at the smallest sizes (1, 2, 2): 9
    assert cnn[1].counts == 2 * 2 * 2 + 1 and cnn[1].check_points == [{"B": 1, "H": 2, "W": 2}]
    # the decoder is quadratic in T: the guess (a 2 x 2 grid, 4 counts, and the check at (1, 1))
    # misses; along the axes through (B, T) = (2, 2): B = 4 (1 count) shows degree 1, T = 4, 5
    # (2 counts) degree 2; the 2 x 3 grid then needs (B, T) = (3, 4) (1 count): 4 + 1 + 3 + 1 = 9
    assert gpt[1].counts == 9 and gpt[1].macs.degree("T") == 2
    # checks=2 adds one shape drawn off the grid in every size: B and T in {1, 4, 5}, not (1, 1)
    two = flowflops.symbolic(cnn[0], ("B", 3, "H", "W"), domain={"H": 2, "W": 2}, checks=2)
    assert two.counts == 10 and two.macs == cnn[1].macs
    (drawn,) = [p for p in two.check_points if p != {"B": 1, "H": 2, "W": 2}]
    assert drawn["B"] in (1, 4, 5) and drawn["H"] in (2, 8, 10) and drawn["W"] in (2, 8, 10)
    # checks=0: every degree is found along its axis first (the base and 2 more per size: 7),
    # then the grid's 8 corners, 4 of them new: 11; the axis counts off the grid check the fit
    model, sym = cnn
    lean = flowflops.symbolic(model, ("B", 3, "H", "W"), domain={"H": 2, "W": 2}, checks=0)
    assert lean.counts == 1 + 3 * 2 + 4 and len(lean.check_points) == 3
    assert lean.macs == sym.macs and lean.bytes == sym.bytes


# -- a training step in B ------------------------------------------------------------------------

def test_training_step_in_batch():
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = flow.optim.SGD(model.parameters(), lr=0.1)
    # a batch of 1 is priced differently in a training graph (its bias gradients need no sum
    # over the batch): B from 2 up is one polynomial, and the check at the smallest size says so
    with pytest.raises(CountError, match="module '0'.*does not follow one polynomial in B.*at B=1"):
        flowflops.symbolic(model, ("B", 16), mode="train", optimizer=opt, checks=1)
    sym = flowflops.symbolic(model, ("B", 16), mode="train", optimizer=opt, domain={"B": range(2, 1 << 20)})
    for b in (7, 12):
        step = flowflops.profile(model, (b, 16), mode="train", optimizer=opt)
        assert (sym.macs(B=b), sym.flops(B=b), sym.bytes(B=b)) == (step.macs, step.flops, step.bytes)
    assert sym.macs.degree("B") == 1
    # the forward of the first Linear, B*16*32 MACs and B*32 bias adds, is inside module '0''s cost
    assert sym.by_module()["0"].macs.coefficient(B=1) > 16 * 32 + 32
    with pytest.raises(ValueError, match="B=1 is outside"):
        sym.macs(B=1)


# -- the zoo (slow: 13 counts of resnet18) --------------------------------------------------------

@pytest.mark.slow
def test_resnet18_in_batch_and_image_size():
    import flowvision

    model = flowvision.models.resnet18()
    sym = flowflops.symbolic(model, ("B", 3, "H", "W"), domain={"H": 32, "W": 32})
    # conv1: 7x7, 3 -> 64, stride 2, no bias: (H/2)(W/2) positions * 64 * 3*49 = 2352*B*H*W
    assert sym.by_module()["conv1"].macs == Formula(("B", "H", "W"), {(1, 1, 1): 64 * 3 * 49 // 4})
    # the classifier: Linear 512 -> 1000 with bias: B*(512*1000 + 1000)
    assert sym.by_module()["fc"].macs == Formula(("B", "H", "W"), {(1, 0, 0): 513_000})
    for shape in unused_shapes(sym, {"B": range(1, 4), "H": range(32, 257, 32), "W": range(32, 257, 32)}, 2):
        report = flowflops.profile(model, sym.shape(**shape), mode="graph")
        assert_exact(sym, report, shape)


@pytest.mark.slow
def test_mobilenet_v2_in_batch_and_image_size():
    import flowvision

    model = flowvision.models.mobilenet_v2()
    sym = flowflops.symbolic(model, ("B", 3, "H", "W"), domain={"H": 32, "W": 32})
    # the first conv: 3x3, 3 -> 32, stride 2, no bias: (H/2)(W/2) * 32 * 27 = 216*B*H*W
    assert sym.by_module()["features.0.0"].macs == Formula(("B", "H", "W"), {(1, 1, 1): 32 * 27 // 4})
    for shape in unused_shapes(sym, {"B": range(1, 4), "H": range(32, 257, 32), "W": range(32, 257, 32)}, 2):
        report = flowflops.profile(model, sym.shape(**shape), mode="graph")
        assert_exact(sym, report, shape)


# -- MFUMeter with a formula ---------------------------------------------------------------------

def test_mfu_meter_charges_each_step_its_shape(gpt):
    _, sym = gpt
    fast = flowflops.Device("toy", {"fp32": 1e18}, 1e9, 1e9, "test", kind="cpu")  # no figure above its peak
    meter = flowflops.MFUMeter(sym, device=fast, warmup=0, synchronize=False)
    docs = [{"B": 1, "T": 5}, {"B": 1, "T": 9}]  # a packed step: two documents of 5 and 9 tokens
    for _ in range(3):
        meter.step(batch_size=2, shapes=docs)
    meter.step(batch_size=4, T=7)  # B defaults to batch_size
    s = meter.summary()
    # the first step only starts the clock: timed are two packed steps and the B=4, T=7 one
    expected = 2 * (sym.flops(B=1, T=5) + sym.flops(B=1, T=9)) + sym.flops(B=4, T=7)
    assert s.steps == 3
    assert s.achieved_flops * s.seconds_per_step * s.steps == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="T=40 is outside"):
        meter.step(batch_size=1, T=40)
    plain = flowflops.MFUMeter(flowflops.profile(nn.Linear(4, 4), (2, 4), mode="train"), device=fast, warmup=0)
    with pytest.raises(TypeError, match="only with a formula"):
        plain.step(batch_size=2, T=3)


# -- the command line ---------------------------------------------------------------------------

def test_cli_symbolic(tmp_path, capsys):
    from flowflops.cli.command import run

    args = ["tests.test_symbolic:small_cnn", "--input-shape", "B,3,H,W", "--symbolic", "--domain", "H=2,W=2",
            "--mode", "graph"]
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "H a multiple of 2" in out
    assert "0 (Conv2d): 56*B*H*W" in out  # the closed form of test_cnn_closed_forms
    path = tmp_path / "sym.json"
    assert run(args + ["--format", "json", "--output", str(path)]) == 0
    back = Symbolic.from_json(path.read_text())
    assert back.by_module()["0"].macs == Formula(("B", "H", "W"), {(1, 1, 1): 56})
    assert run(["tests.test_symbolic:small_cnn", "--input-shape", "1,3,8,8", "--symbolic"]) == 2
    assert "names no size" in capsys.readouterr().err
    assert run(args[:-2] + ["--mode", "both"]) == 2
    assert run(args[:4] + ["--domain", "H=two"]) == 2
    assert "bad --domain" in capsys.readouterr().err


def test_cli_domain_and_split_without_symbolic_are_refused(capsys):
    # they shape --symbolic's formulas; without --symbolic they would be ignored: exit 2, naming the fix
    from flowflops.cli.command import run

    base = ["tests.test_symbolic:small_cnn", "--input-shape", "1,3,8,8", "--mode", "graph"]
    for extra, named in ((["--domain", "H=2"], "--domain only go"), (["--split", "H=2"], "--split only go"),
                         (["--domain", "H=2", "--split", "H=2"], "--domain and --split only go")):
        assert run(base + extra) == 2
        err = capsys.readouterr().err
        assert named in err and "add --symbolic" in err
    assert run(base) == 0  # the same count without them


# -- a decode step in (B, L): the reference decoder against a cache of L positions ----------------

def test_decode_step_is_linear_in_the_cache_length():
    from flowflops.models import Decoder

    model = Decoder(layers=1, hidden=32, heads=4, ffn=64, vocab=64)
    step = flowflops.symbolic(model, ("B", "L"), input_constructor=lambda s: {
        "idx": flow.zeros(s[0], 1, dtype=flow.int64), "past": model.empty_cache(s[0], s[1])}, checks=1)
    # one new token attends to L + 1 keys: q.K^T and att.V, each B*heads*(L+1)*head_dim = B*(L+1)*32
    # multiply-accumulates (1 layer): 64*B*L + 64*B
    assert step.by_operator()["batch_matmul"].macs == Formula(("B", "L"), {(1, 1): 64, (1, 0): 64})
    assert step.macs.degree("L") == 1
    r = flowflops.profile(model, None, input_constructor=lambda _: {
        "idx": flow.zeros(3, 1, dtype=flow.int64), "past": model.empty_cache(3, 37)}, mode="graph")
    assert (step.macs(B=3, L=37), step.flops(B=3, L=37), step.bytes(B=3, L=37)) == (r.macs, r.flops, r.bytes)


# -- the reference decoder with L layers: attention's 2*L*T^2*d ----------------------------------

def test_decoder_attention_term_is_2_L_T2_d():
    from flowflops.models import Decoder

    L, d = 3, 32
    model = Decoder(layers=L, hidden=d, heads=4, ffn=64, vocab=64)
    tokens = lambda s: {"idx": flow.zeros(*s, dtype=flow.int64)}  # noqa: E731
    sym = flowflops.symbolic(model, ("B", "T"), input_constructor=tokens, domain={"T": range(2, 4097)}, checks=1)
    # per layer q.K^T and att.V: each B * heads * T * T * head_dim = B*T^2*d multiply-accumulates:
    # 2*L*d per B*T^2, and nothing else in the batched matmuls
    assert sym.by_operator()["batch_matmul"].macs == Formula(("B", "T"), {(1, 2): 2 * L * d})
    # each projection q, k, v, o: a Linear d -> d without bias on B*T tokens: B*T*d*d
    assert sym.by_module()["blocks.1.attn.q"].macs == Formula(("B", "T"), {(1, 1): d * d})
    # the SwiGLU MLP's three Linears d -> 64, d -> 64, 64 -> d: B*T*3*64*d, plus the elementwise
    # product silu(gate) * up, 1 per element of the 64-wide hidden: B*T*64; plus SiLU itself (1 each)
    mlp = sym.by_module()["blocks.0.mlp"].macs
    assert mlp.coefficient(B=1, T=1) == 3 * 64 * d + 64 + 64 and mlp.degree() == 2
    r = flowflops.profile(model, (2, 29), input_constructor=tokens, mode="graph")
    assert (sym.macs(B=2, T=29), sym.flops(B=2, T=29)) == (r.macs, r.flops)


# -- a timm and a Hugging Face model (the torch-models extra) ------------------------------------

def _have_extra():
    import importlib.util

    return all(importlib.util.find_spec(p) is not None for p in ("timm", "transformers"))


@pytest.mark.slow
@pytest.mark.skipif(not _have_extra(), reason="the torch-models extra is not installed: `make torch-models`")
def test_timm_model_in_batch_and_image_size():
    from flowflops import torch_models as tm

    with tm.mocked_torch():
        built = tm.build("timm:regnety_002")
        model = built.model
        # from 64 up: at H = W = 32 the last stage's maps are 1x1 and its squeeze-excite modules
        # cost otherwise (the fit raises there, naming 's4.b1.se')
        sizes = range(64, 1 << 16, 32)
        sym = flowflops.symbolic(model, ("B", 3, "H", "W"), domain={"H": sizes, "W": sizes})
        # the stem: conv 3 -> 32, 3x3, stride 2, pad 1, no bias: (H/2)(W/2) * 32 * 27 = 216*B*H*W;
        # its BN (2 per element, affine) and ReLU (1): 3 * 32 * (H/2)(W/2) = 24*B*H*W
        assert sym.by_module()["stem.conv"].macs == Formula(("B", "H", "W"), {(1, 1, 1): 32 * 27 // 4})
        assert sym.by_module()["stem.bn"].macs == Formula(("B", "H", "W"), {(1, 1, 1): 3 * 32 // 4})
        # at timm's default input (1, 3, 224, 224), the stem conv: 3*3*3 * 32*112*112
        assert sym.by_module()["stem.conv"].macs(B=1, H=224, W=224) == 3 * 3 * 3 * 32 * 112 * 112
        for shape in unused_shapes(sym, {"B": range(1, 4), "H": range(64, 257, 32), "W": range(64, 257, 32)}, 1):
            assert_exact(sym, flowflops.profile(model, sym.shape(**shape), mode="graph"), shape)


@pytest.mark.slow
@pytest.mark.skipif(not _have_extra(), reason="the torch-models extra is not installed: `make torch-models`")
def test_hf_gpt2_in_batch_and_length():
    from flowflops import torch_models as tm

    L, d = 2, 64
    cfg = {"n_layer": L, "n_embd": d, "n_head": 4, "vocab_size": 1000, "n_positions": 64}
    with tm.mocked_torch():
        built = tm.build("hf:gpt2", cfg)
        model, ic = built.model, built.input_constructor
        # B from 2: a batch of 1 compiles to another sum of the residual adds (add_n: the fit
        # raises at B = 1, naming it)
        sym = flowflops.symbolic(model, ("B", "T"), input_constructor=ic,
                                 domain={"B": range(2, 1 << 20), "T": range(1, 65)})
        # attention per layer: q.K^T and att.V, each B * heads * T * T * head_dim = B*T^2*d
        assert sym.by_operator()["batch_matmul"].macs.coefficient(B=1, T=2) == 2 * L * d
        # c_fc (as in test_torch_models): torch.addmm(bias, x, W) on B*T tokens, 64 -> 256, run by
        # OneFlow as bias*beta (256, once) + (x @ W)*alpha (B*T*256) + their sum (B*T*256)
        assert sym.by_module()["h.0.mlp.c_fc"].macs == Formula(("B", "T"), {(1, 1): d * 256 + 2 * 256, (0, 0): 256})
        for shape in unused_shapes(sym, {"B": range(2, 6), "T": range(1, 65)}, 1):
            assert_exact(sym, flowflops.profile(model, sym.shape(**shape), input_constructor=ic, mode="graph"), shape)


# -- diff: B - A formula by formula --------------------------------------------------------------

def test_diff_of_two_models_formulas(cnn):
    _, a = cnn
    b = flowflops.symbolic(wide_cnn(), ("B", 3, "H", "W"), domain={"H": 4, "W": 2})
    d = a.diff(b, ("8 channels", "16 channels"))
    dims = ("B", "H", "W")
    # the conv: (H/2)(W/2) * channels * (27 + 1): 16 channels 112*B*H*W, 8 channels 56*B*H*W
    assert d.modules()["0"].delta.macs == Formula(dims, {(1, 1, 1): 112 - 56})
    # the Linear: B*(16*10 + 10) against B*(8*10 + 10)
    assert d.modules()["5"].delta.macs == Formula(dims, {(1, 0, 0): 170 - 90})
    # parameters: conv 27*c + c, BN 2c, Linear 10c + 10: 40c + 10; c = 16 against 8: 320
    assert d.total.params == Formula(dims, {(0, 0, 0): 40 * 8})
    assert d.modules()["4"].status == "same" and d.modules()["0"].status == "changed"
    # the difference holds where both fits do: H a multiple of 4 (and of 2), W a multiple of 2
    assert d.domain["H"] == range(4, 2 ** 62, 4) and d.domain["W"] == range(2, 2 ** 62, 2)
    assert d.total.macs(B=2, H=8, W=6) == b.macs(B=2, H=8, W=6) - a.macs(B=2, H=8, W=6)
    with pytest.raises(ValueError, match="H=6 is outside"):
        d.total.macs(B=2, H=6, W=6)
    text = d.to_text()
    assert "16 channels - 8 channels" in text and "0 [changed]: 56*B*H*W" in text and "4 [same]" not in text


def test_diff_domains_and_mismatched_sizes(gpt, cnn):
    from flowflops.tools.symbolic import common_sizes

    assert common_sizes("H", range(3, 100, 3), range(2, 100, 2)) == range(6, 100, 6)
    assert common_sizes("T", range(1, 17), range(2, 4097)) == range(2, 17)
    assert common_sizes("H", range(5, 100, 4), range(3, 100, 6)) == range(9, 100, 12)  # 9 = 5 + 4 = 3 + 6
    with pytest.raises(ValueError, match="share no size of H"):
        common_sizes("H", range(1, 100, 2), range(2, 100, 2))
    with pytest.raises(ValueError, match="different sizes"):
        gpt[1].diff(cnn[1])


def test_cli_diff_of_two_symbolic_files(tmp_path, capsys):
    from flowflops.cli.command import run

    paths = []
    for factory in ("small_cnn", "wide_cnn"):
        paths.append(str(tmp_path / f"{factory}.json"))
        assert run([f"tests.test_symbolic:{factory}", "--input-shape", "B,3,H,W", "--symbolic", "--domain",
                    "H=2,W=2", "--format", "json", "--output", paths[-1]]) == 0
    capsys.readouterr()
    assert run(["diff", *paths]) == 0
    out = capsys.readouterr().out
    assert "0 [changed]: 56*B*H*W" in out and "5 [changed]: 80*B" in out  # as in the test above
    assert run(["diff", *paths, "--format", "markdown"]) == 2
    report = str(tmp_path / "report.json")
    assert run(["tests.test_symbolic:small_cnn", "--input-shape", "1,3,8,8", "--format", "json",
                "--output", report]) == 0
    capsys.readouterr()
    assert run(["diff", paths[0], report]) == 2
    assert "not one of each" in capsys.readouterr().err


# -- piecewise: one polynomial per residue class --------------------------------------------------

def test_piecewise_by_parity_of_a_stride_2_size():
    from flowflops.tools.symbolic import PiecewiseSymbolic, piecewise

    model = small_cnn()
    pw = piecewise(model, (1, 3, "H", 8), split={"H": 2})
    conv = pw.by_module()["0"].macs
    # stride 2, pad 1, 3x3: ceil(H/2) x ceil(8/2) = 4 output positions per row, 8 channels, 27 MACs
    # + 1 bias add each: 896*ceil(H/2): odd H (the domain's 1st, 3rd... size: class 0) 448*(H + 1),
    # even H (class 1) 448*H
    assert conv.pieces[(0,)] == Formula(("H",), {(1,): 448, (0,): 448})
    assert conv.pieces[(1,)] == Formula(("H",), {(1,): 448})
    assert conv(H=7) == 896 * 4 and conv(H=8) == 896 * 4
    assert pw.by_module()["5"].macs(H=13) == 8 * 10 + 10  # the Linear after the pool
    for h in (11, 14):  # no piece counted these
        assert h not in {p["H"] for s in pw.pieces.values() for p in s.fit_points + s.check_points}
        r = flowflops.profile(model, (1, 3, h, 8), mode="graph")
        at = pw.at(H=h)
        assert (at.macs, at.flops, at.params, at.bytes) == (r.macs, r.flops, r.params, r.bytes)
        assert pw.piece(H=h).by_module()["0"].macs(H=h) == r.by_module()["0"].macs
    text = str(conv)
    assert "H = 1 + a multiple of 2: 448*H + 448" in text and "H a multiple of 2: 448*H" in text
    with pytest.raises(ValueError, match="H=0 is outside"):
        conv(H=0)
    back = PiecewiseSymbolic.from_dict(pw.to_dict())
    assert back.macs(H=9) == pw.macs(H=9) and back.by_module()["0"].macs == conv
    with pytest.raises(ValueError, match="split names 'W'"):
        piecewise(model, (1, 3, "H", 8), split={"W": 2})
    # MFUMeter charges each step its own piece (the first step only starts the clock)
    fast = flowflops.Device("toy", {"fp32": 1e18}, 1e9, 1e9, "test", kind="cpu")
    meter = flowflops.MFUMeter(pw, device=fast, warmup=0, synchronize=False)
    for h in (7, 7, 8):
        meter.step(batch_size=1, H=h)
    s = meter.summary()
    assert s.achieved_flops * s.seconds_per_step * s.steps == pytest.approx(pw.flops(H=7) + pw.flops(H=8), rel=1e-9)


def test_cli_symbolic_split(capsys):
    from flowflops.cli.command import run

    args = ["tests.test_symbolic:small_cnn", "--input-shape", "1,3,H,8", "--symbolic", "--split", "H=2"]
    assert run(args) == 0
    out = capsys.readouterr().out
    # the closed forms of test_piecewise_by_parity_of_a_stride_2_size, one per class
    assert "where H = 1 + a multiple of 2:" in out and "0 (Conv2d): 448*H + 448" in out
    assert "where H a multiple of 2:" in out and "0 (Conv2d): 448*H\n" in out + "\n"
    assert run(args[:-1] + ["H=two"]) == 2
    assert "bad --split" in capsys.readouterr().err
    # LaTeX and Markdown as for one formula: each class under its domain
    assert run(args + ["--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert out.count(r"\begin{cases}") == 4 and out.startswith(r"\mathrm{MACs}(H) = \begin{cases} ")
    assert r"& H \equiv 1 \pmod{2} \\ " in out and r"& H \equiv 0 \pmod{2} \end{cases}" in out
    assert run(args + ["--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "**Where H = 1 + a multiple of 2:**" in out and "| 0 | Conv2d | `448*H + 448` |" in out
    assert "**Where H a multiple of 2:**" in out and "| 0 | Conv2d | `448*H` |" in out


def test_piecewise_latex_markdown_and_diff():
    from flowflops.render.symbolic import domain_latex
    from flowflops.tools.symbolic import PiecewiseDiff, Piecewise, piecewise

    big = 2 ** 62
    # the classes in LaTeX: residue, then a lower bound where the class starts above its first
    # positive size (B from 2 up, odd: 3, 5, ...), an upper bound where there is one
    assert domain_latex("H", range(1, big, 2)) == r"H \equiv 1 \pmod{2}"
    assert domain_latex("H", range(2, big, 2)) == r"H \equiv 0 \pmod{2}"
    assert domain_latex("H", range(32, big, 32)) == r"H \equiv 0 \pmod{32}"
    assert domain_latex("B", range(3, big, 2)) == r"B \equiv 1 \pmod{2},\ B \geq 3"
    assert domain_latex("T", range(1, 17)) == r"1 \leq T \leq 16"
    assert domain_latex("T", range(2, big)) == r"T \geq 2"
    assert domain_latex("H", range(2, 11, 4)) == r"H \equiv 2 \pmod{4},\ H \leq 10"

    narrow, wide = (piecewise(m, (1, 3, "H", 8), split={"H": 2}) for m in (small_cnn(), wide_cnn()))
    # the conv as in test_piecewise_by_parity_of_a_stride_2_size: 8 channels 896*ceil(H/2) (odd H
    # 448*H + 448, even 448*H); 16 channels 1792*ceil(H/2) (odd 896*H + 896, even 896*H)
    conv = narrow.by_module()["0"].macs
    assert conv.to_latex() == (r"\begin{cases} 448 H + 448 & H \equiv 1 \pmod{2} \\ "
                               r"448 H & H \equiv 0 \pmod{2} \end{cases}")
    assert Piecewise.from_dict(conv.to_dict()) == conv
    assert narrow.to_latex("params").startswith(r"\mathrm{params}(H) = \begin{cases} ")
    md = narrow.to_markdown()
    assert md.index("**Where H = 1 + a multiple of 2:**") < md.index("| 0 | Conv2d | `448*H + 448` |") \
        < md.index("**Where H a multiple of 2:**") < md.index("| 0 | Conv2d | `448*H` |")

    # B - A class by class: the conv (896 - 448)*H + (896 - 448) for odd H, 448*H for even; the
    # Linear 16*10 + 10 against 8*10 + 10: +80 in both; parameters 40*c + 10 (as in
    # test_diff_of_two_models_formulas): +320 in both
    d = narrow.diff(wide, ("8 channels", "16 channels"))
    assert isinstance(d, PiecewiseDiff) and sorted(d.pieces) == [(0,), (1,)]
    odd, even = d.pieces[(0,)], d.pieces[(1,)]
    assert odd.modules()["0"].delta.macs == Formula(("H",), {(1,): 448, (0,): 448})
    assert even.modules()["0"].delta.macs == Formula(("H",), {(1,): 448})
    for part in (odd, even):
        assert part.modules()["5"].delta.macs == Formula(("H",), {(0,): 80})
        assert part.total.params == Formula(("H",), {(0,): 320})
    assert d.piece(H=9) is odd and d.piece(H=10) is even
    text = d.to_text()
    assert text.index("where H = 1 + a multiple of 2:") < text.index("0 [changed]: 448*H + 448") \
        < text.index("where H a multiple of 2:") < text.index("0 [changed]: 448*H\n")
    assert [k for k, _ in d.to_dict()["pieces"]] == [[0], [1]]
    # one formula for even H against the split: only the even class has a difference
    plain = flowflops.symbolic(small_cnn(), (1, 3, "H", 8), domain={"H": 2})
    mixed = plain.diff(wide)
    assert sorted(mixed.pieces) == [(1,)]
    assert mixed.pieces[(1,)].modules()["0"].delta.macs == even.modules()["0"].delta.macs
    with pytest.raises(ValueError, match="split differently"):
        narrow.diff(piecewise(small_cnn(), (1, 3, "H", 8), split={"H": 2}, domain={"H": range(2, big)}))


def test_cli_diff_of_two_piecewise_files(tmp_path, capsys):
    from flowflops.cli.command import run

    paths = []
    for factory in ("small_cnn", "wide_cnn"):
        paths.append(str(tmp_path / f"{factory}.json"))
        assert run([f"tests.test_symbolic:{factory}", "--input-shape", "1,3,H,8", "--symbolic", "--split", "H=2",
                    "--format", "json", "--output", paths[-1]]) == 0
    capsys.readouterr()
    assert run(["diff", *paths]) == 0
    out = capsys.readouterr().out  # as in test_piecewise_latex_markdown_and_diff
    assert "where H = 1 + a multiple of 2:" in out and "0 [changed]: 448*H + 448" in out
    assert "where H a multiple of 2:" in out and "5 [changed]: 80" in out
    assert run(["diff", *paths, "--format", "json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert [k for k, _ in data["pieces"]] == [[0], [1]]


@pytest.mark.slow
def test_piecewise_in_height_and_width():
    from flowflops.tools.symbolic import piecewise

    model = small_cnn()
    pw = piecewise(model, (1, 3, "H", "W"), split={"H": 2, "W": 2})
    # 224 * ceil(H/2) * ceil(W/2) (8 channels x 28): both odd 56*(H + 1)*(W + 1)
    assert pw.by_module()["0"].macs.pieces[(0, 0)] == Formula(("H", "W"), {(1, 1): 56, (1, 0): 56, (0, 1): 56,
                                                                            (0, 0): 56})
    # H even, W odd: 56*H*(W + 1)
    assert pw.by_module()["0"].macs.pieces[(1, 0)] == Formula(("H", "W"), {(1, 1): 56, (1, 0): 56})
    for h, w in ((9, 12), (14, 5), (13, 15)):
        r = flowflops.profile(model, (1, 3, h, w), mode="graph")
        assert (pw.macs(H=h, W=w), pw.flops(H=h, W=w), pw.bytes(H=h, W=w)) == (r.macs, r.flops, r.bytes)
