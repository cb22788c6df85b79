"""Language models: the reference decoder counted by hand (prefill, decode step; dense, causal,
window), equal in eager+functional and graph mode; generation, sweeps, MoE, big models."""
import oneflow as flow
import pytest

import flowflops
from flowflops.tools import llm
from flowflops.errors import CountError
from flowflops.models import Decoder, DecoderConfig
from flowflops.rules.sparsity import kept_pairs, parse_attention


def decoder_macs(B, T, L, V=256, layers=2, d=64, H=4, G=4, f=256, pairs=None, gpt2=False):
    """MACs of the reference decoder on ``T`` new tokens against a cache of ``L``, batch ``B``,
    counted by hand: LLaMA-style (RMSNorm, rotary, SwiGLU, no biases), or with ``gpt2``
    GPT-2-style (LayerNorm, learned positions, GELU, biases).

    Per layer, rows = B*T: two norms (RMSNorm: x*x, the mean's sum, x*r, *weight: 4 per
    element; the mean's scale, + eps, rsqrt: 3 per row. LayerNorm: 6 per element, 3 per row, as
    in test_transformers.py); the q, k, v, o projections (d*H*dh, d*G*dh twice, H*dh*d per row, and
    with biases one add per output); rotary on q and k (x*cos, swap*sin, +: 3 per element);
    the scores q@k^T and att@v (dh per (query, key) pair and head), the scale and the softmax
    (1 per pair and head) and, for more than one new token, the mask add (1 more); two residual
    adds (d per row); SwiGLU: gate, up, down (d*f each per row), silu and the product (f each
    per row); GELU MLP: up and down (d*f each, + f and + d bias adds) and the GELU (f). Then a
    final norm and the head (d*V per row); GPT-2 adds the position embeddings (d per row).
    ``pairs``: the (query, key) pairs computed per head, T*(L+T) when dense."""
    dh, S, rows = d // H, L + T, B * T
    pairs = T * S if pairs is None else pairs
    norm = (6 * rows * d + 3 * rows) if gpt2 else (4 * rows * d + 3 * rows)
    proj = rows * d * (H + 2 * G) * dh + rows * H * dh * d
    if gpt2:
        proj += rows * ((H + 2 * G) * dh + d)
    core = 2 * B * H * pairs * dh + B * H * pairs * (3 if T > 1 else 2)
    rot = 0 if gpt2 else 3 * B * T * (H + G) * dh
    mlp = (2 * rows * d * f + rows * (f + d) + rows * f) if gpt2 else (3 * rows * d * f + 2 * rows * f)
    layer = 2 * norm + proj + rot + core + 2 * rows * d + mlp
    return layers * layer + norm + rows * d * V + (rows * d if gpt2 else 0)


def small(**kw):
    return Decoder(DecoderConfig(**kw))


@pytest.fixture(scope="module")
def model():
    flow.manual_seed(0)
    return small()


def both(model, tokens, cache_len, batch=2, **kw):
    e = llm.count_step(model, tokens=tokens, cache_len=cache_len, batch=batch, mode="eager", **kw)
    g = llm.count_step(model, tokens=tokens, cache_len=cache_len, batch=batch, mode="graph", **kw)
    assert e.unsupported == g.unsupported == {}
    return e, g


@pytest.mark.parametrize("T,L", [(8, 0), (1, 5), (4, 12)])
def test_prefill_and_decode_by_hand_dense_and_causal(model, T, L):
    B = 2
    dense = decoder_macs(B, T, L)
    # causal: query i of T sits at position L + i and sees L + i + 1 keys
    causal = decoder_macs(B, T, L, pairs=sum(L + i + 1 for i in range(T)))
    e, g = both(model, T, L)
    assert e.macs == g.macs == dense
    e, g = both(model, T, L, attention="causal")
    assert e.macs == g.macs == causal
    assert g.upper_bounds.get("dense", g.cost).macs == dense
    # a window of 3: query at position p sees min(p + 1, 3) keys
    e, g = both(model, T, L, attention="window:3")
    assert e.macs == g.macs == decoder_macs(B, T, L, pairs=sum(min(L + i + 1, 3) for i in range(T)))


