"""fvcore 0.1.5's printed statistics (``fvcore/nn/print_model_statistics.py`` and
``parameter_count.py``), laid out as fvcore prints them:

- :func:`flop_count_table`: the per-module table (``| module | #parameters or shape | #flops |``)
  in tabulate's "pipe" layout, modules whose statistics are all zero dropped when their
  children are, a module with a single child of the same statistics merged into one row,
  parameter rows showing their shape;
- :func:`flop_count_str`: the model's ``repr`` with ``#params: ..., #flops: ...`` added to each
  module that has any (``N/A`` for a module that never ran);
- :func:`parameter_count_table`: fvcore's ``| name | #elements or shape |`` table.

Reads counts (module name -> number) and the model's tree; computes nothing but the layout.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

__all__ = ["flop_count_table", "flop_count_str", "parameter_count_table", "format_size"]

Stats = Dict[str, Dict[str, Any]]


def format_size(x: int, decimals: int = 3, hide_zero: bool = False) -> str:
    """fvcore's ``_format_size``: 1234 -> ``1.234K``; trailing zeros dropped; up to 100 as is
    (the thresholds are 1e2, 1e5, 1e8, 1e11, 1e14: 0.2K is 200, 0.128M is 128,000)."""
    if hide_zero and x == 0:
        return ""
    for limit, scale, unit in ((1e14, 1e15, "P"), (1e11, 1e12, "T"), (1e8, 1e9, "G"), (1e5, 1e6, "M"),
                               (1e2, 1e3, "K")):
        if abs(x) > limit:
            text = f"{x / scale:.{decimals}f}".rstrip("0").rstrip(".")
            return text + unit
    return str(x)


def _short_size(x: int) -> str:
    """parameter_count_table's own sizes: one decimal (``25.6M``)."""
    for limit, scale, unit in ((1e8, 1e9, "G"), (1e5, 1e6, "M"), (1e2, 1e3, "K")):
        if x > limit:
            return f"{x / scale:.1f}{unit}"
    return str(x)


def _children(name: str, names: Sequence[str]) -> List[str]:
    """The names one level below ``name`` (the root is ``""``), in ``names``' order."""
    prefix = name + ("." if name else "")
    return [m for m in names if m and m.count(".") == prefix.count(".") and m.startswith(prefix)]


# -- the table layout -------------------------------------------------------------------------
def _is_int(cell: str) -> bool:
    text = cell.strip()
    return text.lstrip("+-").isdigit()


def _pipe_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """tabulate's ``tablefmt="pipe"`` as tabulate 0.10 prints fvcore's tables: each cell
    stripped (fvcore indents nested rows and sets ``tabulate.PRESERVE_WHITESPACE``, which
    tabulate 0.10 no longer reads, so the indent is gone in what fvcore prints there); a column
    whose cells are all integers (or empty) is right-aligned, any other left-aligned; each
    column as wide as its widest cell and at least its header plus 2."""
    ncol = len(headers)
    cols = [[(r[i] if i < len(r) else "").strip() for r in rows] for i in range(ncol)]
    numeric = [bool(c) and all(_is_int(v) or v == "" for v in c) and any(v != "" for v in c) for c in cols]
    widths = [max([len(headers[i]) + 2] + [len(v) for v in cols[i]]) for i in range(ncol)]

    def cell(text: str, i: int) -> str:
        return text.rjust(widths[i]) if numeric[i] else text.ljust(widths[i])

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell(c, i) for i, c in enumerate(cells)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if numeric[i] else (":" + "-" * (w + 1))
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), rule] + [line([cols[i][r] for i in range(ncol)]) for r in range(len(rows))])


# -- flop_count_table -------------------------------------------------------------------------
def _drop_zero(stats: Mapping[str, Mapping[str, int]], keep_nonzero_children: bool,
               force_keep: Set[str]) -> Stats:
    """Drop the modules whose statistics are all zero (never the root, never ``force_keep``);
    with ``keep_nonzero_children`` a module stays while one of its children stays."""
    names = list(stats)
    out: Stats = {}

    def visit(name: str) -> None:
        kids = _children(name, names)
        for kid in kids:
            visit(kid)
        kept_kid = any(k in out for k in kids)
        if (any(v != 0 for v in stats[name].values()) or name in force_keep or name == ""
                or (keep_nonzero_children and kept_kid)):
            out[name] = dict(stats[name])

    visit("")
    # fvcore fills the result depth first (children before their parent); keep that order
    return out


def _merge_single_child(name: str, stats: Stats) -> Tuple[str, Dict[str, Any]]:
    """A row whose only child has the same statistics (an empty cell matches anything) becomes
    the child's row, under the child's name; repeated down the chain."""
    kids = _children(name, list(stats))
    if len(kids) != 1:
        return name, stats[name]
    mine, theirs = stats[name], stats[kids[0]]
    if set(mine) != set(theirs):
        return name, mine
    merged: Dict[str, Any] = {}
    for key, value in mine.items():
        other = theirs[key]
        if value != other and len(value) and len(other):
            return name, mine
        merged[key] = value if len(value) else other
    stats[kids[0]] = merged
    return _merge_single_child(kids[0], stats)


