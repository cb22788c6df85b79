"""``Report.to_json`` writes its module rows and op records from fixed templates
(``render.json_rows``), not by walking ``to_dict``'s data: its text must stay what
``json.dumps(report.to_dict(), indent=n)`` writes (the oracle is the standard library), on
reports with awkward values: non-ASCII, quotes, backslashes and control characters in names,
NaN and infinities, ``None`` costs, nested and unknown attribute values, whole numbers beyond
64 bits, empty shapes, shapes whose dimensions are ``True`` or ``4.0`` after equal whole-number
shapes (a text kept per distinct shape must not be reused for them), lists where tuples are usual."""
import json
import math
import random
from collections import OrderedDict

import pytest

from flowflops import Report
from flowflops.records import Cost, ModuleInfo, OpRecord


class _Str(str):
    pass


class _Opaque:
    pass


NAMES = ["conv", "m\u00e4t\"mul\\", "\u6a21\u5757", "a\tb\nc", "", "x\u0001y", "\U0001f600", _Str("sub")]
ATTR_VALUES = [1, -2, 0, True, False, None, 3.5, float("nan"), float("inf"), -float("inf"), 10 ** 30, "s\u00e9\"",
               "", (), (1, 2), (True, 1), (1.0, 2), [1, 2], {"k": (1, 2), "n": None, "\u00fc": [1.5, {"d": ()}]},
               {}, _Opaque(), (1, _Opaque()), ((1, 2), (3,)), {1: "int key", None: 0, 2.5: True}, "\u2028"]
SHAPES = [(), (1, 4), (True, 4), (1.0, 4), (4,), (0,), (2, 3, 5), [1, 4], (10 ** 20, 1)]


def _record(rng, module, i):
    def shapes():
        return tuple(rng.choice(SHAPES) for _ in range(rng.randint(0, 3)))

    attrs = {rng.choice(["a", "b", "\u00e9", "q\"", "transpose_a", "_module"]) + str(k):
             rng.choice(ATTR_VALUES) for k in range(rng.randint(0, 5))}
    return OpRecord(rng.choice(NAMES), module, shapes(), shapes(), attrs, name=rng.choice(NAMES))


def _cost(rng):
    return rng.choice([None, Cost(3, 6), Cost(0, 0), Cost(10 ** 25, 2 * 10 ** 25), Cost(1.5, float("nan")),
                       Cost(float("inf"), -1)])


def _report(seed):
    rng = random.Random(seed)
    paths = ["", "a", "a.\u00fc", "a.q\"b", "c", "c.0", "c.1", "c.1.x\\y"]
    modules = OrderedDict()
    for p in paths:
        kids = [(q.rpartition(".")[2], q) for q in paths if q and q.rpartition(".")[0] == p]
        if rng.random() < 0.2:
            kids = [list(k) for k in kids]  # lists where the tree usually has tuples
        modules[p] = ModuleInfo(rng.choice(NAMES) or "T", rng.choice(["", "in=1, out=2", "\"q\" \u00e9\n"]),
                                rng.choice([0, 7, 10 ** 22]), rng.choice([0, 3]), kids)
    entries = [(_record(rng, rng.choice(paths + ["orphan.scope"]), i), _cost(rng)) for i in range(rng.randint(0, 30))]
    outputs = {p: rng.choice([(1, 4), (True, 4), (), ((1, 2), (3,)), [2, 2], (1.5,), "s"]) for p in paths
               if rng.random() < 0.6}
    return Report(entries, modules, mode=rng.choice(["eager", "graph"]),
                  inputs=rng.choice([[(1, 4)], [], [{"x": (1, 3)}, "t\u00e9"]]), module_outputs=outputs)


@pytest.mark.parametrize("indent", [2, 4, 0, 1, None])
def test_same_text_as_json_dumps_of_the_dict(indent):
    for seed in range(60):
        report = _report(seed)
        assert report.to_json(indent) == json.dumps(report.to_dict(), indent=indent), seed


def test_a_shape_of_true_or_float_dimensions_after_an_equal_whole_number_shape():
    """``(1, 4) == (True, 4) == (1.0, 4)``: the writer's text of ``[[1, 4]]`` is not reused for
    the other two (``json.dumps`` writes ``true`` and ``1.0``)."""
    recs = [OpRecord("relu", "", ((1, 4),), ((1, 4),)), OpRecord("relu", "", ((True, 4),), ((1.0, 4),))]
    report = Report([(r, Cost(4, 4)) for r in recs], OrderedDict([("", ModuleInfo("M"))]), mode="eager")
    text = report.to_json()
    assert text == json.dumps(report.to_dict(), indent=2)
    records = json.loads(text)["records"]
    assert records[1]["inputs"] == [[True, 4]] and records[1]["outputs"] == [[1.0, 4]]
    assert '"inputs": [\n        [\n          true,\n          4\n        ]\n      ]' in text


def test_values_json_refuses_are_refused_alike():
    """A key JSON cannot hold (a tuple) makes both forms raise the same error."""
    rec = OpRecord("relu", "", ((1,),), ((1,),), {(1, 2): 3})
    report = Report([(rec, Cost(1, 1))], OrderedDict([("", ModuleInfo("M"))]), mode="eager")
    with pytest.raises(TypeError) as fast:
        report.to_json()
    with pytest.raises(TypeError) as plain:
        json.dumps(report.to_dict(), indent=2)
    assert str(fast.value) == str(plain.value)


def test_non_finite_numbers_as_json_dumps_writes_them():
    rec = OpRecord("x", "", (), (), {"n": float("nan"), "i": float("inf")})
    report = Report([(rec, Cost(float("inf"), float("nan")))], OrderedDict([("", ModuleInfo("M"))]), mode="eager")
    data = json.loads(report.to_json())
    assert math.isinf(data["records"][0]["macs"]) and math.isnan(data["records"][0]["attrs"]["n"])
    assert '"macs": Infinity' in report.to_json() and '"n": NaN' in report.to_json()
