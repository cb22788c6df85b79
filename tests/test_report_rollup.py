"""``Aggregate.by_module`` / ``by_module_bytes`` sum each module's records into it and every
module around it (one pass over the records, one over the paths): the sums and the order of
the paths, checked by hand on a small tree with a path outside it and a record without a
formula."""
from collections import OrderedDict

from flowflops.records import Cost, ModuleInfo, OpRecord
from flowflops.report import Aggregate


def _aggregate(costs):
    modules = OrderedDict((p, ModuleInfo("M")) for p in ["", "a", "a.b", "c"])
    # relu: 4 elements read, 4 written at 4 bytes (float32): 16 + 16 bytes
    entries = [(OpRecord("relu", m, ((4,),), ((4,),), {}), c) for m, c in costs]
    return Aggregate(entries, modules, mode="eager")


def test_by_module_sums_the_subtree():
    agg = _aggregate([("a.b", Cost(1, 2)), ("a", Cost(10, 20)), ("x.y", Cost(100, 200)),
                      ("a.b", Cost(1000, 2000)), ("c", None)])
    got = agg.by_module()
    # a.b: 1 + 1000; a: 1001 + 10; x.y, x: 100 (outside the tree: listed after it, parents
    # first); root: 1011 + 100; c: no priced record
    assert got == {"": Cost(1111, 2222), "a": Cost(1011, 2022), "a.b": Cost(1001, 2002), "c": Cost(0, 0),
                   "x": Cost(100, 200), "x.y": Cost(100, 200)}
    assert list(got) == ["", "a", "a.b", "c", "x", "x.y"]


def test_by_module_bytes_counts_records_without_a_formula_too():
    agg = _aggregate([("a.b", Cost(1, 2)), ("c", None), ("x.y", None)])
    got = {p: (t.param_read, t.act_read, t.written) for p, t in agg.by_module_bytes().items()}
    # each relu: 16 bytes read (activations), 16 written; root: 3 records
    assert got == {"": (0, 48, 48), "a": (0, 16, 16), "a.b": (0, 16, 16), "c": (0, 16, 16),
                   "x": (0, 16, 16), "x.y": (0, 16, 16)}


def test_float_costs_keep_the_record_order():
    # 0.1 + 0.2 + 0.3 in the records' order is 0.6000000000000001; a sum in another order can differ
    agg = _aggregate([("a", Cost(0.1, 0)), ("a.b", Cost(0.2, 0)), ("a", Cost(0.3, 0))])  # type: ignore[arg-type]
    assert agg.by_module()["a"].macs == (0.1 + 0.2) + 0.3
