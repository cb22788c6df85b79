"""The sparsity rules (flowflops.rules.sparsity): records -> records before pricing. A causal or
sliding-window attention kernel computes only some (query, key) pairs; every op of the score
chain (q @ k^T, the scale, the softmax, the product with v) is marked with its kept share and
priced at that share of its dense cost. Numbers derived by hand below."""
import oneflow as flow
import pytest

import flowflops
from flowflops.records import KEEP, OpRecord
from flowflops.registry import price_records
from flowflops.rules.sparsity import mark_records
from models import Fn

# one head, 4 queries and 4 keys of width 2: the scores S are (1, 1, 4, 4), 16 pairs
Q, S, OUT = (1, 1, 4, 2), (1, 1, 4, 4), (1, 1, 4, 2)
# dense, per op (MACs, FLOPs): q @ k^T 16 outputs x K=2 = 32 (64); the scale 16 (16); the
# softmax 1 per element, 16 (16); S @ v 8 outputs x K=4 = 32 (64): 96 MACs, 160 FLOPs
DENSE = (32 + 16 + 16 + 32, 64 + 16 + 16 + 64)
# causal, queries at positions 0..3 each see keys 0..p: 1+2+3+4 = 10 of the 16 pairs, so each
# op costs 10/16 of its dense cost: 20 + 10 + 10 + 20 = 60 MACs, 40 + 10 + 10 + 40 = 100 FLOPs
CAUSAL = (60, 100)
# a window of 2 keys: 1+2+2+2 = 7 pairs of 16: 14 + 7 + 7 + 14 = 42 MACs, 28 + 7 + 7 + 28 = 70 FLOPs
WINDOW2 = (42, 70)


def chain():
    return [
        OpRecord("batch_matmul", "attn", (Q, (1, 1, 2, 4)), (S,)),
        OpRecord("scalar_mul", "attn", (S,), (S,)),
        OpRecord("softmax", "attn", (S,), (S,)),
        OpRecord("batch_matmul", "attn", (S, (1, 1, 4, 2)), (OUT,)),
    ]


def total(records):
    costs = [c for _, c in price_records(records)]
    return sum(c.macs for c in costs), sum(c.flops for c in costs)


@pytest.mark.parametrize("attention,kept,want", [("causal", 10, CAUSAL), ("window:2", 7, WINDOW2)])
def test_the_score_chain_is_marked_before_pricing(attention, kept, want):
    records = chain()
    assert total(records) == DENSE
    marked, kind = mark_records(records, None, attention)
    assert kind == attention
    assert [r.attrs.get(KEEP) for r in marked] == [(kept, 16)] * 4
    assert total(marked) == want
    assert all(KEEP not in r.attrs for r in records)  # the records given are left as they are


def test_dense_marks_nothing():
    records = chain()
    marked, kind = mark_records(records, None, "dense", "all")
    assert kind == "dense" and all(a is b for a, b in zip(marked, records))


def _attention(q, k, v):
    return flow.softmax(flow.matmul(q, k.transpose(-2, -1)) * 0.5, dim=-1) @ v


@pytest.mark.parametrize("mode", ["graph", "eager"])
def test_profile_prices_the_marked_records_and_keeps_the_dense_bound(mode):
    def make(_):
        return (flow.ones(*Q), flow.ones(*Q), flow.ones(*OUT))

    cfg = {"count_functional": True} if mode == "eager" else {}
    dense = flowflops.profile(Fn(_attention), input_constructor=make, mode=mode, backend_specific_config=cfg)
    causal = flowflops.profile(Fn(_attention), input_constructor=make, mode=mode, backend_specific_config=cfg,
                               attention="causal")
    assert (dense.macs, dense.flops) == DENSE and dense.upper_bounds == {}
    assert (causal.macs, causal.flops) == CAUSAL and causal.attention == "causal"
    assert (causal.upper_bounds["dense"].macs, causal.upper_bounds["dense"].flops) == DENSE
