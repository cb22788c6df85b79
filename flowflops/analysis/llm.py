"""Language-model costs as exact polynomials in a length: :class:`Piece` (a cost over a range
of lengths), :class:`Generation` (prefill and decode steps) and :class:`Sweep` (forwards over
sequence lengths and batch sizes), and the polynomial fitting they are made with. The counts
are made by :mod:`flowflops.tools.llm`; the printouts by :mod:`flowflops.render.llm`."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Dict, List, Sequence, Tuple, Union

from ..errors import CountError
from ..records import Cost

__all__ = ["Poly", "fit_polynomial", "evaluate", "Piece", "fit_piece", "Generation", "Sweep"]

Poly = Tuple[Fraction, ...]  # coefficients, lowest degree first


# -- polynomials --------------------------------------------------------------------------

def fit_polynomial(points: Sequence[Tuple[int, int]]) -> Poly:
    """The polynomial of degree ``len(points) - 1`` through ``points`` (exact rationals,
    lowest degree first), by Lagrange interpolation; trailing zero coefficients dropped."""
    n = len(points)
    coeffs = [Fraction(0)] * n
    for i, (xi, yi) in enumerate(points):
        basis = [Fraction(1)]  # prod_{j != i} (x - xj) / (xi - xj)
        denom = Fraction(1)
        for j, (xj, _) in enumerate(points):
            if j == i:
                continue
            basis = [Fraction(0)] + basis  # * x
            for k in range(len(basis) - 1):
                basis[k] -= xj * basis[k + 1]
            denom *= xi - xj
        for k, b in enumerate(basis):
            coeffs[k] += yi * b / denom
    while len(coeffs) > 1 and coeffs[-1] == 0:
        coeffs.pop()
    return tuple(coeffs)


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
    :class:`CountError` naming ``what``."""
    macs = fit_polynomial([(x, counted[x].macs) for x in fit_xs])
    flops = fit_polynomial([(x, counted[x].flops) for x in fit_xs])
    for x, c in counted.items():
        if evaluate(macs, x) != c.macs or evaluate(flops, x) != c.flops:
            raise CountError(
                f"{what} is not a polynomial of degree <= 2 over {lo}..{hi}: fitted at {list(fit_xs)} it "
                f"predicts {evaluate(macs, x)} MACs at {x}, counted {c.macs:,}.{hint}")
    return Piece(lo, hi, macs, flops, dict(counted))


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
