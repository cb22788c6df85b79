"""Every `flowflops ...` command of README.md and docs/*.md is one the command accepts (its
options and subcommands exist: parsed by the real parsers, nothing counted), and every file a
command reads (`graph-text FILE`, `diff A B`, `compare A B ...`) is made earlier on the same page
(`--output FILE`, `> FILE`), so a reader can run a page's commands in order."""
import re
import shlex

import pytest

from docs_pages import PAGES, ROOT, blocks

READS = {"graph-text", "diff", "compare", "explain"}  # subcommands that read report or graph files
# (and `check MODEL --baseline FILE`'s file)


def commands(page):
    """(line, argv) of each `flowflops ...` line of the page's shell blocks, in order, and the
    files the page's shell lines write before each command."""
    made, out = set(), []
    for b in blocks(page):
        if b.lang == "python":
            continue
        heredoc = None
        for k, line in enumerate(b.code.splitlines()):
            if heredoc:
                heredoc = None if line.strip() == heredoc else heredoc
                continue
            m = re.search(r"<<\s*'?(\w+)'?", line)
            heredoc = m.group(1) if m else None
            s = line.split(" #")[0].strip()
            if s.startswith("flowflops "):
                out.append((b.line + 1 + k, shlex.split(s)[1:], set(made)))
            made.update(re.findall(r"(?:--output|>)\s+([\w./-]+)", s))
    return out


ALL = [(page, line, argv, made) for page in PAGES for line, argv, made in commands(page)]


def _id(case):
    page, line, argv, _ = case
    return f"{page.relative_to(ROOT)}:{line}"


@pytest.fixture
def parse_only(monkeypatch):
    """flowflops.cli.command.run with every subcommand's action replaced: parsing only."""
    from flowflops.cli import command, llm

    seen = []
    for name in ("_cmd_model", "_cmd_zoo", "_cmd_graph_text", "_cmd_diff", "_cmd_compare"):
        monkeypatch.setattr(command, name, lambda args: seen.append(args) or 0)
    monkeypatch.setattr(llm, "cmd_sweep", lambda args: seen.append(args) or 0)
    from flowflops.cli import explain

    for name in ("cmd_explain", "cmd_check"):
        monkeypatch.setattr(explain, name, lambda args: seen.append(args) or 0)
    return lambda argv: (command.run(argv), seen)


def test_the_pages_show_commands():
    assert len(ALL) >= 20, [(_id(c), c[2]) for c in ALL]  # README 5, cli.md 8, html.md 8, ...


@pytest.mark.parametrize("case", ALL, ids=_id)
def test_documented_command_parses_and_reads_only_files_made_before(case, parse_only):
    page, line, argv, made = case
    try:
        status, seen = parse_only(argv)
    except SystemExit as exc:  # argparse: an unknown option or a bad value
        pytest.fail(f"{_id(case)}: `flowflops {' '.join(argv)}` is refused by the parser (exit {exc.code})")
    assert status == 0 and len(seen) == 1, f"{_id(case)}: `flowflops {' '.join(argv)}` did not parse"
    files = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--baseline"]
    if argv[0] in READS:
        files += [a for a in argv[1:] if not a.startswith("-") and re.search(r"\.(json|txt)$", a)]
    if files:
        missing = [f for f in files if f not in made]
        assert not missing, f"{_id(case)}: reads {missing}, which no earlier command on the page writes"
