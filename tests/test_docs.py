"""What the docs say is what a user gets: every python block of README.md and docs/*.md runs, a
page's blocks in order in one namespace as a reader runs them, and prints what the page shows
after it; every figure in a docs table comes from a named test, script or recorded result that
holds it, so a changed number fails here (see tests/docs_pages.py for the page conventions:
``<!-- requires: ... -->`` before a block, ``<!-- figures: ... -->`` before a table)."""
import contextlib
import importlib.util
import io
import re

import pytest

from docs_pages import PAGES, ROOT, blocks, figures, found, ratio_errors, source_numbers, tables


def _id(page):
    return str(page.relative_to(ROOT))


RUNNABLE = [p for p in PAGES if any(b.lang == "python" for b in blocks(p))]


def test_every_python_block_compiles_and_names_real_modules():
    for page in PAGES:
        # a stray fence would swallow the blocks after it into one unrun block
        opened = len(re.findall(r"^```python\s*$", page.read_text(encoding="utf-8"), re.M))
        assert opened == sum(b.lang == "python" for b in blocks(page)), f"{_id(page)}: unbalanced ``` fences"
        for b in blocks(page):
            if b.lang == "python":
                compile(b.code, f"{_id(page)}:{b.line}", "exec")  # a SyntaxError names the page and line
            for mod in b.requires:
                assert re.fullmatch(r"[\w.]+", mod), f"{_id(page)}:{b.line}: bad requires entry {mod!r}"


@pytest.mark.slow  # the pages count real models (ResNet-50, decoders, timm/HF models)
@pytest.mark.parametrize("page", RUNNABLE, ids=_id)
def test_page_blocks_run_in_order_and_print_what_the_page_shows(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files a block writes (plots, JSON) land here
    ns = {"__name__": "__main__"}
    for b in blocks(page):
        if b.lang != "python":
            continue
        missing = [m for m in b.requires if importlib.util.find_spec(m.split(".")[0]) is None]
        if missing:
            pytest.skip(f"{_id(page)} line {b.line} needs {', '.join(missing)}: install the "
                        "torch-models extra (make torch-models) to run it")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(b.code, f"{_id(page)}:{b.line}", "exec"), ns)
        if b.expected is not None:
            assert out.getvalue() == b.expected, f"{_id(page)} line {b.line} printed:\n{out.getvalue()}"


def _sources(table):
    files, tests = [], []
    for s in table.sources:
        s = s.split(" (")[0]  # "path (a note)": the note is for the reader; the path is checked as any other
        path, _, fn = s.partition("::")
        files.append(ROOT / path) if not fn else tests.append((ROOT / path, fn))
    return files, tests


def test_every_docs_table_names_where_its_figures_come_from():
    problems = []
    for page in PAGES:
        for t in tables(page):
            where = f"{_id(page)}:{t.line}"
            if figures(t) and not t.sources:
                problems.append(f"{where}: a table with figures and no <!-- figures: ... --> line before it")
            files, tests = _sources(t)
            for f in files:
                if not f.exists():
                    problems.append(f"{where}: its source {f.relative_to(ROOT)} does not exist")
            for f, fn in tests:
                if not f.exists() or not re.search(rf"^def {re.escape(fn)}\(", f.read_text(), re.M):
                    problems.append(f"{where}: no test {fn} in {f.relative_to(ROOT)}")
    assert not problems, "\n".join(problems)


def test_docs_table_figures_are_in_their_sources():
    """A figure of a table whose sources are files (tests that assert it, benchmark results that
    record it) must be written in one of them, as is or rounded as printed. Tables checked by a
    named test (``file::test``) are recomputed by that test."""
    problems = []
    for page in PAGES:
        for t in tables(page):
            files, tests = _sources(t)
            if not files or tests:
                continue
            numbers = source_numbers([f for f in files if f.exists()])
            missing = [x for x in figures(t) if not found(x, numbers)] + ratio_errors(t)
            if missing:
                problems.append(f"{_id(page)}:{t.line}: {', '.join(missing)} not in "
                                f"{', '.join(str(f.relative_to(ROOT)) for f in files)}")
    assert not problems, "\n".join(problems)


def test_the_pages_say_how_to_install_this_project():
    """Nothing tells a user to `pip install flowflops` from the index (the 2022 original there);
    this distribution's version sorts above the original's."""
    from packaging.version import Version

    for page in PAGES:
        for b in blocks(page):
            # `pip install flowflops`, `"flowflops[x]"`, `flowflops -r r.txt`: the index's; `flowflops @ git+...` is not
            assert not re.search(r"pip install\s+(?:-\S+\s+)*[\"']?flowflops(\[[\w,-]+\])?(?![\w.\[-])(?![\"']?\s*@)",
                                 b.code), \
                f"{_id(page)}:{b.line} installs flowflops from the package index"
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert Version(version) > Version("0.0.1.post2211300851")


def test_every_file_the_pages_name_exists():
    """A backticked path (`flowflops/render/units.py`, `formulas/zero.py`, `examples/x.py`) names
    a file of this repository (from its root or from flowflops/): a moved file fails here."""
    problems = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for path in re.findall(r"`([\w./-]+/[\w.-]+\.(?:py|json|md|txt))`", text):
            if "<" in path or not any((base / path).exists() for base in (ROOT, ROOT / "flowflops")):
                problems.append(f"{_id(page)}: {path}")
    assert not problems, "paths that do not exist:\n" + "\n".join(problems)
