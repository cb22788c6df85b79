"""Text tables in prettytable's default layout, made in one pass.

prettytable's ``get_string`` spends tens of microseconds per cell (each cell is measured for
wide characters and escape codes several times), which makes a table of a 100,000-module
model take many seconds. :func:`grid` writes the same bytes as prettytable 3.x's default style
(``+---+`` frame, ``| `` separators, one space of padding, the header aligned like its
column) with one ``ljust``/``rjust`` per cell. Tables whose text a plain ``len`` cannot
measure (non-ASCII characters, control characters, line breaks) or that ask for centring are
handed to prettytable itself."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

__all__ = ["grid"]


def _plain(text: str) -> bool:
    """True for text whose width is its length: printable ASCII, no line break."""
    return text.isascii() and text.isprintable()


def grid(fields: Sequence[str], rows: Sequence[Sequence[Any]], align: Optional[Dict[str, str]] = None,
         default: str = "c") -> str:
    """The table of ``rows`` under ``fields`` as prettytable prints it with
    ``align`` (field -> ``"l"``, ``"r"`` or ``"c"``; ``default`` for the others); cells are
    ``str()``-ed as prettytable does for strings and ints."""
    align = align or {}
    how = [align.get(f, default) for f in fields]
    cells: List[List[str]] = [[str(c) for c in row] for row in rows]
    ok = rows and all(a in ("l", "r") for a in how) and all(_plain(f) for f in fields) and all(
        len(row) == len(fields) and all(_plain(c) for c in row) for row in cells)
    if not ok:
        return _prettytable(fields, rows, how)
    widths = [len(f) for f in fields]
    for row in cells:
        for i, c in enumerate(row):
            if len(c) > widths[i]:
                widths[i] = len(c)
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    just = [str.ljust if a == "l" else str.rjust for a in how]
    cols = list(zip(just, widths))

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(j(c, w) for (j, w), c in zip(cols, row)) + " |"

    out = [rule, line(fields), rule]
    out.extend(line(row) for row in cells)
    out.append(rule)
    return "\n".join(out)


def _prettytable(fields: Sequence[str], rows: Sequence[Sequence[Any]], how: Sequence[str]) -> str:
    from prettytable import PrettyTable

    t = PrettyTable(list(fields))
    for f, a in zip(fields, how):
        t.align[f] = a  # type: ignore[assignment]
    for row in rows:
        t.add_row(list(row))
    return t.get_string()