def _stats_table(stats: Stats, columns: Sequence[str], max_depth: int) -> str:
    table: List[List[str]] = []

    def row(name: str, values: Dict[str, Any], level: int) -> List[str]:
        pad = " " * level
        return [pad + name] + [(pad + values[c]) if c in values else "" for c in columns]

    root, values = _merge_single_child("", stats)
    table.append(row(root or "model", values, 0))
    root_prefix = root + ("." if root else "")

    def fill(level: int, prefix: str) -> None:
        if level > max_depth:
            return
        for name in list(stats):
            if name and name.count(".") == prefix.count(".") and name.startswith(prefix):
                name, values = _merge_single_child(name, stats)
                shown = name[len(root_prefix):] if root_prefix and name.startswith(root_prefix) else name
                table.append(row(shown, values, level))
                fill(level + 1, name + ".")

    fill(1, root_prefix)
    return _pipe_table(["module"] + list(columns), table)


def flop_count_table(modules: Sequence[str], params: Mapping[str, int], flops: Mapping[str, int],
                     uncalled: Set[str], param_shapes: Mapping[str, Tuple[int, ...]],
                     max_depth: int = 3, show_param_shapes: bool = True,
                     acts: Optional[Mapping[str, int]] = None, acts_uncalled: Optional[Set[str]] = None) -> str:
    """fvcore's ``flop_count_table``. ``params``: name (module or parameter) -> parameters under
    it, in fvcore's ``parameter_count`` order; ``flops``: module -> count; ``uncalled``: modules
    that never ran (their flops cell is left empty)."""
    p_head = "#parameters" + (" or shape" if show_param_shapes else "")
    columns = [p_head, "#flops"] + (["#activations"] if acts is not None else [])
    raw: Dict[str, Dict[str, int]] = {}
    counted = [(p_head, params), ("#flops", flops)] + ([("#activations", acts)] if acts is not None else [])
    for column, values in counted:
        for name, value in values.items():
            raw.setdefault(name, {})[column] = int(value)
    stats = _drop_zero(raw, keep_nonzero_children=True, force_keep=set())
    text: Stats = {m: {k: format_size(v) for k, v in s.items()} for m, s in stats.items()}
    gaps = [("#flops", uncalled)] + ([("#activations", acts_uncalled or set())] if acts is not None else [])
    for column, missing in gaps:
        for m in missing & set(text):
            text[m][column] = ""
    for name in list(text):
        if name in param_shapes:
            if show_param_shapes:
                text[name][p_head] = str(tuple(param_shapes[name]))
            else:
                del text[name]
    return _stats_table(text, columns, max_depth)


# -- flop_count_str ---------------------------------------------------------------------------
def _indent_tail(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return lines[0] if len(lines) == 1 else "\n".join([lines[0]] + [" " * spaces + s for s in lines[1:]])


def flop_count_str(model: Any, params: Mapping[str, int], flops: Mapping[str, int], uncalled: Set[str],
                   acts: Optional[Mapping[str, int]] = None, acts_uncalled: Optional[Set[str]] = None) -> str:
    """fvcore's ``flop_count_str``: ``repr(model)`` with each module's ``#params`` and
    ``#flops`` (two decimals; a module with neither is left bare; ``N/A`` for one that never
    ran)."""
    names = [n for n, _ in model.named_modules()]
    columns = [("#params", params), ("#flops", flops)] + ([("#acts", acts)] if acts is not None else [])
    raw = {n: {c: int(v.get(n, 0)) for c, v in columns} for n in names}
    every_uncalled = set(uncalled) | (set(acts_uncalled or ()) if acts is not None else set())
    stats = _drop_zero(raw, keep_nonzero_children=False, force_keep=every_uncalled)
    text: Stats = {m: {k: format_size(v, 2) for k, v in s.items()} for m, s in stats.items()}
    for column, missing in [("#flops", uncalled)] + ([("#acts", acts_uncalled or set())] if acts is not None else []):
        for m in missing:
            text.setdefault(m, {})[column] = "N/A"

    def described(module: Any, name: str) -> str:
        extra = str(module.extra_repr())
        extra_lines = extra.split("\n") if extra else []
        if name in text:
            extra_lines += ", ".join(f"{k}: {v}" for k, v in text[name].items()).split("\n")
        child_lines = []
        for key, sub in module._modules.items():
            sub_name = name + ("." if name else "") + key
            child_lines.append("(" + key + "): " + _indent_tail(described(sub, sub_name), 2))
        lines = extra_lines + child_lines
        head = str(module._get_name()) + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                head += extra_lines[0]
            else:
                head += "\n  " + "\n  ".join(lines) + "\n"
        return head + ")"

    out = ""
    if every_uncalled:
        out += ("N/A indicates a possibly missing statistic due to how the module was called. "
                "Missing values are still included in the parent's total.\n")
    return out + described(model, "")


# -- parameter_count_table --------------------------------------------------------------------
def parameter_count_table(params: Mapping[str, int], param_shapes: Mapping[str, Tuple[int, ...]],
                          max_depth: int = 3) -> str:
    """fvcore's ``parameter_count_table``: the model, then modules and parameters to
    ``max_depth`` levels (a parameter shows its shape, a module its size and its contents)."""
    rows: List[List[str]] = [["model", _short_size(int(params.get("", 0)))]]

    def fill(level: int, prefix: str) -> None:
        if level >= max_depth:
            return
        for name, value in params.items():
            if name and name.count(".") == level and name.startswith(prefix):
                pad = " " * (level + 1)
                if name in param_shapes:
                    rows.append([pad + name, pad + str(tuple(param_shapes[name]))])
                else:
                    rows.append([pad + name, pad + _short_size(int(value))])
                    fill(level + 1, name + ".")

    fill(0, "")
    return _pipe_table(["name", "#elements or shape"], rows)
