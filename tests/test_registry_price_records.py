"""price_records(same=True): records that differ only in module path, op name and tensor names
are priced once by flowflops' own formulas; a user's formula sees every record."""
import flowflops.registry as registry
from flowflops.records import IN_TENSORS, OUT_TENSORS, OpRecord


def _mm(module, names, **extra):
    attrs = {"transpose_a": False, "transpose_b": False, IN_TENSORS: names[:2], OUT_TENSORS: names[2:], **extra}
    return OpRecord("matmul", module, ((2, 8), (8, 4)), ((2, 4),), attrs, f"{module}-matmul-0")


def test_twins_priced_once_with_the_same_cost(monkeypatch):
    calls = []
    original = registry._call

    def spy(fn, rec):
        calls.append(rec.module)
        return original(fn, rec)

    monkeypatch.setattr(registry, "_call", spy)
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
