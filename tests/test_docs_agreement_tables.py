"""docs/agreement.md's sweep tables are the recorded sweeps, cell for cell: each table naming a
``sweeps/*.json`` (``<!-- figures: sweeps/<file>.json -->``, written by ``sweeps/agreement.py
--json``) is regenerated from that file by the sweep's own ``markdown()`` and compared line by
line with the page: the "N models: ..." line above it, the header, and every row (model, status,
MACs, params, and the why / config column with its layer counts). The one edit the page may make:
an absolute path up to ``site-packages/`` in an error text is shortened to ``site-packages/``.
tests/test_docs.py only finds each figure somewhere in the file. Quick: nothing is counted."""
import importlib.util
import json
import re

from docs_pages import ROOT, tables
import sweep_scripts

PAGE = ROOT / "docs" / "agreement.md"


def _sweep_markdown():
    return sweep_scripts.load("agreement").markdown


def test_agreement_tables_are_the_recorded_sweeps():
    markdown = _sweep_markdown()
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    checked, problems = 0, []
    for t in tables(PAGE):
        files = [s for s in t.sources if s.startswith("sweeps/") and s.endswith(".json")]
        if not files:
            continue
        checked += 1
        [src] = files
        want = markdown(json.loads((ROOT / src).read_text())).splitlines()
        want = [re.sub(r"/\S*/site-packages/", "site-packages/", w) for w in want]
        summary, table = want[0], [w for w in want[1:] if w.startswith("|")]
        page = lines[t.line - 1:t.line - 1 + len(table)]
        for k, (p, w) in enumerate(zip(page, table)):
            if p != w:
                problems.append(f"{src}: page line {t.line + k}\n  page:     {p}\n  recorded: {w}")
        if len(t.rows) + 1 != len(table):  # the |---| line is not a row
            problems.append(f"{src}: {len(t.rows) - 1} rows on the page, {len(table) - 2} recorded")
        above = [line for line in lines[:t.line - 1] if re.match(r"^\d+ models: ", line)]
        if not above or above[-1] != summary:
            problems.append(f"{src}: the line above the table should read {summary!r}")
    assert checked >= 2, "docs/agreement.md's sweep tables no longer name their sweeps/*.json"
    assert not problems, "\n".join(problems)


def test_the_outside_csv_sample_is_the_scripts_selection():
    """sweeps/agreement_timm_outside_csv.json (docs/agreement.md's last table) holds first the 30
    names ``--timm-outside-csv 30`` picks, in its order, none of them a row of timm's published
    CSV; the rows after them are what ``--timm-outside-csv all --append`` adds: other names of
    ``outside_csv_timm_names_all()``, in its order, each once."""
    import csv

    import pytest

    if importlib.util.find_spec("timm") is None:
        pytest.skip("the torch-models extra is not installed: `make torch-models`")
    from flowflops.torch_models import mocked_torch

    mod = sweep_scripts.load("agreement")
    with mocked_torch():
        picked = mod.outside_csv_timm_names(30)
        every = mod.outside_csv_timm_names_all()
    rows = json.loads((ROOT / "sweeps" / "agreement_timm_outside_csv.json").read_text())
    names = [r["name"] for r in rows]
    assert names[:30] == [f"timm:{n}" for n in picked]
    with open(ROOT / "sweeps" / "data" / "timm_infer_pt112.csv", newline="") as f:
        published = {r["model"] for r in csv.DictReader(f)}
    assert len(picked) == 30 and not published & set(picked)
    assert all(mod.SMALL.search(n) and not mod.LARGE.search(n) for n in picked)
    added = names[30:]
    assert len(added) == len(set(added)) and not set(added) & set(names[:30])
    order = [f"timm:{n}" for n in every]
    assert added == [n for n in order if n in set(added)], "appended rows out of the script's order"
