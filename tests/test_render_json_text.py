"""``render.json_text.dumps`` writes what ``json.dumps(data, indent=n)`` writes (the oracle is
the standard library itself), on random nested data: shapes (lists of whole numbers), floats
that are not finite, non-ASCII and escaped strings, keys of every type JSON accepts, tuples,
empty containers; and it leaves to ``json.dumps`` what only it can write or refuse."""
import json
import random

import pytest

from flowflops.render.json_text import dumps

LEAVES = [1, -2, 0, 3.5, 1e300, float("nan"), float("inf"), -float("inf"), "a\"\u00e9\n\t", "", None, True,
          False, 10 ** 30]
KEYS = ["a", "b\u00e9", "", 1, 2.5, True, None, False]


def _random(rng, depth=0):
    k = rng.random()
    if depth > 4 or k < 0.3:
        return rng.choice(LEAVES)
    if k < 0.5:  # shapes, as lists (to_dict) or tuples (to_json's own data)
        seq = rng.choice([list, tuple])
        return seq(seq(rng.randint(0, 9) for _ in range(rng.randint(0, 3))) for _ in range(rng.randint(0, 3)))
    if k < 0.7:
        return [_random(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if k < 0.8:
        return tuple(_random(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    return {rng.choice(KEYS): _random(rng, depth + 1) for _ in range(rng.randint(0, 4))}


@pytest.mark.parametrize("indent", [2, 4, 0, None])
def test_same_text_as_json_dumps(indent):
    rng = random.Random(20261207)
    for _ in range(500):
        data = _random(rng)
        assert dumps(data, indent) == json.dumps(data, indent=indent)


def test_what_json_dumps_refuses_is_refused_alike():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps({"a": loop})
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"a": object()})
    with pytest.raises(TypeError, match="keys must be"):
        dumps({(1, 2): 3})


def test_a_reports_json_is_json_dumps_of_its_dict():
    """``to_json`` writes its own data (tuples where ``to_dict`` has lists): the same text as
    ``json.dumps(report.to_dict(), indent=2)``, on an eager and a graph count (shapes, op
    attributes of several types, children, output shapes)."""
    import oneflow.nn as nn

    import flowflops

    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 8 * 8, 5)).eval()
    for mode in ("eager", "graph"):
        report = flowflops.profile(model, (2, 3, 8, 8), mode=mode)
        data = report.to_dict()
        assert type(data["records"][0]["inputs"]) is list and type(data["modules"][0]["children"]) is list
        assert report.to_json() == json.dumps(data, indent=2)
        assert report.to_json(None) == json.dumps(data)
