"""``render.grid`` writes the bytes prettytable writes (its default style, left/right aligned
columns), in one pass: the oracle is prettytable itself, on tables made to probe the layout."""
import pytest
from prettytable import PrettyTable

from flowflops.render.grid import grid


def _pretty(fields, rows, align, default):
    t = PrettyTable(list(fields))
    t.align = default
    for f, a in align.items():
        t.align[f] = a
    for row in rows:
        t.add_row(list(row))
    return t.get_string()


CASES = [
    # wider cells than headers, headers wider than cells, ints, empty strings
    (["module", "type", "MACs"], [["  a.b", "Linear", 12], ["x", "", 123456789]], {"module": "l", "type": "l"}, "r"),
    (["a long header", "b"], [["1", "2"], ["333", "4444444"]], {}, "l"),
    (["n"], [[0]], {}, "r"),
    # the fallbacks: non-ASCII text, a line break, centred columns, no rows
    (["name", "v"], [["\u00e9t\u00e9", "1"], ["\u4e2d\u6587", "22"]], {"name": "l"}, "r"),
    (["name", "v"], [["two\nlines", "1"]], {"name": "l"}, "r"),
    (["name", "v"], [["a", "1"]], {}, "c"),
    (["name", "v"], [], {"name": "l"}, "r"),
]


@pytest.mark.parametrize("fields, rows, align, default", CASES)
def test_same_bytes_as_prettytable(fields, rows, align, default):
    assert grid(fields, rows, align, default) == _pretty(fields, rows, align, default)


def test_module_table_of_a_counted_model_is_prettytables():
    import oneflow.nn as nn

    import flowflops
    from flowflops.render import grid as grid_module

    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Sequential(nn.Linear(6, 6), nn.ReLU())).eval()
    report = flowflops.profile(model, (1, 3, 8, 8))
    fast = report.to_text()
    original = grid_module.grid
    try:  # every table through prettytable itself
        grid_module.grid = lambda fields, rows, align=None, default="c": _pretty(fields, rows, align or {}, default)
        slow = report.to_text()
        slow_ops = report.operator_table()
    finally:
        grid_module.grid = original
    assert fast == slow
    assert report.operator_table() == slow_ops
    # rule, header, rule, 6 module rows (model, 0, 1, 2, 2.0, 2.1), rule; no unsupported ops
    assert fast.count("\n") == 9 and "Linear" in fast
