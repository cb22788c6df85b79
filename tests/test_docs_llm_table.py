"""docs/llm.md's table, cell for cell: every cell is computed here twice, by hand
(``tests/test_llm.py``'s ``decoder_macs`` at the two presets' dimensions, the parameters by hand
below) and from the recorded run (``benchmarks/llm_raw.json``, written by
``benchmarks/llm_scale.py``), the two must agree, and the page's table must be the table rendered
from them, row by row. FLOPs are only recorded (the hand count is of MACs): those cells come from
the JSON. Quick: nothing is counted."""
import json

from docs_pages import ROOT, tables
from test_llm import decoder_macs

PAGE = ROOT / "docs" / "llm.md"
RAW = json.loads((ROOT / "benchmarks" / "llm_raw.json").read_text())

GPT2 = dict(V=50257, layers=24, d=1024, H=16, G=16, f=4096, gpt2=True)  # GPT-2-medium, untied head
LLAMA = dict(V=32000, layers=80, d=8192, H=64, G=8, f=28672)  # LLaMA-2-70B's shape


def params_by_hand(V, layers, d, H, G, f, gpt2=False):
    """(all parameters, embedding tables). GPT-2: token and 1024 position embeddings; per layer
    q,k,v,o with biases (4d^2 + 4d), MLP d->f->d with biases (2df + f + d), two LayerNorms (4d);
    final LayerNorm (2d); the untied head d*V. LLaMA: token embedding; per layer q, o (d*d
    each), k, v (d*G*dh each), SwiGLU (3df), two RMSNorm weights (2d); final norm d; head d*V."""
    dh = d // H
    if gpt2:
        emb = V * d + 1024 * d
        layer = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
        return emb + layers * layer + 2 * d + d * V, emb
    emb = V * d
    layer = 2 * d * d + 2 * d * G * dh + 3 * d * f + 2 * d
    return emb + layers * layer + d + d * V, emb


def _point(preset, **args):
    """The recorded run of ``preset`` whose args include ``args`` (and no attention unless asked)."""
    found = [p for p in RAW["points"] if p["args"]["preset" if "preset" in p["args"] else "n"] == preset
             and p["args"].get("kw") == {"lazy": True}
             and all(p["args"].get(k) == v for k, v in args.items())
             and ("attention" in args or "attention" not in p["args"])]
    assert len(found) == 1, (preset, args, len(found))
    return found[0]


def _g(x, unit, scale):
    return f"{x / scale:.2f} {unit}"


def _table():
    """The rows the page must show, each figure checked against the hand count first."""
    def pre(dims, T, causal=False):
        return decoder_macs(1, T, 0, pairs=T * (T + 1) // 2 if causal else None, **dims)

    def step(dims, L):
        return decoder_macs(1, 1, L, **dims)

    def gen(dims, P, N):
        return pre(dims, P) + sum(step(dims, L) for L in range(P, P + N - 1))

    cols = []
    for name, dims, big in (("gpt2_medium", GPT2, False), ("llama2_70b", LLAMA, True)):
        n, emb = params_by_hand(**dims)
        g = _point(name, P=512, N=512, at=[512, 768, 1022])
        assert g["params"] == n and g["embedding_params"] == emb
        assert g["prefill"][0] == pre(dims, 512) and g["total"][0] == gen(dims, 512, 512)
        for L, (macs, _) in g["steps"].items():
            assert macs == step(dims, int(L))
        slope, const = step(dims, 1) - step(dims, 0), step(dims, 0)
        assert [int(c) for c in g["poly"]] == [const, slope]
        unit, scale = ("TMac", 1e12) if big else ("GMac", 1e9)
        col = {"parameters": f"{n:,}", "prefill, 512 tokens": _g(pre(dims, 512), unit, scale),
               "decode step at L, MACs": f"{slope:,}·L + {const:,}",
               "generation P=512, N=512 (dense)": _g(gen(dims, 512, 512), unit, scale)}
        T = 2048 if big else 1024  # the long prefill each was run at
        dense, causal = _point(name, T=T), _point(name, T=T, attention="causal")
        assert dense["macs"] == pre(dims, T) and causal["macs"] == pre(dims, T, causal=True)
        col[f"prefill, {T} tokens (dense / causal)"] = (f"{pre(dims, T) / scale:.2f} / "
                                                       f"{pre(dims, T, True) / scale:.2f} {unit}")
        dunit, dscale = ("GMac", 1e9) if big else ("MMac", 1e6)
        col["decode at L = 512 / 1022"] = f"{step(dims, 512) / dscale:.2f} / {step(dims, 1022) / dscale:.2f} {dunit}"
        two_n = 2 * (n - emb)  # N: every parameter but the embedding tables
        fl = g["prefill"][1] // 512
        assert g["prefill"][1] % 512 == 0
        col["FLOPs per token, prefill 512: exact / 2N"] = f"{fl:,} / {two_n:,} = {fl / two_n:.3f}"
        if big:
            d4095 = _point(name, T=1, L=4095)
            assert d4095["macs"] == step(dims, 4095)
            col["decode at L = 4095"] = _g(step(dims, 4095), dunit, dscale)
            fl = d4095["flops"]
            col["FLOPs per token, decode L=4095: exact / 2N"] = f"{fl:,} / {two_n:,} = {fl / two_n:.3f}"
            # + 4 FLOPs per layer, key (4095 cached + 1 new) and hidden unit: the scores and att@v
            more = two_n + 4 * dims["layers"] * 4096 * dims["d"]
            col["... / (2N + 4·layers·keys·hidden)"] = f"{fl:,} / {more:,} = {fl / more:.4f}"
        cols.append(col)
    return cols


def test_llm_table_is_the_hand_count_and_the_recorded_run():
    [t] = [t for t in tables(PAGE) if "benchmarks/llm_raw.json" in t.sources]
    gpt2, llama = _table()
    assert len(t.rows) == 1 + len(set(gpt2) | set(llama)), [r[0] for r in t.rows]
    problems = []
    for label, a, b in t.rows[1:]:
        want = ("" if label.startswith("...") else gpt2.get(label, "—"), llama.get(label, "—"))
        if (a, b) != want:
            problems.append(f"{label}: page {(a, b)}, computed {want}")
    assert not problems, "\n".join(problems)
