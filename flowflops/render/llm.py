"""Text and charts for :mod:`flowflops.llm`'s results (generation, sweeps)."""
from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, List, Optional

from .units import flops_to_string

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.llm import Generation, Piece, Poly, Sweep

__all__ = ["poly_text", "generation_text", "sweep_text", "sweep_plot", "sweep_dict", "generation_dict"]


def poly_text(poly: "Poly", var: str = "L") -> str:
    """``(3, 0, 1/2) -> "1/2·L² + 3"``: highest degree first, exact rationals."""
    sup = {1: "", 2: "²", 3: "³"}
    terms: List[str] = []
    for k in range(len(poly) - 1, -1, -1):
        c = Fraction(poly[k])
        if c == 0 and len(poly) > 1:
            continue
        mag = abs(c)
        num = f"{mag.numerator:,}" if mag.denominator == 1 else f"{mag.numerator:,}/{mag.denominator:,}"
        body = num if k == 0 else (f"{num}·{var}{sup.get(k, f'^{k}')}" if mag != 1 else f"{var}{sup.get(k, f'^{k}')}")
        terms.append(("- " if c < 0 else "+ ") + body)
    text = " ".join(terms)
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def generation_text(g: "Generation", units: Optional[str] = None, precision: int = 2) -> str:
    """Prefill, the decode step's polynomial and a few values, the totals."""
    f = lambda n: f"{flops_to_string(n, units=units, precision=precision)} ({n:,})"  # noqa: E731
    lines = [
        f"Generation: prompt {g.prompt_len}, {g.new_tokens} new tokens, batch {g.batch} "
        f"({g.mode} mode, attention {g.attention}; {g.counts} forwards counted)",
        f"  prefill ({g.prompt_len} tokens):  {f(g.prefill.macs)}",
    ]
    for p in g.pieces:
        lines.append(f"  decode step at cache length L in {p.lo}..{p.hi}: MACs = {poly_text(p.macs)}")
    if g.pieces:
        lo, hi = g.pieces[0].lo, g.pieces[-1].hi
        for L in sorted({lo, (lo + hi) // 2, hi}):
            lines.append(f"    L = {L}: {f(g.step(L).macs)}")
    lines += [
        f"  decode ({g.steps} steps):  {f(g.decode.macs)}",
        f"  total:  {f(g.total.macs)}  ({g.total.flops:,} FLOPs)",
    ]
    return "\n".join(lines) + "\n"


def sweep_text(s: "Sweep", units: Optional[str] = None, precision: int = 2) -> str:
    """The counted points as a table, then the fitted polynomial per batch size."""
    from prettytable import PrettyTable

    t = PrettyTable(["batch"] + [f"T={x}" for x in s.seq_lens])
    t.align = "r"
    for b in s.batch_sizes:
        t.add_row([b] + [flops_to_string(s.points[(b, x)].macs, units=units, precision=precision)
                         for x in s.seq_lens])
    lines = [f"Sweep ({s.mode} mode, attention {s.attention}): MACs of one forward", t.get_string()]
    for b in s.batch_sizes:
        for p in s.fits[b]:
            lines.append(f"batch {b}, T in {p.lo}..{p.hi}: MACs = {poly_text(p.macs, 'T')}")
    if len(s.batch_sizes) > 1:
        lines.append("every count is proportional to the batch" if s.batch_linear()
                     else "the counts are not proportional to the batch")
    return "\n".join(lines) + "\n"


def sweep_plot(s: "Sweep", path: str) -> None:
    """MACs against sequence length, one line per batch size: the counted points and the fitted
    polynomial between them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..analysis.llm import evaluate

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for b in s.batch_sizes:
        xs = [x for x in s.seq_lens]
        ax.plot(xs, [s.points[(b, x)].macs for x in xs], "o", label=f"batch {b} (counted)")
        for p in s.fits[b]:
            grid = [p.lo + (p.hi - p.lo) * i / 100 for i in range(101)]
            ax.plot(grid, [float(evaluate(p.macs, Fraction(x))) for x in grid], "-", alpha=0.6)
    ax.set_xlabel("sequence length")
    ax.set_ylabel("MACs")
    ax.set_title(f"MACs of one forward against sequence length ({s.attention} attention)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _piece_dict(p: "Piece") -> dict:
    return {"from": p.lo, "to": p.hi, "macs_poly": [str(c) for c in p.macs],
            "flops_poly": [str(c) for c in p.flops],
            "counted": {str(x): {"macs": c.macs, "flops": c.flops} for x, c in p.counted.items()}}


def sweep_dict(s: "Sweep") -> dict:
    """A sweep as JSON-ready data (polynomial coefficients as exact fraction strings, lowest
    degree first)."""
    return {"mode": s.mode, "attention": s.attention, "params": s.params,
            "points": [{"batch": b, "seq_len": t, "macs": c.macs, "flops": c.flops}
                       for (b, t), c in sorted(s.points.items())],
            "fits": {str(b): [_piece_dict(p) for p in ps] for b, ps in s.fits.items()}}


def generation_dict(g: "Generation") -> dict:
    """A generation as JSON-ready data."""
    cost = lambda c: {"macs": c.macs, "flops": c.flops}  # noqa: E731
    return {"prompt_len": g.prompt_len, "new_tokens": g.new_tokens, "batch": g.batch, "mode": g.mode,
            "attention": g.attention, "steps": g.steps, "counts": g.counts, "prefill": cost(g.prefill),
            "decode": cost(g.decode), "total": cost(g.total), "step_pieces": [_piece_dict(p) for p in g.pieces]}
