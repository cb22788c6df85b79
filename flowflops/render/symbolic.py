"""The strings of :mod:`flowflops.tools.symbolic`: a formula as a Python expression, as
LaTeX, and a model's formulas per module as text or Markdown. They read formulas and compute
nothing but their layout."""
from __future__ import annotations

from fractions import Fraction
from typing import Any, List, Tuple

__all__ = [
    "NAMES", "UNBOUNDED", "domain_text", "formula_text", "formula_latex", "domain_line", "symbolic_text",
    "symbolic_markdown", "symbolic_latex", "symbolic_diff_text", "domain_latex", "piecewise_text",
    "piecewise_latex", "piecewise_symbolic_text", "piecewise_symbolic_latex", "piecewise_symbolic_markdown",
    "piecewise_diff_text"
]

NAMES = {"macs": "MACs", "flops": "FLOPs", "params": "params", "bytes": "bytes"}
UNBOUNDED = 2 ** 62  # a domain (a range of sizes) that stops here has no upper bound


def domain_text(name: str, r: range) -> str:
    """``H`` is a multiple of 32 / ``T`` in 1..16 ...: the domain of one dimension in words."""
    top = "" if r.stop >= UNBOUNDED else f" up to {r[-1]}"
    if r.step == 1:
        return f"{name} >= {r.start}{top}" if not top else f"{name} in {r.start}..{r[-1]}"
    if r.start == r.step:
        return f"{name} a multiple of {r.step}{top}"
    return f"{name} = {r.start} + a multiple of {r.step}{top}"


def _int(n: int, latex: bool = False) -> str:
    """Digits grouped by thousands from 10,000 up (``1_822_930_408``; LaTeX ``1{,}822{,}...``),
    so that the text stays a valid Python number."""
    if abs(n) < 10_000:
        return str(n)
    return f"{n:,}".replace(",", "{,}") if latex else f"{n:_}"


def _ordered(terms: Any) -> List[Tuple[Tuple[int, ...], Fraction]]:
    """Terms, highest total degree first, then by exponents."""
    return sorted(terms.items(), key=lambda t: (-sum(t[0]), tuple(-e for e in t[0])))


def _common(terms: Any, n: int) -> Tuple[int, ...]:
    """The exponents of the monomial every term holds (all zero when one term or none)."""
    if len(terms) < 2:
        return (0,) * n
    return tuple(min(e[i] for e in terms) for i in range(n))


def _monomial(dims: Tuple[str, ...], exps: Tuple[int, ...], latex: bool) -> str:
    parts = []
    for d, e in zip(dims, exps):
        if e == 1:
            parts.append(d)
        elif e > 1:
            parts.append(f"{d}^{{{e}}}" if latex else f"{d}**{e}")
    return (" " if latex else "*").join(parts)


def _term(c: Fraction, mono: str, latex: bool) -> str:
    """``|c| * mono`` (the sign is written by the caller)."""
    p, q = abs(c.numerator), c.denominator
    if latex:
        num = _int(p, True) if q == 1 else f"\\frac{{{_int(p, True)}}}{{{_int(q, True)}}}"
        if not mono:
            return num
        return mono if (p, q) == (1, 1) else f"{num} {mono}"
    if not mono:
        return _int(p) if q == 1 else f"{_int(p)}/{_int(q)}"
    head = mono if p == 1 else f"{_int(p)}*{mono}"
    return head if q == 1 else f"{head}/{_int(q)}"


def _sum(dims: Tuple[str, ...], terms: Any, latex: bool) -> str:
    out = ""
    for exps, c in _ordered(terms):
        t = _term(c, _monomial(dims, exps, latex), latex)
        if not out:
            out = f"-{t}" if c < 0 else t
        else:
            out += f" - {t}" if c < 0 else f" + {t}"
    return out or "0"