def test_a_single_token_needs_no_mask_so_causal_equals_dense(model):
    assert kept_pairs(1, 17) == 17
    d, c = (llm.decode_step(model, 16, batch=2, attention=a).macs for a in ("dense", "causal"))
    assert d == c == decoder_macs(2, 1, 16)


def test_rotary_of_head_dim_equal_to_the_length_is_not_a_score():
    # head_dim 16 and T 16: q's rotary ops have the scores' shape (1, 4, 16, 16); only the
    # chain q@k^T -> scale -> mask -> softmax -> @v is reduced
    m = small()
    r = llm.count_step(m, tokens=16, batch=1, attention="causal")
    assert r.macs == decoder_macs(1, 16, 0, pairs=16 * 17 // 2)


def test_gpt2_style_by_hand_both_modes():
    m = small(norm="layer", positions="learned", mlp="gelu", bias=True)
    e, g = both(m, 8, 0)
    assert e.macs == g.macs == decoder_macs(2, 8, 0, gpt2=True)
    e, g = both(m, 1, 7, attention="causal")
    assert e.macs == g.macs == decoder_macs(2, 1, 7, gpt2=True)


def test_gpt2_medium_shape_by_hand_at_two_layers():
    from flowflops.models import gpt2_medium

    m = Decoder(gpt2_medium(lazy=True, layers=2))
    dims = dict(V=50257, layers=2, d=1024, H=16, G=16, f=4096, gpt2=True)
    assert llm.count_step(m, tokens=8).macs == decoder_macs(1, 8, 0, **dims)
    assert llm.decode_step(m, 40).macs == decoder_macs(1, 1, 40, **dims)


def test_grouped_query_attention_by_hand():
    m = small(kv_heads=2)
    e, g = both(m, 8, 0)
    assert e.macs == g.macs == decoder_macs(2, 8, 0, G=2)
    e, g = both(m, 1, 9)
    assert e.macs == g.macs == decoder_macs(2, 1, 9, G=2)


def test_attention_auto_sees_the_causal_mask_in_the_graph(model):
    r = llm.count_step(model, tokens=8, batch=2, attention="auto")
    assert r.attention == "causal"
    assert r.macs == decoder_macs(2, 8, 0, pairs=36)
    # a ViT block has no mask: auto stays dense
    from flowvision.models.vision_transformer import Block

    blk = Block(dim=32, num_heads=4)
    a = flowflops.profile(blk, (1, 8, 32), mode="graph", attention="auto")
    d = flowflops.profile(blk, (1, 8, 32), mode="graph")
    assert a.attention == "dense" and a.macs == d.macs and a.upper_bounds == {}


def test_bad_attention_and_experts_values():
    for bad in ("sparse", "window:0", "window:x", "window"):
        with pytest.raises(ValueError, match="attention must be"):
            parse_attention(bad)
    with pytest.raises(ValueError, match="experts must be"):
        flowflops.profile(small(), (1, 4), input_constructor=lambda r: flow.zeros(r, dtype=flow.int64),
                          experts="some")


@pytest.mark.slow
def test_moe_active_experts_by_hand():
    # 4 experts, top 2: the dense count runs every expert on every token, the active count
    # exactly two experts' work (3*rows*d*f + 2*rows*f each); router, gates and the
    # gate-weighted sum are the same in both
    E, k, B, T, d, f = 4, 2, 2, 8, 64, 256
    m = small(experts=E, top_k=k)
    rows = B * T
    expert = 3 * rows * d * f + 2 * rows * f
    dense = llm.count_step(m, tokens=T, batch=B)
    active = llm.count_step(m, tokens=T, batch=B, experts="active")
    eager = llm.count_step(m, tokens=T, batch=B, experts="active", mode="eager")
    assert dense.macs - active.macs == 2 * (E - k) * expert  # 2 layers
    assert eager.macs == active.macs
    assert active.upper_bounds["dense"].macs == dense.macs
    # the MoE layer by hand: router rows*d*E, softmax rows*E, the gates' product rows*E, each
    # expert's output * gate rows*d, E-1 adds rows*d
    moe = rows * d * E + 2 * rows * E + E * rows * d + (E - 1) * rows * d
    swiglu = 3 * rows * d * f + 2 * rows * f
    assert dense.macs == decoder_macs(B, T, 0) + 2 * (moe + E * expert - swiglu)


def test_polynomial_fit_is_exact():
    p = llm.fit_polynomial([(0, 3), (1, 6), (2, 11)])  # x^2 + 2x + 3
    assert p == (3, 2, 1)
    assert llm.evaluate(p, 10) == 123


def test_generation_prefill_steps_and_total(model):
    P, N, B = 16, 10, 2
    g = llm.generation(model, P, N, batch=B)
    assert g.prefill.macs == decoder_macs(B, P, 0)
    for L in (P, P + 3, P + N - 2):
        assert g.step(L).macs == decoder_macs(B, 1, L)
    assert g.total.macs == decoder_macs(B, P, 0) + sum(decoder_macs(B, 1, L) for L in range(P, P + N - 1))
    assert g.counts == 5  # prefill, three fitted lengths and one check


@pytest.mark.slow
def test_generation_with_a_window_splits_at_the_window(model):
    P, N, W = 16, 12, 20
    g = llm.generation(model, P, N, attention=f"window:{W}")
    assert [(p.lo, p.hi) for p in g.pieces] == [(16, 18), (19, 26)]
    want = decoder_macs(1, P, 0, pairs=sum(min(i + 1, W) for i in range(P)))
    want += sum(decoder_macs(1, 1, L, pairs=min(L + 1, W)) for L in range(P, P + N - 1))
    assert g.total.macs == want


def test_a_cost_that_is_not_a_polynomial_is_refused():
    with pytest.raises(CountError, match="not a polynomial"):
        llm.fit_range(lambda x: flowflops.Cost(2 ** x, 2 ** x), 0, 10, "2^x")


def test_pieces_are_fitted_by_the_symbolic_machinery():
    # fit_range is flowflops.symbolic's fit in one size (analysis/polyfit.fit_counts): degree 1
    # guessed through lo + 1, lo + 2, checked at lo and hi. x^2 + 3 over 0..20: the guess through
    # (1, 4), (2, 7) predicts 1 at 0 (counted 3): the degree is found along the axis (x = 3: second
    # differences 2; x = 4: third differences 0, degree 2), the fit goes through 1, 2, 3 and holds
    # at 0, 4 and 20 (403)
    seen = []

    def square(x):
        seen.append(x)
        return flowflops.Cost(x * x + 3, 2 * (x * x + 3))

    p = llm.fit_range(square, 0, 20, "x^2 + 3")
    assert p.macs == (3, 0, 1) and p.flops == (6, 0, 2)
    assert sorted(seen) == [0, 1, 2, 3, 4, 20] and sorted(p.counted) == sorted(seen)
    assert p.at(20).macs == 403 and p.total().macs == sum(x * x + 3 for x in range(21))
    # a rule that changes near the far end (2x from 15 on): linear through 1, 2 and right at 0,
    # but 20 is counted 40, not 20; no higher degree explains it along the axis: refused
    with pytest.raises(CountError, match="does not follow one polynomial in L.*predicts 20 at L=20, counted 40.*"
                                         "exact_steps=True"):
        llm.fit_range(lambda x: flowflops.Cost(x if x < 15 else 2 * x, 0), 0, 20, "a late rule")


def test_generation_counts_the_points_the_machinery_chooses(model):
    # a decode step is linear in L: the guess through P + 1, P + 2 holds at P and P + N - 2
    P, N = 16, 10
    g = llm.generation(model, P, N)
    (piece,) = g.pieces
    assert sorted(piece.counted) == [P, P + 1, P + 2, P + N - 2]
    assert all(piece.counted[L].macs == decoder_macs(1, 1, L) for L in piece.counted)


@pytest.mark.slow
def test_generation_512_512_equals_the_sum_of_every_step():
    # the polynomial total against every one of the 511 decode steps counted on its own
    # (eager mode, so the two sides come from different engines too)
    m = small(layers=1, hidden=16, heads=2, ffn=32, vocab=32, max_positions=1024)
    P, N = 512, 512
    g = llm.generation(m, P, N)
    steps = [llm.count_step(m, tokens=1, cache_len=L, mode="eager").macs for L in range(P, P + N - 1)]
    prefill = llm.count_step(m, tokens=P, mode="eager").macs
    assert g.prefill.macs == prefill
    assert g.total.macs == prefill + sum(steps)
    by_hand = decoder_macs(1, P, 0, V=32, layers=1, d=16, H=2, G=2, f=32)
    by_hand += sum(decoder_macs(1, 1, L, V=32, layers=1, d=16, H=2, G=2, f=32) for L in range(P, P + N - 1))
    assert g.total.macs == by_hand


@pytest.mark.slow
def test_sweep_fits_the_quadratic(model, tmp_path):
    s = llm.sweep(model, [4, 8, 12, 16], [1, 2])
    # decoder_macs(B, T, 0) is quadratic in T: its coefficients from three values
    for B in (1, 2):
        (p,) = s.fits[B]
        want = llm.fit_polynomial([(t, decoder_macs(B, t, 0)) for t in (4, 8, 16)])
        assert p.macs == want and len(want) == 3
        assert all(s.points[(B, t)].macs == decoder_macs(B, t, 0) for t in (4, 8, 12, 16))
    assert s.batch_linear()
    s.plot(str(tmp_path / "sweep.png"))
    assert (tmp_path / "sweep.png").stat().st_size > 0
    assert "T²" in s.summary()


def test_totals_text_shows_the_dense_upper_bound(model):
    from flowflops.render.export import totals_text

    r = llm.count_step(model, tokens=8, batch=2, attention="causal")
    text = totals_text(r)
    assert f"({decoder_macs(2, 8, 0):,})" in text and "attention causal" in text
    assert "Upper bound" not in totals_text(llm.count_step(model, tokens=8, batch=2))


def test_lazy_decoder_counts_without_touching_its_parameters():
    m = small(lazy=True)
    want = decoder_macs(2, 8, 0)
    assert llm.count_step(m, tokens=8, batch=2).macs == want
    # untouched zero pages: every parameter still reads as zero
    assert all(float(p.abs().sum()) == 0 for p in m.parameters())


def test_user_model_with_its_own_cache_inputs():
    m = small()
    calls = []

    def make(batch, tokens, cache_len):
        calls.append((batch, tokens, cache_len))
        return {"idx": flow.zeros(batch, tokens, dtype=flow.int64), "past": m.empty_cache(batch, cache_len)}

    r = llm.decode_step(m, 6, batch=3, input_constructor=make)
    assert calls == [(3, 1, 6)] and r.macs == decoder_macs(3, 1, 6)
    with pytest.raises(ValueError, match="empty_cache"):
        llm.decode_step(flow.nn.Linear(4, 4), 3)


def test_llama2_70b_shape_by_hand_at_two_layers_without_memory():
    # LLaMA-2-70B's widths (hidden 8192, 64/8 heads, SwiGLU 28672, vocabulary 32000) at 2 of its
    # 80 layers, on untouched zero pages: the by-hand count, prefill and a decode step
    from flowflops.models import llama2_70b

    m = Decoder(llama2_70b(lazy=True, layers=2))
    dims = dict(V=32000, layers=2, d=8192, H=64, G=8, f=28672)
    assert llm.count_step(m, tokens=4).macs == decoder_macs(1, 4, 0, **dims)
    assert llm.decode_step(m, 100).macs == decoder_macs(1, 1, 100, **dims)
    assert sum(p.numel() for p in m.parameters()) == (
        2 * 32000 * 8192 + 2 * (8192 * 8192 * 2 + 2 * 8192 * 1024 + 3 * 8192 * 28672 + 2 * 8192) + 8192)


def test_cli_sweep_text_json_and_errors(tmp_path, capsys):
    import json

    from flowflops.cli.command import run

    out = tmp_path / "s.json"
    assert run(["sweep", "decoder", "--seq-lens", "4,8,12", "--generate", "8,4", "--format", "json",
                "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    pts = {p["seq_len"]: p["macs"] for p in data["sweep"]["points"]}
    assert pts == {t: decoder_macs(1, t, 0) for t in (4, 8, 12)}
    assert data["generation"]["total"]["macs"] == decoder_macs(1, 8, 0) + sum(
        decoder_macs(1, 1, L) for L in (8, 9, 10))
    assert run(["sweep", "decoder", "--seq-lens", "4,x"]) == 2
    assert run(["sweep", "decoder", "--attention", "sparse"]) == 2
    assert "attention must be" in capsys.readouterr().err
