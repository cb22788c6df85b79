"""torch.utils.flop_counter's printed table (torch 2.14, ``FlopCounterMode.get_table``): one row
per module up to ``depth`` (sorted by name) with its FLOPs and share, one `` - op`` row per op
under it, a ``Global`` row first only when some FLOPs are outside every module, in tabulate's
"simple" layout with the columns aligned left, right, right (the indent torch puts before
nested names is stripped by tabulate 0.10, as printed there). Reads counts; computes nothing
but the layout."""
from __future__ import annotations

from typing import Dict, List, Optional

__all__ = ["flop_table"]

_SUFFIXES = ["", "K", "M", "B", "T"]


def _suffix(number: int) -> str:
    """get_suffix_str: 1.01 B is shown as 1010 M (flop_counter.py:858-863)."""
    return _SUFFIXES[max(0, min(len(_SUFFIXES) - 1, (len(str(number)) - 2) // 3))]


def _with_suffix(number: int, suffix: str) -> str:
    return f"{number / 1000 ** _SUFFIXES.index(suffix):.3f}" + suffix


def _percent(num: int, denom: int) -> str:
    return "0%" if denom == 0 else f"{num / denom:.2%}"


def flop_table(counts: Dict[str, Dict[str, int]], depth: Optional[int] = 2) -> str:
    """The table for ``counts`` (module name -> op -> FLOPs, with ``"Global"``)."""
    depth = 999999 if depth is None else depth
    total = sum(counts.get("Global", {}).values())
    suffix = _suffix(total)
    subsumed = False

    def rows_of(name: str, level: int) -> List[List[str]]:
        nonlocal subsumed
        ops = counts.get(name, {})
        flops = sum(ops.values())
        subsumed |= flops >= total
        pad = " " * level
        out = [[pad + name, _with_suffix(flops, suffix), _percent(flops, total)]]
        out += [[pad + " - " + op, _with_suffix(v, suffix), _percent(v, total)] for op, v in ops.items()]
        return out

    rows: List[List[str]] = []
    for name in sorted(counts):
        if name == "Global" or name.count(".") + 1 > depth:
            continue
        rows += rows_of(name, name.count("."))
    if "Global" in counts and not subsumed:
        rows = rows_of("Global", 0) + [[" " + r[0]] + r[1:] for r in rows]
    if not rows:
        rows = [["Global", "0", "0%"]]
    header = ["Module", "FLOP", "% Total"]
    rows = [[c.strip() for c in r] for r in rows]  # tabulate strips the indent torch adds
    widths = [max([len(header[i]) + 2] + [len(r[i]) for r in rows]) for i in range(3)]  # MIN_PADDING 2

    def line(cells: List[str]) -> str:
        return "  ".join([cells[0].ljust(widths[0]), cells[1].rjust(widths[1]), cells[2].rjust(widths[2])])

    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])
