"""``registry.traffics`` (what ``Report.record_traffic`` reads) gives each record what
``registry.traffic`` gives it, value and type of every field, though records alike share one
result: on records whose values are equal but not alike for the default rule (element sizes
``4.0`` after ``4``, dimensions ``True`` / ``4.0``), values that cannot be hashed, op types with
their own bytes rule, and more than 2,000 distinct records (where it stops looking for alike
ones)."""
from flowflops.records import IN_ITEMSIZES, ITEM_BYTES, OUT_ITEMSIZES, PARAMS, OpRecord, Traffic
from flowflops import registry
from flowflops.registry import traffic, traffics


def _fields(t):
    return [(type(v), v) for v in (t.param_read, t.act_read, t.written)]


def _same(records):
    got = traffics(records)
    want = [traffic(r) for r in records]
    assert [_fields(t) for t in got] == [_fields(t) for t in want]
    return got


def test_alike_records_share_and_equal_ones_that_are_not_alike_do_not():
    mm = ((1, 4), (4, 4))
    base = OpRecord("relu", "a", ((1, 4),), ((1, 4),), {ITEM_BYTES: 4})
    recs = [
        base,
        OpRecord("relu", "b", ((1, 4),), ((1, 4),), {ITEM_BYTES: 4}),  # alike: shares
        OpRecord("relu", "c", ((True, 4.0),), ((1, 4),), {ITEM_BYTES: 4.0}),  # int() of each: the same numbers
        OpRecord("matmul", "d", mm, ((1, 4),), {IN_ITEMSIZES: (4, 4), OUT_ITEMSIZES: (4,), PARAMS: (1,)}),
        # element sizes 4.0: the rule multiplies by them, so its numbers are floats
        OpRecord("matmul", "e", mm, ((1, 4),), {IN_ITEMSIZES: (4.0, 4), OUT_ITEMSIZES: (4,), PARAMS: (1,)}),
        OpRecord("matmul", "f", mm, ((1, 4),), {IN_ITEMSIZES: (4, 4), OUT_ITEMSIZES: (4.0,), PARAMS: (1,)}),
        OpRecord("matmul", "g", mm, ((1, 4),), {PARAMS: (True,)}),
        OpRecord("matmul", "h", [[1, 4], [4, 4]], ((1, 4),), {PARAMS: [1]}),  # lists: not hashable
        OpRecord("relu", "i", ((2, 4),), ((2, 4),), {ITEM_BYTES: 2}),
    ]
    got = _same(recs)
    assert got[1] is got[0] and got[2] is got[0]
    # worked by hand: matmul (1,4)x(4,4)->(1,4) at 4 bytes, input 1 a parameter:
    # params 16 * 4 = 64, activations 4 * 4 = 16, written 4 * 4 = 16
    assert got[3] == Traffic(64, 16, 16) and type(got[3].param_read) is int
    assert type(got[4].act_read) is float and got[4].act_read == 16.0  # 4 elements x 4.0
    assert type(got[5].written) is float and got[5].written == 16.0
    assert got[6] == Traffic(64, 16, 16) and got[7] == Traffic(64, 16, 16)
    assert got[8] == Traffic(0, 16, 16)  # relu (2,4) at 2 bytes: 8 x 2 read, 8 x 2 written


def test_an_op_type_with_its_own_bytes_rule_is_asked_every_time(monkeypatch):
    seen = []

    def rule(rec):
        seen.append(rec.module)
        return Traffic(1, 2, 3)

    monkeypatch.setitem(registry._BYTES, "_test_traffics_op", rule)  # (as register_bytes does, undone after)

    recs = [OpRecord("_test_traffics_op", str(i), ((1,),), ((1,),)) for i in range(3)]
    assert traffics(recs) == [Traffic(1, 2, 3)] * 3
    assert seen == ["0", "1", "2"]


def test_many_distinct_records_then_alike_ones():
    # 3,000 distinct shapes (more than the 2,000 after which it stops looking), then repeats
    recs = [OpRecord("relu", "m", ((i + 1, 3),), ((i + 1, 3),)) for i in range(3000)]
    recs += [OpRecord("relu", "m", ((5, 3),), ((5, 3),)) for _ in range(10)]
    got = _same(recs)
    # relu (5, 3) at 4 bytes: 15 * 4 = 60 read, 60 written
    assert got[-1] == Traffic(0, 60, 60) and got[4] == Traffic(0, 60, 60)
