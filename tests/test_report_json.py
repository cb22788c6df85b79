"""Report data that is not a report's (issue 29): hand-edited or foreign JSON given to
`flowflops diff` / `compare` / `check` or to ``Report.from_dict``. Each case is one line naming
the field, exit 2 on the command line; never a traceback, a hang or a wrong number."""
import copy
import json

import pytest

from flowflops.cli.command import run
from flowflops.errors import ReportFileError
from flowflops.result import Report
from flowflops.report_json import report_data_problem


def _good():
    """Sequential(Linear(4, 3)) on a (1, 4) input, written by hand in to_dict's shape:
    params 4*3 + 3 = 15; the matmul (1, 4) x (4, 3) is 1*4*3 = 12 MACs, 24 FLOPs;
    the bias add is 3 MACs, 3 FLOPs."""
    return {
        "mode": "eager", "convention": "flowflops", "inputs": [[1, 4]], "attention": "dense",
        "modules": [
            {"path": "", "type": "Sequential", "extra_repr": "", "params": 15, "trainable_params": 15,
             "children": [["0", "0"]], "output_shape": None},
            {"path": "0", "type": "Linear", "extra_repr": "", "params": 15, "trainable_params": 15,
             "children": [], "output_shape": [1, 3]},
        ],
        "records": [
            {"op_type": "matmul", "module": "0", "name": "", "inputs": [[1, 4], [3, 4]], "outputs": [[1, 3]],
             "attrs": {}, "macs": 12, "flops": 24},
            {"op_type": "broadcast_add", "module": "0", "name": "", "inputs": [[1, 3], [3]], "outputs": [[1, 3]],
             "attrs": {}, "macs": 3, "flops": 3},
        ],
        "unsupported": {}, "unpriced_modules": {}, "upper_bounds": {},
    }


def test_the_hand_written_report_is_read_with_its_hand_derived_numbers():
    report = Report.from_dict(_good())
    assert (report.macs, report.flops, report.params) == (12 + 3, 24 + 3, 15)
    assert report_data_problem(_good()) is None


def _set(path, value):
    def edit(d):
        *keys, last = path
        for k in keys:
            d = d[k]
        d[last] = value
    return edit


def _drop(path):
    def edit(d):
        *keys, last = path
        for k in keys:
            d = d[k]
        del d[last]
    return edit


def _cycle(d):  # "0" -> "0.a" -> "0": two modules, each the other's descendant, the root outside it
    d["modules"][1]["children"] = [["a", "0.a"]]
    d["modules"].append({"path": "0.a", "type": "Identity", "params": 0, "trainable_params": 0,
                         "children": [["b", "0"]]})


def _duplicate(d):
    d["modules"].append(copy.deepcopy(d["modules"][1]))


# case: (edit, words the one line must hold: the field, and what is wrong)
CASES = {
    "mode a number": (_set(["mode"], 3), "mode is a number (3), not a string"),
    "modules an object": (_set(["modules"], {}), "modules is an object, not a list"),
    "records a string": (_set(["records"], "x"), "records is a string"),
    "a record a string": (_set(["records", 0], "x"), "records[0] is a string"),
    "negative macs": (_set(["records", 0, "macs"], -12), "records[0].macs is -12: a count cannot be negative"),
    "macs as text": (_set(["records", 0, "macs"], "12"), "records[0].macs is a string ('12'), not a whole number"),
    "fractional flops": (_set(["records", 1, "flops"], 2.5), "records[1].flops is a number (2.5)"),
    "boolean macs": (_set(["records", 0, "macs"], True), "records[0].macs is a boolean"),
    "huge macs": (_set(["records", 0, "macs"], 10 ** 4000), "records[0].macs is larger than 10**30"),
    "flops null alone": (_set(["records", 0, "flops"], None), "records[0] has macs a number (12) and flops null"),
    "no op_type": (_drop(["records", 0, "op_type"]), "records[0] has no 'op_type'"),
    "op_type a number": (_set(["records", 0, "op_type"], 7), "records[0].op_type is a number (7)"),
    "module a number": (_set(["records", 0, "module"], 1), "records[0].module is a number (1)"),
    "negative dimension": (_set(["records", 0, "inputs"], [[1, -4], [3, 4]]), "records[0].inputs[0][1] is -4"),
    "shapes a string": (_set(["records", 0, "outputs"], "1x3"), "records[0].outputs is a string"),
    "attrs a list": (_set(["records", 0, "attrs"], [1]), "records[0].attrs is a list, not an object"),
    "negative params": (_set(["modules", 1, "params"], -15), "modules[1].params is -15"),
    "params as text": (_set(["modules", 1, "params"], "15"), "modules[1].params is a string ('15')"),
    "more trainable than params": (_set(["modules", 1, "trainable_params"], 16),
                                   "modules[1].trainable_params (16) is more than its params (15)"),
    "no path": (_drop(["modules", 1, "path"]), "modules[1] has no 'path'"),
    "duplicate path": (_duplicate, "modules[2].path '0' is also the path of an earlier module"),
    "cycle through the root": (_set(["modules", 1, "children"], [["up", ""]]), "module '0' has the root as a child"),
    "cycle below the root": (_cycle, "the children form a cycle"),
    "child not a module": (_set(["modules", 0, "children"], [["0", "zz"]]), "child 'zz' that is not among modules"),
    "child not a pair": (_set(["modules", 0, "children"], [5]),
                         "modules[0].children[0] is a number (5), not a [name, path] pair"),
    "no root": (_set(["modules", 0, "path"], "top"), "modules has no root"),
    "negative unsupported": (_set(["unsupported"], {"foo": -3}), "unsupported['foo'] is -3"),
    "unpriced record not counted unsupported": (
        lambda d: d["records"][0].update(macs=None, flops=None),
        "unsupported['matmul'] is 0, fewer than the 1 unpriced records"),
    "unsupported a list": (_set(["unsupported"], [1]), "unsupported is a list, not an object"),
    "upper bound a number": (_set(["upper_bounds"], {"attn": 5}), "upper_bounds['attn'] is a number (5)"),
    "upper bound negative": (_set(["upper_bounds"], {"attn": {"macs": -1, "flops": 0}}),
                             "upper_bounds['attn'].macs is -1"),
    "unpriced_modules a list": (_set(["unpriced_modules"], [1]), "unpriced_modules is a list"),
    "inputs an object": (_set(["inputs"], {"x": [1]}), "inputs is an object, not a list"),
    "convention a number": (_set(["convention"], 5), "convention is a number (5)"),
    "attention a list": (_set(["attention"], ["x"]), "attention is a list"),
    "output_shape a string": (_set(["modules", 1, "output_shape"], "ab"), "modules[1].output_shape is a string"),
    # totals written in the file, recomputed from the records (12 + 3 = 15 MACs, 24 + 3 = 27 FLOPs)
    "totals not the records' sum": (_set(["totals"], {"macs": 16, "flops": 27}),
                                    "totals.macs is 16, but its records add up to 15"),
    "totals flops not the sum": (_set(["totals"], {"macs": 15, "flops": 30}),
                                 "totals.flops is 30, but its records add up to 27"),
    "totals params not the root's": (_set(["totals"], {"params": 14}),
                                     "totals.params is 14, but the root module's params are 15"),
    "totals a list": (_set(["totals"], []), "totals is a list, not an object"),
    "a module's macs not its records' sum": (
        _set(["modules", 1, "macs"], 14),
        "modules[1].macs ('0') is 14, but the records in that module and the modules inside it add up to 15"),
    "the root's flops not the sum": (
        _set(["modules", 0, "flops"], 24),
        "modules[0].flops ('') is 24, but the records in that module and the modules inside it add up to 27"),
    "operator calls not the records'": (_set(["operators"], {"matmul": {"macs": 12, "flops": 24, "calls": 2}}),
                                        "operators['matmul'].calls is 2, but the 'matmul' records add up to 1"),
    "operator macs not the records'": (
        _set(["operators"], {"broadcast_add": {"macs": 4}}),
        "operators['broadcast_add'].macs is 4, but the 'broadcast_add' records add up to 3"),
    "an operator without records": (_set(["operators"], {"conv2d": {"macs": 5}}),
                                     "operators['conv2d'].macs is 5, but the 'conv2d' records add up to 0"),
    "operators a list": (_set(["operators"], [1]), "operators is a list, not an object"),
    "a record naming an unknown module": (_set(["records", 0, "module"], "9"),
                                          "records[0].module is '9', which is not among modules"),
}