def _expression(f: Any, latex: bool) -> str:
    dims, terms = f.dims, f.terms
    common = _common(terms, len(dims))
    if not any(common):
        return _sum(dims, terms, latex)
    inner = {tuple(a - b for a, b in zip(e, common)): c for e, c in terms.items()}
    head = _monomial(dims, common, latex)
    body = _sum(dims, inner, latex)
    return f"{head} \\left({body}\\right)" if latex else f"{head}*({body})"


def formula_text(f: Any) -> str:
    """A formula as a Python expression of its dimensions, e.g. ``B*(36*H*W + 512)`` (evaluated
    with :class:`fractions.Fraction` sizes it gives the exact value)."""
    return _expression(f, False)


def formula_latex(f: Any) -> str:
    """A formula as LaTeX (math mode, without the ``$``), e.g. ``B \\left(36 H W + 512\\right)``."""
    return _expression(f, True)


def domain_line(sym: Any) -> str:
    where = "; ".join(domain_text(d, sym.domain[d]) for d in sym.dims)
    return (f"exact for {where} (fitted on {len(sym.fit_points)} counts, checked at "
            f"{len(sym.check_points)} more; mode {sym.mode}, convention {sym.convention})")


def _shape(sym: Any) -> str:
    return "(" + ", ".join(str(s) for s in sym.spec) + ")"


def symbolic_text(sym: Any, depth: Any = None) -> str:
    """The model's formulas, then (with ``depth``) one line per module down to that depth."""
    lines = [f"input {_shape(sym)}: {domain_line(sym)}"]
    for q in ("macs", "flops", "params", "bytes"):
        lines.append(f"  {NAMES[q]:<6} = {sym.formula(q)}")
    if sym.unsupported:
        lines.append("  not priced (counted 0): " + ", ".join(f"{k} x{v}" for k, v in sym.unsupported.items()))
    if depth:
        lines.append("MACs per module:")
        for path, costs in sym.by_module().items():
            if not path or path.count(".") + 1 > depth:
                continue
            kind = sym.module_types.get(path, "")
            indent = "  " * (path.count(".") + 1)
            lines.append(f"{indent}{path} ({kind}): {costs.macs}" if kind else f"{indent}{path}: {costs.macs}")
    return "\n".join(lines)


def symbolic_markdown(sym: Any, depth: int = 1) -> str:
    """A Markdown table: the model and every module down to ``depth``, with each quantity's
    formula."""
    def code(f: Any) -> str:
        return f"`{f}`"

    lines = [f"Input {_shape(sym)}: {domain_line(sym)}.", "",
             "| module | type | MACs | FLOPs | params | bytes |", "|---|---|---|---|---|---|"]
    for path, c in sym.by_module().items():
        if path and path.count(".") + 1 > depth:
            continue
        name = path or "(model)"
        lines.append(f"| {name} | {sym.module_types.get(path, '')} | {code(c.macs)} | {code(c.flops)} | "
                     f"{code(c.params)} | {code(c.bytes)} |")
    return "\n".join(lines) + "\n"


def symbolic_latex(sym: Any, quantity: str = "macs") -> str:
    """``\\mathrm{MACs}(B, H, W) = ...`` for the whole model (math mode, without the ``$``)."""
    return f"\\mathrm{{{NAMES[quantity]}}}({', '.join(sym.dims)}) = {formula_latex(sym.formula(quantity))}"


def symbolic_diff_text(diff: Any, depth: Any = None, show_all: bool = False) -> str:
    """B - A for two models' formulas: the totals, then every module (to ``depth``) and op type
    whose formulas differ (``show_all``: also those that do not)."""
    a, b = diff.names
    where = "; ".join(domain_text(d, diff.domain[d]) for d in diff.dims)
    lines = [f"{b} - {a}, exact for {where}:"]
    for q in ("macs", "flops", "params", "bytes"):
        lines.append(f"  {NAMES[q]:<6}: {diff.a_total.formula(q)}  ->  {diff.b_total.formula(q)}")
        lines.append(f"  {'':<6}  change {diff.total.formula(q)}")
    for kind, title in (("module", "MACs per module (B - A)"), ("operator", "MACs per op type (B - A)")):
        rows = [r for r in diff.rows if r.kind == kind and (show_all or r.status != "same")
                and (kind != "module" or not r.key or depth is None or r.key.count(".") + 1 <= depth)]
        rows = [r for r in rows if r.key]  # the model itself is the totals above
        if not rows:
            continue
        lines.append(f"{title}:")
        for r in rows:
            indent = "  " * (r.key.count(".") + 1) if kind == "module" else "  "
            lines.append(f"{indent}{r.key} [{r.status}]: {r.delta.macs}")
    return "\n".join(lines)


