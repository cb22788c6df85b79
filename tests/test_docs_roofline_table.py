"""docs/roofline.md's GPT-2-medium table, every cell, recomputed from the benchmark's recorded
output benchmarks/gpt2_roofline_raw.json (benchmarks/gpt2_roofline.py, 2026-12-01): FLOP/B =
the kind's FLOPs / its bytes, times in ms, the bound (compute when the compute time is the
longer), and the forward row (total FLOPs / fp16 bytes, total times). Quick: no model is built.
The page's other check (tests/test_docs.py) only finds its figures somewhere in the sources;
this one ties each to its row, small ones included."""
import json

from docs_pages import ROOT, tables

#: the page's row label -> the benchmark's kind
KINDS = {
    "attention core: QK^T, scale, mask add, softmax, AV": "attention core (QK^T, scale, mask, softmax, AV)",
    "residual adds, head reshapes and transposes": "residual adds and reshapes",
    "LayerNorms": "LayerNorm",
}


def _round(x, printed):
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return f"{x:.{decimals}f}"


def test_roofline_table_is_the_recorded_benchmark():
    raw = json.loads((ROOT / "benchmarks" / "gpt2_roofline_raw.json").read_text())
    dev = raw["devices"]
    [table] = [t for t in tables(ROOT / "docs" / "roofline.md") if "benchmarks/gpt2_roofline_raw.json" in t.sources]
    assert table.rows[0][2:4] == ["A100-80GB", "H100"]
    problems = []
    for label, fpb, a100, h100, bound in table.rows[1:]:
        a100, h100 = a100.strip("*").removesuffix(" ms"), h100.strip("*").removesuffix(" ms")
        if label == "**forward**":
            want = [_round(raw["flops"] / raw["bytes_fp16"], fpb),
                    _round(dev["A100-80GB"]["total"] * 1e3, a100), _round(dev["H100"]["total"] * 1e3, h100), ""]
        else:
            k = dev["A100-80GB"]["kinds"][KINDS.get(label, label)]
            h = dev["H100"]["kinds"][KINDS.get(label, label)]
            assert h["flops"] == k["flops"] and h["bytes"] == k["bytes"]
            want = [_round(k["flops"] / k["bytes"], fpb), _round(k["time"] * 1e3, a100), _round(h["time"] * 1e3, h100),
                    "compute" if k["compute"] > k["memory"] else "memory"]
            h_bound = "compute" if h["compute"] > h["memory"] else "memory"
            assert h_bound == want[3], f"{label}: bound differs by device"
        if [fpb, a100, h100, bound] != want:
            problems.append(f"{label}: the page says {[fpb, a100, h100, bound]}, the benchmark {want}")
    assert len(table.rows) == 11, "a row added or removed: map it in KINDS"
    assert not problems, "\n".join(problems)