def test_written_totals_that_equal_the_records_are_accepted():
    """The totals to_dict writes, derived by hand for _good(): 15 MACs, 27 FLOPs, 15 params;
    matmul 12 MACs / 24 FLOPs / 1 call, broadcast_add 3 / 3 / 1; both modules 15 / 27."""
    data = _good()
    data["totals"] = {"macs": 15, "flops": 27, "params": 15, "trainable_params": 15}
    data["operators"] = {"matmul": {"macs": 12, "flops": 24, "calls": 1},
                         "broadcast_add": {"macs": 3, "flops": 3, "calls": 1}}
    for m in data["modules"]:
        m.update(macs=15, flops=27)
    assert report_data_problem(data) is None
    assert Report.from_dict(data).macs == 15


def _bad(case):
    data = _good()
    CASES[case][0](data)
    return data


@pytest.mark.parametrize("case", sorted(CASES))
def test_from_dict_names_the_field(case):
    with pytest.raises(ReportFileError) as err:
        Report.from_dict(_bad(case))
    text = str(err.value)
    assert "\n" not in text and CASES[case][1] in text, text
    assert text.startswith("not a flowflops report: ") and "Report.to_json()" in text, text


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["diff", "compare"])
def test_the_command_is_one_line_and_exit_2(tmp_path, capsys, case, command):
    bad, good = tmp_path / "bad.json", tmp_path / "good.json"
    bad.write_text(json.dumps(_bad(case)))
    good.write_text(json.dumps(_good()))
    code = run([command, str(good), str(bad)])
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert err.count("\n") == 1 and err.startswith(f"flowflops: error: {str(bad)!r} is not a flowflops report: "), err
    assert CASES[case][1] in err, err


def test_check_names_the_baseline(tmp_path, capsys):
    """The baseline is read (and refused) before the model is counted."""
    bad = tmp_path / "base.json"
    bad.write_text(json.dumps(_bad("cycle below the root")))
    code = run(["check", "no_such_model_is_counted", "--baseline", str(bad)])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1, (code, err)
    assert err.startswith("flowflops: error: --baseline: ") and "the children form a cycle" in err, err


def test_a_long_cycle_is_found_without_recursion():
    """A chain of 100,000 modules whose last one points back to the first: the check walks it
    without recursing (Python's limit is 1,000 frames)."""
    data = _good()
    n = 100_000
    data["modules"][1]["children"] = [["c", "m0"]]
    data["modules"] += [{"path": f"m{i}", "type": "Identity", "params": 0, "trainable_params": 0,
                         "children": [["c", f"m{(i + 1) % n}"]]} for i in range(n)]
    problem = report_data_problem(data)
    assert problem is not None and "the children form a cycle" in problem, problem


def test_a_dict_given_to_diff_is_checked_too():
    from flowflops.result import diff

    with pytest.raises(ReportFileError, match=r"^the dict is not a flowflops report: records\[0\]\.macs is -12"):
        diff(_good(), _bad("negative macs"))
