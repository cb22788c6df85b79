"""The fitting machinery of exact cost formulas: numbers counted at integer points of named
sizes, fitted as polynomials with exact rational coefficients and checked at points no fit used.

One machinery for every fit of the package: :func:`flowflops.tools.symbolic.symbolic` (every
module's and op type's cost in the named sizes of an input shape), and the language-model fits
of :mod:`flowflops.tools.llm` (a decode step's cost in the cache length, a sweep's cost in the
sequence length) and :mod:`flowflops.analysis.llm`.

- :func:`interpolate`: the polynomial through values on a grid (tensor-product Lagrange, exact
  fractions); :func:`check`: the numbers a polynomial misses at further points.
- :func:`fit_counts`: the fit that chooses its own points. It guesses degree 1 in every size,
  counts the grid of the domain's 2nd and 3rd values, checks at ``checks`` points off the grid
  (the smallest sizes first, then random ones) and at ``also``; only where a check misses does it
  find the degree along each axis (finite differences) and widen the grid. A miss that no axis
  explains raises :class:`CountError`, naming the number.

A *sample* is what one count gives: key -> int. The keys of :func:`sample_of` (a Report's
numbers) are ``(kind, key, quantity)``: kind ``"m"`` (a module path) or ``"o"`` (an op type).
Nothing here counts, imports the Report or renders: callers pass the count and, for messages,
how a domain reads in words.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Dict, Hashable, List, Mapping, Optional, Sequence, Tuple

from ..errors import CountError
from ..report import Aggregate
from ..records import Cost

__all__ = ["Exps", "Terms", "Point", "Key", "Sample", "QUANTITIES", "sample_of", "lagrange_matrix", "interpolate",
           "value_at", "check", "differences_vanish", "describe_key", "most_specific", "Fitter", "Fitted", "fit_counts",
           "random_points"]

Exps = Tuple[int, ...]
Terms = Dict[Exps, Fraction]
Point = Tuple[int, ...]
Key = Hashable  # what one number of a sample is called; (kind, key, quantity) for sample_of
Sample = Dict[Any, int]
QUANTITIES = ("macs", "flops", "params", "bytes")
Words = Callable[[str, range], str]  # how a dimension's domain reads (render.symbolic.domain_text)


def _plain_words(name: str, r: range) -> str:
    return f"{name} in range({r.start}, {r.stop}, {r.step})"


# -- samples ------------------------------------------------------------------------------

def sample_of(report: Aggregate) -> Sample:
    """Every number :func:`flowflops.tools.symbolic.symbolic` fits, from one count's Report:
    ``("m", path, quantity)`` per module (``""`` the model), ``("o", op type, quantity)``."""
    out: Sample = {}
    costs, traffic = report.by_module(), report.by_module_bytes()
    for p, info in report.modules.items():
        c = costs.get(p, Cost())
        out[("m", p, "macs")], out[("m", p, "flops")] = c.macs, c.flops
        out[("m", p, "params")] = info.params
        out[("m", p, "bytes")] = traffic[p].total if p in traffic else 0
    op_traffic = report.by_operator_bytes()
    for op, c in report.by_operator().items():
        out[("o", op, "macs")], out[("o", op, "flops")] = c.macs, c.flops
    for op, t in op_traffic.items():
        out[("o", op, "bytes")] = t.total
        out.setdefault(("o", op, "macs"), 0)
        out.setdefault(("o", op, "flops"), 0)
    if ("m", "", "macs") not in out:  # a report without a module tree: the totals
        out[("m", "", "macs")], out[("m", "", "flops")] = report.macs, report.flops
        out[("m", "", "params")], out[("m", "", "bytes")] = report.params, report.bytes
    return out


def describe_key(key: Any) -> str:
    """``("m", "layer1", "macs")`` -> "the MACs of module 'layer1'"."""
    kind, name, quantity = key
    what = {"macs": "MACs", "flops": "FLOPs", "params": "parameters", "bytes": "bytes"}[quantity]
    if kind == "m":
        return f"the {what} of {'the whole model' if name == '' else f'module {name!r}'}"
    return f"the {what} of the {name!r} ops"


def most_specific(keys: List[Any]) -> Any:
    """The key an error names: the deepest module (then MACs before FLOPs, bytes, params),
    else an op type."""
    order = {q: i for i, q in enumerate(QUANTITIES)}
    return min(keys, key=lambda k: (k[0] != "m", -(k[1].count(".") + bool(k[1])), order[k[2]], k[1]))


# -- polynomials --------------------------------------------------------------------------

def lagrange_matrix(xs: Sequence[int]) -> List[List[Fraction]]:
    """``M`` with ``coef[e] = sum_k M[e][k] * y[k]``: the polynomial of degree ``len(xs) - 1``
    through ``(xs[k], y[k])``, lowest degree first."""
    n = len(xs)
    m = [[Fraction(0)] * n for _ in range(n)]
    for k, xk in enumerate(xs):
        basis = [Fraction(1)]
        denom = 1
        for j, xj in enumerate(xs):
            if j == k:
                continue
            nxt = [Fraction(0)] * (len(basis) + 1)
            for i, b in enumerate(basis):  # basis * (x - xj)
                nxt[i + 1] += b
                nxt[i] -= xj * b
            basis = nxt
            denom *= xk - xj
        for e, b in enumerate(basis):
            m[e][k] = b / denom
    return m


def interpolate(grid: Sequence[Sequence[int]], values: Mapping[Point, Any],
                mats: Optional[List[List[List[Fraction]]]] = None) -> Terms:
    """The polynomial of degree ``< len(grid[i])`` in variable ``i`` through ``values`` on the
    grid ``product(*grid)`` (exact: tensor-product Lagrange interpolation; ``mats``: the
    grid's :func:`lagrange_matrix` per axis, when already made)."""
    mats = mats or [lagrange_matrix(xs) for xs in grid]
    # index space: start with grid indices, replace axis by axis with exponents
    table: Dict[Tuple[int, ...], Fraction] = {
        idx: Fraction(values[tuple(grid[i][k] for i, k in enumerate(idx))])
        for idx in itertools.product(*(range(len(xs)) for xs in grid))}
    for axis, m in enumerate(mats):
        n = len(m)
        nxt: Dict[Tuple[int, ...], Fraction] = {}
        for idx in table:
            if idx[axis] != 0:
                continue
            ys = [table[idx[:axis] + (k,) + idx[axis + 1:]] for k in range(n)]
            for e in range(n):
                c = sum((m[e][k] * ys[k] for k in range(n) if ys[k]), Fraction(0))
                nxt[idx[:axis] + (e,) + idx[axis + 1:]] = c
        table = nxt
    return {e: c for e, c in table.items() if c != 0}


def value_at(terms: Mapping[Exps, Fraction], point: Sequence[Any]) -> Fraction:
    """The polynomial ``terms`` at ``point`` (one value per variable; exact fractions)."""
    total = Fraction(0)
    for exps, c in terms.items():
        t = Fraction(c)
        for x, e in zip(point, exps):
            t *= Fraction(x) ** e
        total += t
    return total


def check(terms: Mapping[Exps, Fraction], counted: Mapping[Point, int]) -> Optional[Tuple[Point, Fraction, int]]:
    """The first point of ``counted`` where ``terms`` misses: ``(point, predicted, counted)``;
    ``None`` when it holds at every one."""
    for p, got in counted.items():
        want = value_at(terms, p)
        if want != got:
            return p, want, got
    return None


def differences_vanish(ys: Sequence[int], order: int) -> bool:
    """Whether the ``order``-th finite difference of ``ys`` (equally spaced) is zero."""
    d = list(ys)
    for _ in range(order):
        d = [b - a for a, b in zip(d, d[1:])]
    return all(v == 0 for v in d)


def _at(dims: Sequence[str], point: Point) -> str:
    return ", ".join(f"{d}={v}" for d, v in zip(dims, point))


# -- the fit that chooses its points --------------------------------------------------------

DOMAIN_ADVICE = ("give a domain where the shapes are regular (e.g. domain={{{dim!r}: 32}} for a network that "
                 "halves its input 5 times), or raise max_degree")
PATH_ADVICE = ("The model may take another path at some sizes (a size of 1, a size a stride or pooling does "
               "not divide): give a domain that leaves them out (e.g. domain={'T': range(2, 4097)} or "
               "{'H': 32}), or raise max_degree")


class Fitter:
    """Counts on demand (``count(point) -> Sample``, each point once) along the domains of
    ``dims``; finds degrees along axes. ``describe`` / ``pick``: how an error names a number
    and which of several it names; ``words``: how a domain reads; ``advice``: what an error
    tells the user to do (``None``: the domain advice of :func:`symbolic`)."""

    def __init__(self, count: Callable[[Point], Sample], dims: Tuple[str, ...], domain: Dict[str, range],
                 max_degree: int, *, describe: Callable[[Any], str] = describe_key,
                 pick: Callable[[List[Any]], Any] = most_specific, words: Words = _plain_words,
                 advice: Optional[str] = None) -> None:
        self.count, self.dims, self.domain, self.max_degree = count, dims, domain, max_degree
        self.describe, self.pick, self.words, self.advice = describe, pick, words, advice
        self.samples: Dict[Point, Sample] = {}

    def sample(self, point: Point) -> Sample:
        if point not in self.samples:
            self.samples[point] = self.count(point)
        return self.samples[point]

    def axis_values(self, i: int, n: int) -> List[int]:
        """The first ``n`` values of dimension ``i`` the fit uses: from the domain's second value
        (the first, when the domain is too short), equally spaced."""
        r = self.domain[self.dims[i]]
        skip = 1 if len(r) >= n + 1 else 0
        if len(r) < n + skip:
            raise CountError(
                f"the domain of {self.dims[i]} ({self.words(self.dims[i], r)}) has {len(r)} sizes, too few to "
                f"find the degree of the cost in {self.dims[i]} ({n} needed): widen it")
        return [r[k + skip] for k in range(n)]

    def degree(self, i: int, base: Point, start: int = 0) -> int:
        """The degree in dimension ``i`` of every fitted number, along the axis through ``base``
        (at least ``start``: from the ``start + 2`` first values on)."""
        d = start
        while True:
            if d >= len(self.domain[self.dims[i]]) - 1:
                return d  # every size of a short domain is on the axis: nothing left to tell
            xs = self.axis_values(i, d + 2)
            pts = [base[:i] + (x,) + base[i + 1:] for x in xs]
            samples = [self.sample(p) for p in pts]
            keys = set().union(*samples)
            bad = [k for k in sorted(keys) if not differences_vanish([s.get(k, 0) for s in samples], d + 1)]
            if not bad:
                return d
            if d >= self.max_degree:
                k = self.pick(bad)
                others = self.dims[:i] + self.dims[i + 1:]
                rest = base[:i] + base[i + 1:]
                advice = self.advice if self.advice is not None else DOMAIN_ADVICE.format(dim=self.dims[i])
                raise CountError(
                    f"{self.describe(k)} is not a polynomial of degree <= {self.max_degree} in {self.dims[i]} "
                    f"(counted at {self.dims[i]} = {', '.join(map(str, xs))}"
                    f"{', with ' + _at(others, rest) if others else ''}): {advice}")
            d += 1


@dataclass
class Fitted:
    """What :func:`fit_counts` found: ``terms`` per number (key), the grid's points
    (``fit_points``), the points only checked (``check_points``), every ``samples``, the
    ``base`` point the axes went through, and the ``grid`` (values per dimension)."""

    terms: Dict[Any, Terms]
    fit_points: List[Point]
    check_points: List[Point]
    samples: Dict[Point, Sample]
    base: Point
    grid: List[List[int]]


def fit_counts(fitter: Fitter, *, checks: int = 1, seed: int = 0, also: Sequence[Point] = ()) -> Fitted:
    """Every number of the samples as a polynomial in ``fitter.dims``, checked (see the module
    docstring): ``checks`` points off the grid (the smallest sizes, then random ones drawn with
    ``seed``) and the points ``also``. ``checks=0`` and no ``also``: every degree is found along
    its axis first (the axis counts off the grid then check the fit). Raises
    :class:`CountError` when a number misses and no axis shows a higher degree."""
    names, doms = fitter.dims, fitter.domain
    base = tuple(fitter.axis_values(i, 1)[0] for i in range(len(names)))
    # a first guess of degree 1 in every size (most costs are; 0 where the domain has one size),
    # checked at shapes off the grid; only where a check misses is the degree found along each
    # axis (and the grid widened)
    degrees = [min(1, fitter.max_degree, len(doms[d]) - 1) for d in names]
    if not checks and not also:  # nothing off the grid would check a guess: find every degree first
        degrees = [fitter.degree(i, base) for i in range(len(names))]
    rng = random.Random(seed)
    extra: Optional[List[Point]] = None
    while True:
        grid = [fitter.axis_values(i, d + 1) for i, d in enumerate(degrees)]
        fit_pts = list(itertools.product(*grid))
        for p in fit_pts:
            fitter.sample(p)
        if extra is None:
            extra = random_points(names, doms, grid, set(fitter.samples), checks, rng)
            extra += [tuple(p) for p in also if tuple(p) not in extra]
            for p in extra:
                fitter.sample(p)
        on_grid = set(fit_pts)
        check_pts = [p for p in fitter.samples if p not in on_grid]
        terms, misses = fit_on_grid(fitter.samples, grid, fit_pts, check_pts)
        if not misses:
            return Fitted(terms, fit_pts, check_pts, fitter.samples, base, grid)
        found = [fitter.degree(i, base, d) for i, d in enumerate(degrees)]
        if found == degrees:  # no axis shows a higher degree: the miss is the model's, not the fit's
            k = fitter.pick(list(misses))
            p, want, got = misses[k]
            others = f" (and {len(misses) - 1} more numbers)" if len(misses) > 1 else ""
            advice = fitter.advice if fitter.advice is not None else PATH_ADVICE
            raise CountError(
                f"{fitter.describe(k)}{others} does not follow one polynomial in {', '.join(names)}: fitted on "
                f"{len(fit_pts)} counts it predicts {want} at {_at(names, p)}, counted {got:,} "
                f"({'; '.join(fitter.words(d, doms[d]) for d in names)}). {advice}")
        degrees = found


def fit_on_grid(samples: Mapping[Point, Sample], grid: List[List[int]], fit_pts: List[Point],
                check_pts: List[Point]) -> Tuple[Dict[Any, Terms], Dict[Any, Tuple[Point, Fraction, int]]]:
    """Every number's polynomial through the samples at ``fit_pts`` (the points of ``grid``),
    and the numbers a check point misses (key -> the first such point, the prediction, the
    count). A number a sample lacks counts 0 there."""
    keys = sorted(set().union(*(samples[p] for p in fit_pts + check_pts)))
    terms: Dict[Any, Terms] = {}
    misses: Dict[Any, Tuple[Point, Fraction, int]] = {}
    mats = [lagrange_matrix(xs) for xs in grid]
    seen: Dict[Tuple[int, ...], Tuple[Terms, Optional[Tuple[Point, Fraction, int]]]] = {}
    for k in keys:
        ys = tuple(samples[p].get(k, 0) for p in fit_pts)
        zs = tuple(samples[p].get(k, 0) for p in check_pts)
        if ys + zs not in seen:  # many numbers count alike (zeros, constants, twin modules)
            t = interpolate(grid, dict(zip(fit_pts, ys)), mats)
            seen[ys + zs] = (t, check(t, dict(zip(check_pts, zs))))
        terms[k], miss = seen[ys + zs]
        if miss is not None:
            misses[k] = miss
    return terms, misses


def random_points(names: Tuple[str, ...], doms: Dict[str, range], grid: List[List[int]], used: set,
                  n: int, rng: random.Random) -> List[Point]:
    """``n`` points of the domain no count used: the smallest sizes of every dimension, then
    points with each size drawn from the domain's first values up to two steps past the largest
    one the grid used."""
    choices, off = [], []
    for d, xs in zip(names, grid):
        r = doms[d]
        top = min(len(r), r.index(max(xs)) + 3)
        choices.append([r[k] for k in range(top)])
        off.append([v for v in choices[-1] if v not in xs] or choices[-1])
    space = 1
    for c in choices:
        space *= len(c)
    out: List[Point] = []
    smallest = tuple(doms[d][0] for d in names)  # the smallest sizes first: where edge cases live
    if n and smallest not in used:
        out.append(smallest)
    tries = 0
    while len(out) < n and tries < 200:  # off the grid in every size: a check of every degree at once
        tries += 1
        p = tuple(rng.choice(c) for c in (off if tries <= 100 else choices))
        if p not in used and p not in out:
            out.append(p)
    if len(out) < n and space > len(used) + len(out):  # a small space: take what is left, in order
        for p in itertools.product(*choices):
            if len(out) >= n:
                break
            if p not in used and p not in out:
                out.append(p)
    return out
