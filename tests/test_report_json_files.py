"""Hostile report files given to `flowflops diff` / `compare` (issue 29): each is one line on
stderr and exit 2, never a traceback, a hang or memory run out."""
import os

import pytest

from flowflops.cli.command import run


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


CASES = {
    "deep": ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    "long int": ('{"mode": "eager", "modules": {}, "records": [], "macs": ' + "9" * 5000 + "}", "not a report's JSON"),
    "nan": ('{"mode": "eager", "modules": {}, "records": [], "macs": NaN}', "NaN is not a count"),
    "infinity": ('{"mode": "eager", "modules": {}, "records": [], "macs": -Infinity}', "-Infinity is not a count"),
    "not json": ("hello", "not JSON"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["diff", "compare"])
def test_a_hostile_report_file_is_one_line_and_exit_2(tmp_path, capsys, case, command):
    text, want = CASES[case]
    bad = _write(tmp_path / "bad.json", text)
    code = run([command, bad, bad])
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert err.count("\n") == 1 and err.startswith("flowflops: error: cannot read report"), err
    assert want in err, err


def test_a_device_file_is_refused_without_reading_it(capsys):
    """/dev/zero was read until memory ran out."""
    assert os.path.exists("/dev/zero")
    code = run(["diff", "/dev/zero", "/dev/zero"])
    out, err = capsys.readouterr()
    assert code == 2 and "not a regular file" in err, (code, err)


# -- --symbolic formula files given to `flowflops diff` (flowflops/cli/symbolic.py's reader) ----
@pytest.fixture(scope="module")
def symbolic_file(tmp_path_factory):
    """A real --symbolic --format json file (tests.test_symbolic:small_cnn, graph mode)."""
    path = str(tmp_path_factory.mktemp("sym") / "sym.json")
    assert run(["tests.test_symbolic:small_cnn", "--input-shape", "B,3,H,W", "--symbolic", "--domain",
                "H=2,W=2", "--mode", "graph", "--format", "json", "--output", path]) == 0
    return path


# each raised past the reader before (exit 1): found by setting every field of such a file, in
# turn, to null, "x", -1, 1.5, [], {}, true, 10**40, [[1]] and {"a": 1} (4,000 files, 383 exit 1)
SYMBOLIC_CASES = {
    "domain null": (["domain"], None),                              # was AttributeError
    "domain empty": (["domain"], {}),                               # was KeyError: 'B'
    "a negative domain step": (["domain", "B", 1], -1),              # was IndexError
    "a term's power a string": (["total", "macs", "terms", 0, 0], "x"),  # was TypeError
    # formulas that do not add up (each read without a word before): the model's own module
    # formulas must be the totals, and the op types' MACs / FLOPs / bytes must sum to them
    "a total MACs coefficient changed": (["total", "macs", "terms", 0, 1], "999999"),
    "the model's FLOPs formula changed": (["modules", "", "flops", "terms", 0, 1], "7/3"),
    "one op type's MACs changed": (["operators", "conv2d", "macs", "terms", 0, 1], "1"),
}


@pytest.mark.slow  # the fixture runs 9 graph counts
@pytest.mark.parametrize("case", sorted(SYMBOLIC_CASES))
def test_a_broken_symbolic_file_is_one_line_and_exit_2(tmp_path, capsys, symbolic_file, case):
    import json

    keys, value = SYMBOLIC_CASES[case]
    with open(symbolic_file) as f:
        data = json.load(f)
    target = data
    for k in keys[:-1]:
        target = target[k]
    target[keys[-1]] = value
    bad = _write(tmp_path / "bad.json", json.dumps(data))
    assert run(["diff", symbolic_file, bad]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "--symbolic JSON file" in err
    assert run(["diff", symbolic_file, symbolic_file]) == 0  # the good file still reads
