"""Language-model costs as exact polynomials in a length: :class:`Piece` (a cost over a range
of lengths), :class:`Generation` (prefill and decode steps) and :class:`Sweep` (forwards over
sequence lengths and batch sizes), and the polynomial fitting they are made with. The counts
are made by :mod:`flowflops.tools.llm`; the printouts by :mod:`flowflops.render.llm`. The fits
are the fitting machinery of :mod:`flowflops.analysis.polyfit`, the one
:func:`flowflops.symbolic` uses: a length is one named size."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Dict, List, Mapping, Sequence, Tuple, Union

from ..errors import CountError
from ..records import Cost
from .polyfit import Point, Sample, fit_on_grid, interpolate

__all__ = ["Poly", "fit_polynomial", "poly_of", "evaluate", "Piece", "fit_piece", "Generation", "Sweep"]

Poly = Tuple[Fraction, ...]  # coefficients, lowest degree first


# -- polynomials --------------------------------------------------------------------------

def fit_polynomial(points: Sequence[Tuple[int, int]]) -> Poly:
    """The polynomial of degree ``len(points) - 1`` through ``points`` (exact rationals,
    lowest degree first; trailing zero coefficients dropped): the one-size case of the fitting
    machinery's :func:`~flowflops.analysis.polyfit.interpolate`."""
    xs = [x for x, _ in points]
    return poly_of(interpolate([xs], {(x,): y for x, y in points}))


def poly_of(terms: Mapping[Tuple[int, ...], Fraction]) -> Poly:
    """One size's :data:`~flowflops.analysis.polyfit.Terms` as coefficients, lowest degree first
    (``(Fraction(0),)`` for the zero polynomial)."""
    top = max((e[0] for e in terms), default=0)
    return tuple(Fraction(terms.get((k,), 0)) for k in range(top + 1))


def evaluate(poly: Poly, x: Union[int, Fraction]) -> Fraction:
    """``poly(x)``."""
    return sum((c * x ** k for k, c in enumerate(poly)), Fraction(0))


def _as_int(v: Fraction, what: str) -> int:
    if v.denominator != 1:
        raise CountError(f"{what} came out as {v}, not an integer: the counts are not one polynomial")
    return int(v)


# -- pieces: polynomials over ranges of lengths ------------------------------------------

@dataclass
class Piece:
    """The cost over lengths ``lo .. hi`` (inclusive) as polynomials in the length, with the
    counts that determined and checked them."""

    lo: int
    hi: int
    macs: Poly
    flops: Poly
    counted: Dict[int, Cost] = field(default_factory=dict)

    def at(self, x: int) -> Cost:
        return Cost(_as_int(evaluate(self.macs, x), f"MACs at {x}"),
                    _as_int(evaluate(self.flops, x), f"FLOPs at {x}"))

    def total(self) -> Cost:
        """The sum of the cost over ``lo .. hi``."""
        m = sum((evaluate(self.macs, x) for x in range(self.lo, self.hi + 1)), Fraction(0))
        f = sum((evaluate(self.flops, x) for x in range(self.lo, self.hi + 1)), Fraction(0))
        return Cost(_as_int(m, "a MAC sum"), _as_int(f, "a FLOP sum"))


def fit_piece(counted: Dict[int, Cost], fit_xs: Sequence[int], lo: int, hi: int, what: str,
              hint: str = "") -> Piece:
    """The :class:`Piece` over ``lo .. hi`` through the counts at ``fit_xs`` (at most three:
    degree <= 2), checked against every other count in ``counted``; a miss is a
    :class:`CountError` naming ``what``. The fitting machinery's
    :func:`~flowflops.analysis.polyfit.fit_on_grid` on the one-size grid ``fit_xs``."""
    samples: Dict[Point, Sample] = {(x,): {"macs": c.macs, "flops": c.flops} for x, c in counted.items()}
    fit_pts: List[Point] = [(x,) for x in fit_xs]
    terms, misses = fit_on_grid(samples, [list(fit_xs)], fit_pts, [p for p in samples if p not in fit_pts])
    if misses:
        q = "macs" if "macs" in misses else "flops"
        where, want, got = misses[q]
        x = where[0]
        raise CountError(
            f"{what} is not a polynomial of degree <= 2 over {lo}..{hi}: fitted at {list(fit_xs)} it "
            f"predicts {want} {'MACs' if q == 'macs' else 'FLOPs'} at {x}, counted {got:,}.{hint}")
    return Piece(lo, hi, poly_of(terms["macs"]), poly_of(terms["flops"]), dict(counted))


# -- generation and sweeps -------------------------------------------------------------

@dataclass
class Generation:
    """The cost of generating ``new_tokens`` tokens after a prompt of ``prompt_len``, batch
    ``batch``: ``prefill`` (the prompt), ``pieces`` (the decode step's cost as polynomials in
    the cache length ``L``), ``decode`` (all ``steps`` decode steps), ``total``. See the
    module docstring for what is counted."""

    prompt_len: int
    new_tokens: int
    batch: int
    attention: str
    mode: str
    prefill: Cost
    pieces: List[Piece]
    params: int = 0

    @property
    def steps(self) -> int:
        return self.new_tokens - 1

    def step(self, cache_len: int) -> Cost:
        """One decode step's cost at cache length ``cache_len`` (within the fitted range, or
        beyond it where the last piece's rule still holds)."""
        for p in self.pieces:
            if p.lo <= cache_len <= p.hi:
                return p.at(cache_len)
        return self.pieces[-1].at(cache_len) if cache_len > self.pieces[-1].hi else self.pieces[0].at(cache_len)

    @property
    def decode(self) -> Cost:
        total = Cost()
        for p in self.pieces:
            total = total + p.total()
        return total

    @property
    def total(self) -> Cost:
        return self.prefill + self.decode

    @property
    def counts(self) -> int:
        """How many forwards were counted (the prefill included)."""
        return 1 + sum(len(p.counted) for p in self.pieces)


@dataclass
class Sweep:
    """Counts of one forward (a prompt, empty cache) at every ``(batch, seq_len)``, and per
    batch size the exact polynomial in the sequence length (``fits[batch]``: its pieces)."""

    seq_lens: List[int]
    batch_sizes: List[int]
    attention: str
    mode: str
    points: Dict[Tuple[int, int], Cost]
    fits: Dict[int, List[Piece]]
    params: int = 0

    def batch_linear(self) -> bool:
        """Whether every count is ``batch`` times the batch-1 polynomial (checked on the
        points)."""
        b0 = self.batch_sizes[0]
        return all(self.points[(b, t)].macs * b0 == self.points[(b0, t)].macs * b
                   for b in self.batch_sizes for t in self.seq_lens)
