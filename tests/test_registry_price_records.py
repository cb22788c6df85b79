"""price_records(same=True): records that differ only in module path, op name and tensor names
are priced once by flowflops' own formulas; a user's formula sees every record."""
import dataclasses

import flowflops.registry as registry
from flowflops.records import GIVEN_COST, IN_TENSORS, OUT_TENSORS, TWIN, OpRecord, twin_of


def _mm(module, names, **extra):
    attrs = {"transpose_a": False, "transpose_b": False, IN_TENSORS: names[:2], OUT_TENSORS: names[2:], **extra}
    return OpRecord("matmul", module, ((2, 8), (8, 4)), ((2, 4),), attrs, f"{module}-matmul-0")


def _formula_calls(monkeypatch):
    """The module path of each record a formula is called for, from now on (a spy on
    ``registry._call``)."""
    calls = []
    original = registry._call

    def spy(fn, rec):
        calls.append(rec.module)
        return original(fn, rec)

    monkeypatch.setattr(registry, "_call", spy)
    return calls


def test_twins_priced_once_with_the_same_cost(monkeypatch):
    calls = _formula_calls(monkeypatch)
    recs = [_mm("a", ("x", "w", "y")), _mm("b", ("y", "w2", "z")), _mm("c", ("z", "w3", "u"), alpha=0.5)]
    entries = registry.price_records(recs, same=True)
    # (2, 8) @ (8, 4): 2 * 8 * 4 = 64 MACs, 128 FLOPs, for each of the three
    assert [(c.macs, c.flops) for _, c in entries] == [(64, 128)] * 3
    assert [r for r, _ in entries] == recs
    assert calls == ["a", "c"]  # "b" differs from "a" in names only; "c" has another attribute
    calls.clear()
    assert registry.price_records(recs) == entries  # without same: each priced
    assert calls == ["a", "b", "c"]


def test_a_users_formula_sees_every_record(monkeypatch):
    monkeypatch.setattr(registry, "_FORMULAS", dict(registry._FORMULAS))

    @registry.register("my_op")
    def by_module(rec):  # a user's formula may read the module path
        return registry.Cost(len(rec.module), 0)

    recs = [OpRecord("my_op", m, ((1,),), ((1,),), {IN_TENSORS: ("x",), OUT_TENSORS: ("y",)}) for m in ("a", "bbb")]
    assert [c.macs for _, c in registry.price_records(recs, same=True)] == [1, 3]  # len("a"), len("bbb")


def test_copies_marked_twins_share_their_templates_cost_without_a_key(monkeypatch):
    calls = _formula_calls(monkeypatch)
    keys = []
    frozen = registry._frozen

    def spy_frozen(v):
        keys.append(v)
        return frozen(v)

    monkeypatch.setattr(registry, "_frozen", spy_frozen)
    tpl = _mm("a", ("x", "w", "y"))
    copies = [_mm(m, (f"{m}x", f"{m}w", f"{m}y")) for m in ("b", "c", "d")]
    for c in copies:
        c.__dict__[TWIN] = tpl  # as a graph count marks a copied block's records
    assert twin_of(copies[0]) is tpl and twin_of(tpl) is None
    entries = registry.price_records([tpl] + copies, same=True)
    # (2, 8) @ (8, 4): 2 * 8 * 4 = 64 MACs, 128 FLOPs, for each of the four
    assert [(c.macs, c.flops) for _, c in entries] == [(64, 128)] * 4
    assert calls == ["a"]
    # a key (two attributes besides the names: transpose_a, transpose_b) for "a" and for the
    # first copy "b" only; "c" and "d" share "b"'s cost by its twin
    assert len(keys) == 2 * 2
    # a rule that rewrites a record makes a new record, no longer marked
    assert twin_of(dataclasses.replace(copies[0], module="e")) is None


def test_a_users_formula_sees_every_twin(monkeypatch):
    monkeypatch.setattr(registry, "_FORMULAS", dict(registry._FORMULAS))

    @registry.register("my_op")
    def by_module(rec):
        return registry.Cost(len(rec.module), 0)

    tpl = OpRecord("my_op", "a", ((1,),), ((1,),), {IN_TENSORS: ("x",), OUT_TENSORS: ("y",)})
    copy = OpRecord("my_op", "bbb", ((1,),), ((1,),), {IN_TENSORS: ("x2",), OUT_TENSORS: ("y2",)})
    copy.__dict__[TWIN] = tpl
    # given costs too: each record's own (5 and 7), whatever its twin
    given = [dataclasses.replace(_mm(m, ("x", "w", "y")), attrs={GIVEN_COST: registry.Cost(k, k)})
             for m, k in (("g", 5), ("h", 7))]
    given[1].__dict__[TWIN] = given[0]
    assert [c.macs for _, c in registry.price_records([tpl, copy] + given, same=True)] == [1, 3, 5, 7]
