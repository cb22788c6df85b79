"""Reading README.md and docs/*.md as a reader does: their fenced code blocks (with the output a
block promises) and their tables (with the source their figures come from). Used by
tests/test_docs.py."""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))

#: ``<!-- requires: timm, transformers -->`` just before a block: the modules it needs (the
#: page's blocks skip, with the reason, where one is missing).
REQUIRES = re.compile(r"<!--\s*requires:\s*([\w., ]+?)\s*-->")
#: ``<!-- figures: tests/test_x.py, benchmarks/y.json -->`` just before a table: where its
#: figures come from (each a file that asserts or records them).
FIGURES = re.compile(r"<!--\s*figures:\s*(.+?)\s*-->")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    expected: Optional[str] = None  # what the block prints, when the page shows it
    requires: List[str] = field(default_factory=list)


@dataclass
class Table:
    page: Path
    line: int
    rows: List[List[str]]  # header first, the |---| line left out
    sources: List[str] = field(default_factory=list)


def _before(lines: List[str], i: int) -> str:
    """The nearest non-blank line before line index ``i``."""
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    return lines[j] if j >= 0 else ""


def blocks(page: Path) -> List[Block]:
    """Every fenced block of ``page``. A python block's expected output is the ```text block right
    after it, or (the quick start's form) the ``# `` lines that end it after a ``print``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: List[Block] = []
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        req = REQUIRES.search(_before(lines, i))
        out.append(Block(page, i + 1, m.group(1), "\n".join(lines[i + 1:j]) + "\n",
                         requires=[r.strip() for r in req.group(1).split(",")] if req else []))
        i = j + 1
    for k, b in enumerate(out):
        if b.lang != "python":
            continue
        nxt = out[k + 1] if k + 1 < len(out) else None
        between = lines[b.line + b.code.count("\n"):nxt.line - 1] if nxt else []
        if nxt is not None and nxt.lang == "text" and not any(s.strip() for s in between):
            b.expected = nxt.code
            continue
        code = b.code.rstrip("\n").split("\n")
        tail = []
        while code and code[-1].startswith("# "):
            tail.insert(0, code.pop()[2:])
        if tail and code and "print(" in "\n".join(code):
            b.expected = "\n".join(tail) + "\n"
    return out


def tables(page: Path) -> List[Table]:
    """Every Markdown table of ``page`` outside code blocks, with the sources its comment names."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: List[Table] = []
    fence = False
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            fence = not fence
        if fence or not lines[i].startswith("|"):
            i += 1
            continue
        start, rows = i, []
        while i < len(lines) and lines[i].startswith("|"):
            if not re.match(r"^\|[\s:|-]+\|\s*$", lines[i]):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
            i += 1
        src = FIGURES.search(_before(lines, start))
        out.append(Table(page, start + 1, rows, [s.strip() for s in src.group(1).split(",")] if src else []))
    return out


#: A figure: a number not glued to a letter (``H100``, ``fp16``, ``x2`` and ``ResNet-50`` are names).
NUMBER = re.compile(r"(?<![\w.\-/,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w\-]|[.,]\d)")
#: A figure in prose: as :data:`NUMBER`, and also a ratio's ``x`` (``1.15x``) and both ends of a
#: range (``1.61-1.73x``); ``48-layer`` and ``LLaMA-2`` stay names.
PROSE_NUMBER = re.compile(r"(?<![\w./,])(?<![A-Za-z_]-)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?!(?!x\b)\w|[.,]\d|-[A-Za-z])")


#: ``a / b = r`` in a cell: ``r`` is checked as the quotient (:func:`ratio_errors`), not looked up.
RATIO = re.compile(r"([\d,.]+) / ([\d,.]+) = ([\d.]+)")


def ratio_errors(table: Table) -> List[str]:
    """Each ``a / b = r`` of the table whose ``r`` is not ``a / b`` rounded as printed."""
    bad = []
    for row in table.rows[1:]:
        for cell in row[1:]:
            for a, b, r in RATIO.findall(cell):
                q = float(a.replace(",", "")) / float(b.replace(",", ""))
                if f"{q:.{len(r.split('.')[1]) if '.' in r else 0}f}" != r:
                    bad.append(f"{a} / {b} = {r} (it is {q:.6f})")
    return bad


def figures(table: Table) -> List[str]:
    """The figures of a table's body (not its header, not its first column: those are labels;
    nor the result of an ``a / b = r``, which :func:`ratio_errors` checks)."""
    out = []
    for row in table.rows[1:]:
        for cell in row[1:]:
            cell = re.sub(r"`[^`]*`", "", cell)  # code names are not figures
            cell = RATIO.sub(lambda m: f"{m.group(1)} / {m.group(2)}", cell)
            nums = [a + b for a, b in NUMBER.findall(cell)]
            out += [n for n in nums if len(n.replace(",", "").replace(".", "")) >= 3]
    return out


def source_numbers(paths: List[Path]) -> List[float]:
    """Every number written in these files (``1_822_930_408``, ``4,121,925,096``, ``1.5e9``)."""
    vals = []
    files = [f for p in paths for f in (sorted(p.rglob("*")) if p.is_dir() else [p]) if f.is_file()]
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        for tok in re.findall(r"\d[\d_,]*(?:\.\d+)?(?:[eE][-+]?\d+)?", text):
            try:
                vals.append(float(tok.replace("_", "").replace(",", "")))
            except ValueError:
                pass
    return vals


SCALES = (1.0, 1e3, 1e6, 1e9, 1e12, 1e-3, 1e-6, 1e-9, 0.01)


def found(fig: str, numbers: List[float]) -> bool:
    """Whether figure ``fig`` (as printed: commas, some decimals) is one of ``numbers`` as
    printed: the same integer, or rounded to its decimals after a unit scale (ms, G, %...)."""
    decimals = len(fig.split(".")[1]) if "." in fig else 0
    x = float(fig.replace(",", ""))
    if decimals == 0 and x >= 10_000:  # an exact count: written out in the source
        return any(y == x for y in numbers)
    for y in numbers:
        for s in SCALES:
            if abs(y / s - x) <= 0.5 * 10 ** -decimals + 1e-9 * abs(x):
                return True
    return False
