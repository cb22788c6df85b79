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
