"""docs/agreement.md's sweep tables, row by row, against the sweep's recorded output each names
(``<!-- figures: sweeps/<file>.json -->``, written by ``sweeps/agreement.py --json``): the same
models in the same order, each row's status, MACs and params as recorded, and the line above the
table ("N models: ...") counted from the file. tests/test_docs.py only finds each figure
somewhere in the file; this ties it to its model. Quick: nothing is counted."""
import json
import re

from docs_pages import ROOT, tables

PAGE = ROOT / "docs" / "agreement.md"


def _fmt(x):
    return f"{x:,}" if isinstance(x, int) else ""


def test_agreement_tables_are_the_recorded_sweeps():
    text = PAGE.read_text(encoding="utf-8").splitlines()
    checked, problems = 0, []
    for t in tables(PAGE):
        files = [s for s in t.sources if s.startswith("sweeps/") and s.endswith(".json")]
        if not files:
            continue
        checked += 1
        [src] = files
        rows = json.loads((ROOT / src).read_text())
        assert t.rows[0][:4] == ["model", "status", "MACs", "params"]
        page = [(r[0], r[1], r[2], r[3]) for r in t.rows[1:]]
        want = [(r["name"], r["status"], _fmt(r.get("macs")), _fmt(r.get("params"))) for r in rows]
        if page != want:
            problems += [f"{src}: page {p} != recorded {w}" for p, w in zip(page, want) if p != w]
            if len(page) != len(want):
                problems.append(f"{src}: {len(page)} rows on the page, {len(want)} recorded")
        counts = {}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        summary = f"{len(rows)} models: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + "."
        above = [line for line in text[:t.line - 1] if re.match(r"^\d+ models: ", line)]
        if not above or above[-1] != summary:
            problems.append(f"{src}: the line above the table should read {summary!r}")
    assert checked >= 2, "docs/agreement.md's sweep tables no longer name their sweeps/*.json"
    assert not problems, "\n".join(problems)