def _piece_domain(split: Any, f: Any) -> str:
    return "; ".join(domain_text(d, f.domain[d]) for d in split)


def piecewise_text(pw: Any) -> str:
    """One line per residue class: its domain, then its formula."""
    return "\n".join(f"{_piece_domain(pw.split, f)}: {f}" for _, f in sorted(pw.pieces.items()))


def piecewise_symbolic_text(ps: Any, depth: Any = None) -> str:
    """Each residue class's formulas (:func:`symbolic_text`, modules to ``depth``), under its
    domain."""
    out = []
    for _, sym in sorted(ps.pieces.items()):
        out.append(f"where {'; '.join(domain_text(d, sym.domain[d]) for d in ps.split)}:")
        out.append(symbolic_text(sym, depth))
    return "\n".join(out)


def domain_latex(name: str, r: range) -> str:
    """A dimension's domain in LaTeX: ``H \\equiv 1 \\pmod{2}``, ``T \\geq 2``, ``1 \\leq T \\leq 16``;
    a lower bound beside the residue where the class starts above its first positive size."""
    top = None if r.stop >= UNBOUNDED else r[-1]
    if r.step == 1:
        if top is None:
            return f"{name} \\geq {r.start}"
        return f"{r.start} \\leq {name} \\leq {top}"
    residue = r.start % r.step
    parts = [f"{name} \\equiv {residue} \\pmod{{{r.step}}}"]
    if r.start > (residue or r.step):
        parts.append(f"{name} \\geq {r.start}")
    if top is not None:
        parts.append(f"{name} \\leq {top}")
    return ",\\ ".join(parts)


def piecewise_latex(pw: Any) -> str:
    """``\\begin{cases} f_0 & \\text{domain}_0 \\\\ ... \\end{cases}``: one row per residue class, in
    the order of the classes (the domain's 1st size is in class 0)."""
    sep = ",\\ "
    rows = [f"{formula_latex(f)} & {sep.join(domain_latex(d, f.domain[d]) for d in pw.split)}"
            for _, f in sorted(pw.pieces.items())]
    return "\\begin{cases} " + " \\\\ ".join(rows) + " \\end{cases}"


def piecewise_symbolic_latex(ps: Any, quantity: str = "macs") -> str:
    """``\\mathrm{MACs}(H) = \\begin{cases} ... \\end{cases}`` for the whole model."""
    return f"\\mathrm{{{NAMES[quantity]}}}({', '.join(ps.dims)}) = {piecewise_latex(ps.formula(quantity))}"


def piecewise_symbolic_markdown(ps: Any, depth: int = 1) -> str:
    """Each residue class's table (:func:`symbolic_markdown`) under a line naming its class."""
    out = []
    for _, sym in sorted(ps.pieces.items()):
        out.append(f"**Where {'; '.join(domain_text(d, sym.domain[d]) for d in ps.split)}:**\n")
        out.append(symbolic_markdown(sym, depth))
    return "\n".join(out)


def piecewise_diff_text(pd: Any, depth: Any = None, show_all: bool = False) -> str:
    """Each residue class's difference (:func:`symbolic_diff_text`) under its class."""
    out = []
    for _, d in sorted(pd.pieces.items()):
        out.append(f"where {'; '.join(domain_text(n, d.domain[n]) for n in pd.split)}:")
        out.append(symbolic_diff_text(d, depth, show_all))
    return "\n".join(out)
