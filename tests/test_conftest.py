"""The suite's ending (tests/conftest.py): what was skipped, why, and how to run everything."""
from types import SimpleNamespace

from conftest import summary_lines


def _skip(reason):
    # a skipped test's report: pytest keeps (file, line, "Skipped: <reason>")
    return SimpleNamespace(longrepr=("tests/test_x.py", 3, f"Skipped: {reason}"))


def test_skips_grouped_by_reason_most_first_with_how_to_run_all():
    browser = "no headless browser: no chromium on PATH (apt-get install chromium)"
    timm = "timm/transformers are not installed (make torch-models)"
    lines = summary_lines([_skip(timm), _skip(browser), _skip(browser)], deselected=0)
    assert lines[0] == f"2 skipped: {browser}" and lines[1] == f"1 skipped: {timm}"
    assert any("make torch-models" in s for s in lines[2:]) and any("chromium-driver" in s for s in lines[2:])


def test_deselected_tests_are_named_and_a_clean_run_says_nothing():
    lines = summary_lines([], deselected=195)
    assert lines[0] == "195 deselected (-m or -k): `make test` runs them all"
    assert summary_lines([], deselected=0) == []
