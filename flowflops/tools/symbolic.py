"""Exact cost formulas in named input dimensions: :func:`symbolic`.

``symbolic(model, ("B", 3, "H", "W"), domain={"H": 32, "W": 32})`` counts the model (with
:func:`flowflops.profile`, graph mode by default) at a few shapes, fits the MACs, FLOPs,
parameters and bytes of the whole model, of every module and of every op type as a polynomial
with exact rational coefficients in the named dimensions, and checks every fit at shapes no fit
used. The result's formulas are exact: evaluated at any shape of the domain they give the
integers a count at that shape gives (for the model and counting options given), or the fit
raised a :class:`CountError` naming what missed.

**How.** Each named dimension ``X`` takes the values of its domain, an arithmetic progression
(``domain={"H": 32}``: 32, 64, 96, ...; ``domain={"T": range(1, 17)}``: 1..16; default: 1, 2,
3, ...). The first guess is degree 1 in every dimension: the grid of the domain's second and
third values per dimension is counted, every number interpolated on it (a tensor-product
Lagrange fit, exact fractions) and checked at ``checks`` further shapes: the domain's smallest
sizes, then shapes drawn at random off the grid in every dimension. Only where a check misses is
the degree found along each axis (the other dimensions at their second value): the values
``x_1, x_2, ...`` are counted until the ``(d+1)``-th finite difference of every cost is zero, up
to ``max_degree``; the grid is widened to ``d_X + 1`` values and the fit checked again (at the
axis counts off the grid too). A miss where no axis shows a higher degree raises. The counts:
``prod(d_X + 1)`` for the grid and ``checks``; where a guess missed, the axis counts besides.
(``checks=0`` finds every degree along its axis first, so the axis counts still check the fit.)

**Domains.** Strides, padding and pooling take floors of sizes: a cost is then a polynomial
only on the sizes where every floor is exact, e.g. H a multiple of 32 for a network that
halves its input five times. The ``domain`` says which sizes the formula covers; evaluating it
outside raises. :func:`piecewise` splits sizes into residue classes instead (``split={"H": 2}``:
one :func:`symbolic` per parity of ``H``, each stating its domain), at one analysis per class.
"""
from __future__ import annotations

import itertools
import keyword
import operator
import random
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..errors import CountError
from ..records import Cost
from ..render.symbolic import UNBOUNDED, domain_text

if TYPE_CHECKING:  # pragma: no cover
    from ..result import Report

__all__ = [
    "Exps", "Terms", "Point", "QUANTITIES", "Formula", "CostAt", "Costs", "Symbolic", "Sample", "sample_of",
    "interpolate", "symbolic"
]

Exps = Tuple[int, ...]
Terms = Dict[Exps, Fraction]
Point = Tuple[int, ...]
QUANTITIES = ("macs", "flops", "params", "bytes")
_BIG = UNBOUNDED


# -- domains ------------------------------------------------------------------------------

def _as_range(name: str, spec: Any) -> range:
    if isinstance(spec, range):
        r = spec
    elif isinstance(spec, int) and not isinstance(spec, bool):
        if spec < 1:
            raise ValueError(f"domain[{name!r}] must be a positive int (a multiple) or a range, got {spec!r}")
        r = range(spec, _BIG, spec)
    else:
        raise TypeError(f"domain[{name!r}] must be an int (the size is a multiple of it, e.g. 32) or a "
                        f"range (e.g. range(1, 17)), got {type(spec).__name__}")
    if r.step < 1 or r.start < 1 or len(r) < 1:
        raise ValueError(f"domain[{name!r}] = {r!r} must hold positive sizes in increasing order")
    return r


def _dim_value(name: str, value: Any, r: range) -> int:
    """``value`` as an int of the domain ``r`` of dimension ``name`` (the slow path of a call)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}") from None
    if v not in r:
        raise ValueError(f"{name}={v} is outside this formula's domain ({domain_text(name, r)}): the "
                         "fit holds only there; count that shape with flowflops.profile, or fit with a "
                         "domain that holds it")
    return v


# -- formulas -----------------------------------------------------------------------------

class Formula:
    """A polynomial with exact rational coefficients in named dimensions, valid on a domain.

    ``formula(B=8, H=512, W=512)`` is the exact int at that shape (raises outside the domain);
    ``str(formula)`` a readable Python expression; ``terms``: exponents (one per dimension, in
    ``dims`` order) -> coefficient. Evaluation runs a function compiled once from the terms."""

    __slots__ = ("dims", "terms", "domain", "name", "_fn")

    def __init__(self, dims: Sequence[str], terms: Mapping[Exps, Fraction],
                 domain: Optional[Mapping[str, range]] = None, name: str = "") -> None:
        self.dims: Tuple[str, ...] = tuple(dims)
        self.terms: Terms = {tuple(e): Fraction(c) for e, c in terms.items() if c != 0}
        self.domain: Dict[str, range] = {d: (domain or {}).get(d, range(1, _BIG)) for d in self.dims}
        self.name = name
        _check_names(self.dims)
        self._fn: Optional[Callable[..., int]] = None  # compiled on the first call

    def __call__(self, **dims: int) -> int:
        fn = self._fn or self._compiled()
        try:
            return fn(**dims)
        except TypeError:
            if set(dims) != set(self.dims):
                raise TypeError(f"this formula takes the sizes {', '.join(self.dims)} as keywords, "
                                f"got {', '.join(dims) or 'none'}") from None
            raise

    def _compiled(self) -> Callable[..., int]:
        self._fn = _compile(self.dims, self.terms, self.domain)
        return self._fn

    def evaluate(self, values: Mapping[str, int]) -> int:
        """The formula at ``values`` (a mapping of every dimension to its size)."""
        return self(**dict(values))

    def exact(self, values: Mapping[str, Any]) -> Fraction:
        """The polynomial at any values (no domain check; exact fractions)."""
        total = Fraction(0)
        for exps, c in self.terms.items():
            t = c
            for d, e in zip(self.dims, exps):
                t *= Fraction(values[d]) ** e
            total += t
        return total

    def coefficient(self, **exps: int) -> Fraction:
        """The coefficient of one monomial, by exponent per dimension (missing ones 0):
        ``coefficient(B=1, T=2)`` is the factor of ``B*T**2``."""
        unknown = set(exps) - set(self.dims)
        if unknown:
            raise ValueError(f"no dimension {sorted(unknown)} in this formula ({', '.join(self.dims)})")
        return self.terms.get(tuple(exps.get(d, 0) for d in self.dims), Fraction(0))

    def degree(self, dim: Optional[str] = None) -> int:
        """The total degree, or the degree in ``dim``."""
        if not self.terms:
            return 0
        if dim is None:
            return max(sum(e) for e in self.terms)
        i = self.dims.index(dim)
        return max(e[i] for e in self.terms)

    def __add__(self, other: "Formula") -> "Formula":
        if not isinstance(other, Formula):
            return NotImplemented
        if other.dims != self.dims:
            raise ValueError(f"cannot add formulas in {self.dims} and {other.dims}")
        terms = dict(self.terms)
        for e, c in other.terms.items():
            terms[e] = terms.get(e, Fraction(0)) + c
        return Formula(self.dims, terms, self.domain, self.name)

    def __neg__(self) -> "Formula":
        return Formula(self.dims, {e: -c for e, c in self.terms.items()}, self.domain, self.name)

    def __sub__(self, other: "Formula") -> "Formula":
        if not isinstance(other, Formula):
            return NotImplemented
        return self + (-other)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Formula) and self.dims == other.dims and self.terms == other.terms

    def __hash__(self) -> int:
        return hash((self.dims, tuple(sorted(self.terms.items()))))

    def to_text(self) -> str:
        """The formula as a Python expression (what ``str()`` gives)."""
        from ..render.symbolic import formula_text

        return formula_text(self)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"Formula({str(self)!r}, dims={self.dims})"

    def to_latex(self) -> str:
        from ..render.symbolic import formula_latex

        return formula_latex(self)

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-able form: ``{"dims", "terms": [[exponents, "p/q"], ...], "domain", "text"}``."""
        return {"dims": list(self.dims),
                "terms": [[list(e), str(c)] for e, c in sorted(self.terms.items(), reverse=True)],
                "domain": {d: [r.start, r.stop, r.step] for d, r in self.domain.items()},
                "text": str(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str = "") -> "Formula":
        dims = tuple(data["dims"])
        domain = {d: range(*v) for d, v in data.get("domain", {}).items()}
        return cls(dims, {tuple(e): Fraction(c) for e, c in data["terms"]}, domain, name)


def _check_names(dims: Tuple[str, ...]) -> None:
    for d in dims:
        if not d.isidentifier() or keyword.iskeyword(d) or d.startswith("_"):
            raise ValueError(f"dimension name {d!r} must be a Python identifier not starting with '_' "
                             "(e.g. 'B', 'T', 'H')")


def _compile(dims: Tuple[str, ...], terms: Terms, domain: Mapping[str, range]) -> Callable[..., int]:
    """A Python function of the dimensions (as keywords) returning the exact int: integer
    coefficients over one common denominator, the domain checked first."""
    _check_names(dims)
    den = 1
    for c in terms.values():
        den = den * c.denominator // gcd(den, c.denominator)
    parts = []
    for exps, c in sorted(terms.items(), reverse=True):
        k = int(c * den)
        factors = [repr(k)] + [d if e == 1 else f"{d}**{e}" for d, e in zip(dims, exps) if e]
        parts.append("*".join(factors))
    env: Dict[str, Any] = {"_value": _dim_value, "_notint": _not_integer}
    lines = [f"def _f({', '.join(dims)}):"] if dims else ["def _f():"]
    for i, d in enumerate(dims):
        r = domain[d]
        env[f"_r{i}"] = r
        lines.append(f"    if {d}.__class__ is not int or {d} not in _r{i}: {d} = _value({d!r}, {d}, _r{i})")
    lines.append(f"    _n = {' + '.join(parts) or '0'}")
    if den == 1:
        lines.append("    return _n")
    else:
        lines.append(f"    if _n % {den}: _notint(_n, {den})")
        lines.append(f"    return _n // {den}")
    exec(compile("\n".join(lines), "<flowflops.symbolic formula>", "exec"), env)
    fn: Callable[..., int] = env["_f"]
    return fn


def _not_integer(n: int, den: int) -> None:
    raise ValueError(f"the formula gives {Fraction(n, den)} here, not an integer: the fit does not hold at "
                     "this shape; count it with flowflops.profile")


# -- bundles: the four quantities of one module / op type -----------------------------------

@dataclass(frozen=True)
class CostAt(Cost):
    """A :class:`flowflops.Cost` at one shape, with the parameters and bytes moved."""

    params: int = 0
    bytes: int = 0


class Costs:
    """The formulas of one part of the model (the whole model, a module or an op type):
    ``macs``, ``flops``, ``params``, ``bytes``; ``at(**sizes)`` (or calling it) gives them all
    at one shape as a :class:`CostAt`."""

    def __init__(self, macs: Formula, flops: Formula, params: Formula, bytes: Formula) -> None:
        self.macs, self.flops, self.params, self.bytes = macs, flops, params, bytes

    @property
    def dims(self) -> Tuple[str, ...]:
        return self.macs.dims

    def formula(self, quantity: str) -> Formula:
        if quantity not in QUANTITIES:
            raise ValueError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
        f: Formula = getattr(self, quantity)
        return f

    def at(self, **dims: int) -> CostAt:
        return CostAt(self.macs(**dims), self.flops(**dims), self.params(**dims), self.bytes(**dims))

    __call__ = at

    def __str__(self) -> str:
        return f"MACs = {self.macs}"

    def __repr__(self) -> str:
        return f"Costs(macs={str(self.macs)!r}, flops={str(self.flops)!r}, params={str(self.params)!r}, " \
               f"bytes={str(self.bytes)!r})"

    def to_dict(self) -> Dict[str, Any]:
        return {q: self.formula(q).to_dict() for q in QUANTITIES}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str = "") -> "Costs":
        return cls(*(Formula.from_dict(data[q], f"{q} of {name}" if name else q) for q in QUANTITIES))


class Symbolic(Costs):
    """What :func:`symbolic` returns: the whole model's formulas (``macs``, ``flops``,
    ``params``, ``bytes``, ``at()``), per module (:meth:`by_module`) and per op type
    (:meth:`by_operator`), with how they were found: ``spec`` (the input shape with names),
    ``domain``, ``mode``, ``convention``, ``counts`` (how many counts the fit and its checks
    took), ``fit_points`` / ``check_points`` (the shapes counted), ``modules`` (path -> type
    name) and ``unsupported`` (op types without a formula at the last count, as in a Report)."""

    def __init__(self, total: Costs, modules: Dict[str, Costs], operators: Dict[str, Costs], *,
                 spec: Sequence[Any], domain: Mapping[str, range], mode: str = "graph",
                 convention: str = "flowflops", module_types: Optional[Dict[str, str]] = None,
                 fit_points: Sequence[Mapping[str, int]] = (), check_points: Sequence[Mapping[str, int]] = (),
                 unsupported: Optional[Dict[str, int]] = None) -> None:
        super().__init__(total.macs, total.flops, total.params, total.bytes)
        self._modules = modules
        self._operators = operators
        self.spec = tuple(spec)
        self.domain = dict(domain)
        self.mode = mode
        self.convention = convention
        self.module_types = dict(module_types or {})
        self.fit_points = [dict(p) for p in fit_points]
        self.check_points = [dict(p) for p in check_points]
        self.unsupported = dict(unsupported or {})

    @property
    def counts(self) -> int:
        return len(self.fit_points) + len(self.check_points)

    def by_module(self) -> Dict[str, Costs]:
        """Module path -> its formulas (the module and everything inside it; ``""`` the model)."""
        return dict(self._modules)

    def by_operator(self) -> Dict[str, Costs]:
        """Op type -> the formulas of all its calls together."""
        return dict(self._operators)

    def shape(self, **dims: int) -> Tuple[int, ...]:
        """The input shape at these sizes (``spec`` with the names filled in)."""
        return tuple(dims[s] if isinstance(s, str) else s for s in self.spec)

    def to_text(self, depth: Optional[int] = None) -> str:
        """The model's formulas as text (what ``str()`` gives); with ``depth``, one line per
        module down to that depth."""
        from ..render.symbolic import symbolic_text

        return symbolic_text(self, depth)

    def table(self, depth: int = 1) -> str:
        """``to_text(depth)``: the name before to_text(), kept for one release."""
        return self.to_text(depth)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"Symbolic(spec={self.spec}, macs={str(self.macs)!r})"

    def to_latex(self, quantity: str = "macs") -> str:
        from ..render.symbolic import symbolic_latex

        return symbolic_latex(self, quantity)

    def to_markdown(self, depth: int = 1) -> str:
        from ..render.symbolic import symbolic_markdown

        return symbolic_markdown(self, depth)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "spec": list(self.spec), "dims": list(self.dims),
            "domain": {d: [r.start, r.stop, r.step] for d, r in self.domain.items()},
            "mode": self.mode, "convention": self.convention,
            "total": Costs.to_dict(self),
            "modules": {p: {"type": self.module_types.get(p, ""), **c.to_dict()} for p, c in self._modules.items()},
            "operators": {op: c.to_dict() for op, c in self._operators.items()},
            "fit_points": self.fit_points, "check_points": self.check_points,
            "unsupported": self.unsupported,
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent)

    def diff(self, other: "Symbolic", names: Sequence[str] = ("A", "B")) -> "SymbolicDiff":
        """What changes from these formulas (A) to ``other``'s (B): ``B - A`` as formulas, for
        the whole model, per module path and per op type, on the sizes both domains hold."""
        return symbolic_diff(self, other, names)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str = "") -> "Symbolic":
        return cls(
            Costs.from_dict(data["total"]),
            {p: Costs.from_dict(c, p or "the model") for p, c in data["modules"].items()},
            {op: Costs.from_dict(c, op) for op, c in data["operators"].items()},
            spec=data["spec"], domain={d: range(*v) for d, v in data["domain"].items()},
            mode=data.get("mode", "graph"), convention=data.get("convention", "flowflops"),
            module_types={p: c.get("type", "") for p, c in data["modules"].items()},
            fit_points=data.get("fit_points", ()), check_points=data.get("check_points", ()),
            unsupported=data.get("unsupported"))

    @classmethod
    def from_json(cls, text: str) -> "Symbolic":
        import json

        return cls.from_dict(json.loads(text))


# -- comparing two models' formulas -------------------------------------------------------

def common_sizes(name: str, a: range, b: range) -> range:
    """The sizes of dimension ``name`` both domains hold (an arithmetic progression again), or
    a ValueError when they share none."""
    step = a.step * b.step // gcd(a.step, b.step)
    lo, hi = max(a.start, b.start), min(a.stop, b.stop)
    v = a.start + -(-(lo - a.start) // a.step) * a.step  # a's first size from lo on
    for _ in range(step // a.step):  # the first common size, if any, is among a's next lcm/a.step
        if v >= hi:
            break
        if (v - b.start) % b.step == 0:
            return range(v, hi, step)
        v += a.step
    raise ValueError(f"the two formulas share no size of {name} ({domain_text(name, a)}; {domain_text(name, b)})")


@dataclass
class SymbolicRow:
    """One module path or op type of a :class:`SymbolicDiff`: its formulas in A and in B
    (``None`` where that side has none) and ``delta``, B - A (a missing side counts 0)."""

    kind: str  # "module" | "operator"
    key: str
    a: Optional[Costs]
    b: Optional[Costs]
    delta: Costs

    @property
    def status(self) -> str:
        if self.a is None:
            return "added"
        if self.b is None:
            return "removed"
        return "changed" if any(self.delta.formula(q).terms for q in QUANTITIES) else "same"


@dataclass
class SymbolicDiff:
    """B - A for two :class:`Symbolic` results in the same named sizes: ``total`` (formulas of
    the difference), ``rows`` (per module, then per op type), ``domain`` (the sizes both hold),
    ``names`` of the two sides."""

    names: Tuple[str, str]
    dims: Tuple[str, ...]
    domain: Dict[str, range]
    a_total: Costs
    b_total: Costs
    total: Costs
    rows: List[SymbolicRow]

    def modules(self) -> Dict[str, SymbolicRow]:
        return {r.key: r for r in self.rows if r.kind == "module"}

    def operators(self) -> Dict[str, SymbolicRow]:
        return {r.key: r for r in self.rows if r.kind == "operator"}

    def to_text(self, depth: Optional[int] = None, show_all: bool = False) -> str:
        from ..render.symbolic import symbolic_diff_text

        return symbolic_diff_text(self, depth, show_all)

    def __str__(self) -> str:
        return self.to_text()

    def to_dict(self) -> Dict[str, Any]:
        return {"names": list(self.names), "dims": list(self.dims),
                "domain": {d: [r.start, r.stop, r.step] for d, r in self.domain.items()},
                "a": self.a_total.to_dict(), "b": self.b_total.to_dict(), "delta": self.total.to_dict(),
                "rows": [{"kind": r.kind, "key": r.key, "status": r.status, "delta": r.delta.to_dict()}
                         for r in self.rows]}


def symbolic_diff(a: "Symbolic", b: "Symbolic", names: Sequence[str] = ("A", "B")) -> SymbolicDiff:
    """``b - a`` formula by formula (see :meth:`Symbolic.diff`)."""
    if tuple(a.dims) != tuple(b.dims):
        raise ValueError(f"the two results are formulas in different sizes ({', '.join(a.dims)} and "
                         f"{', '.join(b.dims)}): fit both with the same names, e.g. ('B', 3, 'H', 'W')")
    dims = tuple(a.dims)
    domain = {d: common_sizes(d, a.domain[d], b.domain[d]) for d in dims}

    def on(f: Formula) -> Formula:
        return Formula(dims, f.terms, domain, f.name)

    def minus(x: Optional[Costs], y: Optional[Costs]) -> Costs:
        zero = Formula(dims, {}, domain)
        return Costs(*(on((y.formula(q) if y else zero) - (x.formula(q) if x else zero)) for q in QUANTITIES))

    rows: List[SymbolicRow] = []
    for kind, xa, xb in (("module", a.by_module(), b.by_module()), ("operator", a.by_operator(), b.by_operator())):
        for key in list(xa) + [k for k in xb if k not in xa]:
            rows.append(SymbolicRow(kind, key, xa.get(key), xb.get(key), minus(xa.get(key), xb.get(key))))
    first, second = (tuple(names) + ("A", "B"))[:2]
    return SymbolicDiff((first, second), dims, domain, a, b, minus(a, b), rows)


# -- fitting ------------------------------------------------------------------------------

Sample = Dict[Tuple[str, str, str], int]  # (kind, key, quantity) -> value; kind "m" module / "o" op


def sample_of(report: "Report") -> Sample:
    """Every number :func:`symbolic` fits, from one count's :class:`flowflops.Report`."""
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


def _lagrange_matrix(xs: Sequence[int]) -> List[List[Fraction]]:
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


def interpolate(grid: Sequence[Sequence[int]], values: Mapping[Point, int],
                mats: Optional[List[List[List[Fraction]]]] = None) -> Terms:
    """The polynomial of degree ``< len(grid[i])`` in variable ``i`` through ``values`` on the
    grid ``product(*grid)`` (exact: tensor-product Lagrange interpolation; ``mats``: the
    grid's :func:`_lagrange_matrix` per axis, when already made)."""
    mats = mats or [_lagrange_matrix(xs) for xs in grid]
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


def _differences_vanish(ys: Sequence[int], order: int) -> bool:
    """Whether the ``order``-th finite difference of ``ys`` (equally spaced) is zero."""
    d = list(ys)
    for _ in range(order):
        d = [b - a for a, b in zip(d, d[1:])]
    return all(v == 0 for v in d)


def _describe(kind: str, key: str, quantity: str) -> str:
    what = {"macs": "MACs", "flops": "FLOPs", "params": "parameters", "bytes": "bytes"}[quantity]
    if kind == "m":
        return f"the {what} of {'the whole model' if key == '' else f'module {key!r}'}"
    return f"the {what} of the {key!r} ops"


def _most_specific(keys: List[Tuple[str, str, str]]) -> Tuple[str, str, str]:
    """The key an error names: the deepest module (then MACs before FLOPs, bytes, params),
    else an op type."""
    order = {q: i for i, q in enumerate(QUANTITIES)}
    return min(keys, key=lambda k: (k[0] != "m", -(k[1].count(".") + bool(k[1])), order[k[2]], k[1]))


def _at(dims: Sequence[str], point: Point) -> str:
    return ", ".join(f"{d}={v}" for d, v in zip(dims, point))


class _Fitter:
    def __init__(self, count: Callable[[Point], Any], dims: Tuple[str, ...], domain: Dict[str, range],
                 max_degree: int) -> None:
        self.count_report, self.dims, self.domain, self.max_degree = count, dims, domain, max_degree
        self.samples: Dict[Point, Sample] = {}
        self.last: Any = None
        self.first: Any = None

    def sample(self, point: Point) -> Sample:
        if point not in self.samples:
            report = self.count_report(point)
            self.samples[point] = sample_of(report)
            self.last = report
            if self.first is None:
                self.first = report
        return self.samples[point]

    def axis_values(self, i: int, n: int) -> List[int]:
        """The first ``n`` values of dimension ``i`` the fit uses: from the domain's second value
        (the first, when the domain is too short), equally spaced."""
        r = self.domain[self.dims[i]]
        skip = 1 if len(r) >= n + 1 else 0
        if len(r) < n + skip:
            raise CountError(
                f"the domain of {self.dims[i]} ({domain_text(self.dims[i], r)}) has {len(r)} sizes, too few to "
                f"find the degree of the cost in {self.dims[i]} ({n} needed): widen it")
        return [r[k + skip] for k in range(n)]

    def degree(self, i: int, base: Point, start: int = 0) -> int:
        """The degree in dimension ``i`` of every fitted number, along the axis through ``base``
        (at least ``start``: from the ``start + 2`` first values on)."""
        d = start
        while True:
            xs = self.axis_values(i, d + 2)
            pts = [base[:i] + (x,) + base[i + 1:] for x in xs]
            samples = [self.sample(p) for p in pts]
            keys = set().union(*samples)
            bad = [k for k in sorted(keys) if not _differences_vanish([s.get(k, 0) for s in samples], d + 1)]
            if not bad:
                return d
            if d >= self.max_degree:
                k = _most_specific(bad)
                others = self.dims[:i] + self.dims[i + 1:]
                rest = base[:i] + base[i + 1:]
                raise CountError(
                    f"{_describe(*k)} is not a polynomial of degree <= {self.max_degree} in {self.dims[i]} "
                    f"(counted at {self.dims[i]} = {', '.join(map(str, xs))}"
                    f"{', with ' + _at(others, rest) if others else ''}): "
                    "give a domain where the shapes are regular (e.g. "
                    f"domain={{{self.dims[i]!r}: 32}} for a network that halves its input 5 times), or raise "
                    "max_degree")
            d += 1


def symbolic(
    model: Any,
    input_res: Sequence[Union[int, str]],
    *,
    domain: Optional[Mapping[str, Union[int, range]]] = None,
    input_constructor: Optional[Callable[[Any], Any]] = None,
    mode: str = "graph",
    checks: int = 2,
    max_degree: int = 4,
    seed: int = 0,
    **profile_kwargs: Any,
) -> Symbolic:
    """Exact formulas of ``model``'s cost in the named dimensions of ``input_res``.

    ``input_res``: the input shape with a name (``"B"``, ``"H"``, ``"T"``...) for each free
    size, e.g. ``("B", 3, "H", "W")``; the same name may stand for several sizes. With
    ``input_constructor``, the shape (names filled in) is handed to it as
    :func:`flowflops.profile` does: ``input_constructor=lambda s: {"idx": flow.zeros(*s,
    dtype=flow.int64)}`` with ``("B", "T")``. ``domain``: name -> the sizes the formula covers:
    an int ``m`` (the multiples of ``m``) or a ``range`` (``range(1, 17)`` for a model whose
    positional table has 16 rows); every other name: 1, 2, 3, ...
    ``checks``: shapes counted only to check every fit (besides the axis counts the grid does
    not use): the smallest sizes of the domain, then shapes drawn at random (``seed``).
    ``max_degree``: the highest degree tried per dimension. Every other keyword goes to
    :func:`flowflops.profile` (``mode`` is ``"graph"`` here by default; ``convention``,
    ``attention``, ``optimizer``...).

    Raises :class:`CountError` when a number does not follow one polynomial (naming the module
    or op type, the shape and both numbers), and whatever a count raises.
    """
    from ..api import profile

    spec = tuple(input_res)
    dims: List[str] = []
    for s in spec:
        if isinstance(s, str):
            if s not in dims:
                dims.append(s)
        elif isinstance(s, bool) or not isinstance(s, int) or s < 1:
            raise TypeError(f"input_res holds positive ints and names of sizes (e.g. ('B', 3, 'H', 'W')), "
                            f"got {s!r}")
    if not dims:
        raise ValueError(f"input_res {spec!r} names no size: give names for the sizes that vary, e.g. "
                         "('B', 3, 'H', 'W')")
    dom_in = dict(domain or {})
    unknown = set(dom_in) - set(dims)
    if unknown:
        raise ValueError(f"domain names {sorted(unknown)}, which input_res {spec!r} does not")
    doms = {d: _as_range(d, dom_in.get(d, 1)) for d in dims}
    Formula(dims, {}, doms)  # checks the names
    if isinstance(checks, bool) or not isinstance(checks, int) or checks < 0:
        raise ValueError(f"checks must be an int >= 0, got {checks!r}")
    if isinstance(max_degree, bool) or not isinstance(max_degree, int) or max_degree < 0:
        raise ValueError(f"max_degree must be an int >= 0, got {max_degree!r}")
    names = tuple(dims)

    def count(point: Point) -> Any:
        values = dict(zip(names, point))
        shape = tuple(values[s] if isinstance(s, str) else s for s in spec)
        return profile(model, shape, input_constructor=input_constructor, mode=mode, **profile_kwargs)

    fit = _Fitter(count, names, doms, max_degree)
    base = tuple(fit.axis_values(i, 1)[0] for i in range(len(names)))
    # a first guess of degree 1 in every size (most costs are), checked at shapes off the grid;
    # only where a check misses is the degree found along each axis (and the grid widened)
    degrees = [min(1, max_degree)] * len(names)
    if not checks:  # nothing off the grid would check a guess: find every degree along its axis
        degrees = [fit.degree(i, base) for i in range(len(names))]
    rng = random.Random(seed)
    extra: Optional[List[Point]] = None
    while True:
        grid = [fit.axis_values(i, d + 1) for i, d in enumerate(degrees)]
        fit_pts = list(itertools.product(*grid))
        for p in fit_pts:
            fit.sample(p)
        if extra is None:
            extra = _random_points(names, doms, grid, set(fit.samples), checks, rng)
            for p in extra:
                fit.sample(p)
        on_grid = set(fit_pts)
        check_pts = [p for p in fit.samples if p not in on_grid]
        formulas, misses = _fit_all(fit, names, doms, grid, fit_pts, check_pts)
        if not misses:
            break
        found = [fit.degree(i, base, d) for i, d in enumerate(degrees)]
        if found == degrees:  # no axis shows a higher degree: the miss is the model's, not the fit's
            k = _most_specific(list(misses))
            p, want, got = misses[k]
            others = f" (and {len(misses) - 1} more numbers)" if len(misses) > 1 else ""
            raise CountError(
                f"{_describe(*k)}{others} does not follow one polynomial in {', '.join(names)}: fitted on "
                f"{len(fit_pts)} counts it predicts {want} at {_at(names, p)}, counted {got:,} "
                f"({'; '.join(domain_text(d, doms[d]) for d in names)}). The model may take another path "
                "at some sizes (a size of 1, a size a stride or pooling does not divide): give a domain "
                "that leaves them out (e.g. domain={'T': range(2, 4097)} or {'H': 32}), or raise max_degree")
        degrees = found
    keys = sorted(formulas)

    zero = Formula(names, {}, doms)

    def bundle(kind: str, key: str) -> Costs:
        return Costs(*(formulas.get((kind, key, q), zero) for q in QUANTITIES))

    modules = {k[1]: None for k in keys if k[0] == "m"}
    operators = {k[1]: None for k in keys if k[0] == "o"}
    report = fit.last
    tree = list(report.modules) if report is not None and report.modules else list(modules)
    ordered = tree + [p for p in modules if p not in tree]
    by_module = {p: bundle("m", p) for p in ordered if p in modules}
    by_op = {op: bundle("o", op) for op in operators}
    by_op = dict(sorted(by_op.items(), key=lambda kv: (-kv[1].macs.exact(dict(zip(names, base))), kv[0])))
    types = {p: info.type_name for p, info in report.modules.items()} if report is not None else {}
    return Symbolic(
        by_module.get("", bundle("m", "")), by_module, by_op, spec=spec, domain=doms, mode=mode,
        convention=str(profile_kwargs.get("convention", "flowflops")), module_types=types,
        fit_points=[dict(zip(names, p)) for p in fit_pts], check_points=[dict(zip(names, p)) for p in check_pts],
        unsupported=getattr(report, "unsupported", {}))


def _fit_all(fit: "_Fitter", names: Tuple[str, ...], doms: Dict[str, range], grid: List[List[int]],
             fit_pts: List[Point], check_pts: List[Point]
             ) -> Tuple[Dict[Tuple[str, str, str], Formula], Dict[Tuple[str, str, str], Tuple[Point, Fraction, int]]]:
    """Every number's polynomial through the grid counts, and the numbers a check point misses
    (key -> the first such point, the prediction, the count)."""
    keys = sorted(set().union(*fit.samples.values()))
    formulas: Dict[Tuple[str, str, str], Formula] = {}
    misses: Dict[Tuple[str, str, str], Tuple[Point, Fraction, int]] = {}
    mats = [_lagrange_matrix(xs) for xs in grid]
    seen: Dict[Tuple[int, ...], Tuple[Terms, Optional[Tuple[Point, Fraction, int]]]] = {}
    for k in keys:
        ys = tuple(fit.samples[p].get(k, 0) for p in fit_pts)
        zs = tuple(fit.samples[p].get(k, 0) for p in check_pts)
        if ys + zs not in seen:  # many numbers count alike (zeros, constants, twin modules)
            terms = interpolate(grid, dict(zip(fit_pts, ys)), mats)
            f = Formula(names, terms, doms)
            miss = None
            for p, got in zip(check_pts, zs):
                want = f.exact(dict(zip(names, p)))
                if want != got:
                    miss = (p, want, got)
                    break
            seen[ys + zs] = (terms, miss)
        terms, miss = seen[ys + zs]
        formulas[k] = Formula(names, terms, doms, _describe(*k))
        if miss is not None:
            misses[k] = miss
    return formulas, misses


def _random_points(names: Tuple[str, ...], doms: Dict[str, range], grid: List[List[int]], used: set,
                   n: int, rng: random.Random) -> List[Point]:
    """``n`` shapes of the domain no count used: the smallest sizes of every dimension, then
    shapes with each size drawn from the domain's first values up to two steps past the largest
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



# -- piecewise: one polynomial per residue class ---------------------------------------------

class Piecewise:
    """A cost that is one polynomial per residue class of some sizes (a stride-2 layer's
    ``ceil(H/2)``: one formula for even ``H``, one for odd): ``pieces`` maps the class indices
    (one per split size, in ``split`` order) to the class's :class:`Formula`, whose domain states
    the class. ``f(**sizes)`` picks the piece and gives its exact int (raises outside every
    piece's domain)."""

    __slots__ = ("dims", "split", "pieces")

    def __init__(self, dims: Sequence[str], split: Mapping[str, Tuple[range, int]],
                 pieces: Mapping[Tuple[int, ...], Formula]) -> None:
        self.dims = tuple(dims)
        self.split = dict(split)
        self.pieces = dict(pieces)

    def key(self, sizes: Mapping[str, Any]) -> Tuple[int, ...]:
        """The class indices of ``sizes`` (a ValueError outside the base domain)."""
        out = []
        for d, (r, m) in self.split.items():
            v = _dim_value(d, sizes[d], r) if d in sizes else None
            if v is None:
                raise TypeError(f"this formula takes the sizes {', '.join(self.dims)} as keywords, "
                                f"got {', '.join(sizes) or 'none'}")
            out.append(r.index(v) % m)
        return tuple(out)

    def piece(self, **sizes: int) -> Formula:
        return self.pieces[self.key(sizes)]

    def __call__(self, **sizes: int) -> int:
        return self.pieces[self.key(sizes)](**sizes)

    def degree(self, dim: Optional[str] = None) -> int:
        return max((f.degree(dim) for f in self.pieces.values()), default=0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Piecewise) and self.dims == other.dims and self.pieces == other.pieces

    def __hash__(self) -> int:
        return hash((self.dims, tuple(sorted(self.pieces.items()))))

    def to_text(self) -> str:
        """Every piece's formula with its residue class (what ``str()`` gives)."""
        from ..render.symbolic import piecewise_text

        return piecewise_text(self)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"Piecewise({len(self.pieces)} pieces, dims={self.dims})"

    def to_dict(self) -> Dict[str, Any]:
        return {"dims": list(self.dims),
                "split": {d: [r.start, r.stop, r.step, m] for d, (r, m) in self.split.items()},
                "pieces": [[list(k), f.to_dict()] for k, f in sorted(self.pieces.items())]}


class PiecewiseCosts:
    """The four :class:`Piecewise` formulas of one part of the model; ``at(**sizes)``."""

    def __init__(self, macs: Piecewise, flops: Piecewise, params: Piecewise, bytes: Piecewise) -> None:
        self.macs, self.flops, self.params, self.bytes = macs, flops, params, bytes

    def formula(self, quantity: str) -> Piecewise:
        if quantity not in QUANTITIES:
            raise ValueError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
        f: Piecewise = getattr(self, quantity)
        return f

    def at(self, **sizes: int) -> CostAt:
        k = self.macs.key(sizes)
        return CostAt(*(self.formula(q).pieces[k](**sizes) for q in QUANTITIES))

    __call__ = at


class PiecewiseSymbolic(PiecewiseCosts):
    """What :func:`piecewise` returns: one :class:`Symbolic` per residue class (``pieces``,
    keyed by the class indices; :meth:`piece` picks the one of some sizes), and the model's
    formulas, per module and per op type, as :class:`Piecewise` formulas over all of them."""

    def __init__(self, spec: Sequence[Any], split: Mapping[str, Tuple[range, int]],
                 pieces: Mapping[Tuple[int, ...], Symbolic]) -> None:
        self.spec = tuple(spec)
        self.split = dict(split)
        self.pieces = dict(pieces)
        first = next(iter(self.pieces.values()))
        self.dims: Tuple[str, ...] = first.dims

        def joined(get: Callable[[Symbolic], Optional[Costs]]) -> PiecewiseCosts:
            zero = {k: Formula(self.dims, {}, s.domain) for k, s in self.pieces.items()}
            return PiecewiseCosts(*(Piecewise(self.dims, self.split, {
                k: (c.formula(q) if c is not None else zero[k]) for k, s in self.pieces.items()
                for c in [get(s)]}) for q in QUANTITIES))

        super().__init__(*(getattr(joined(lambda s: s), q) for q in QUANTITIES))
        paths = list(dict.fromkeys(p for s in self.pieces.values() for p in s.by_module()))
        ops = list(dict.fromkeys(o for s in self.pieces.values() for o in s.by_operator()))
        self._modules = {p: joined(lambda s, p=p: s.by_module().get(p)) for p in paths}  # type: ignore[misc]
        self._operators = {o: joined(lambda s, o=o: s.by_operator().get(o)) for o in ops}  # type: ignore[misc]

    @property
    def counts(self) -> int:
        return sum(s.counts for s in self.pieces.values())

    def piece(self, **sizes: int) -> Symbolic:
        """The :class:`Symbolic` of the residue class ``sizes`` fall in."""
        return self.pieces[self.macs.key(sizes)]

    def by_module(self) -> Dict[str, PiecewiseCosts]:
        return dict(self._modules)

    def by_operator(self) -> Dict[str, PiecewiseCosts]:
        return dict(self._operators)

    def shape(self, **sizes: int) -> Tuple[int, ...]:
        return tuple(sizes[s] if isinstance(s, str) else s for s in self.spec)

    def to_text(self, depth: Optional[int] = None) -> str:
        """The model's piecewise formulas as text (what ``str()`` gives); with ``depth``, one
        line per module down to that depth."""
        from ..render.symbolic import piecewise_symbolic_text

        return piecewise_symbolic_text(self, depth)

    def table(self, depth: int = 1) -> str:
        """``to_text(depth)``."""
        return self.to_text(depth)

    def __str__(self) -> str:
        return self.to_text()

    def to_dict(self) -> Dict[str, Any]:
        return {"spec": list(self.spec),
                "split": {d: [r.start, r.stop, r.step, m] for d, (r, m) in self.split.items()},
                "pieces": [[list(k), s.to_dict()] for k, s in sorted(self.pieces.items())]}

    def to_json(self, indent: Optional[int] = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PiecewiseSymbolic":
        split = {d: (range(*v[:3]), v[3]) for d, v in data["split"].items()}
        return cls(data["spec"], split, {tuple(k): Symbolic.from_dict(s) for k, s in data["pieces"]})


def piecewise(model: Any, input_res: Sequence[Union[int, str]], split: Mapping[str, int], *,
              domain: Optional[Mapping[str, Union[int, range]]] = None, **kwargs: Any) -> PiecewiseSymbolic:
    """Exact formulas where one polynomial does not hold: ``split={"H": 2, "W": 2}`` fits one
    :func:`symbolic` per residue class of ``H`` and ``W`` modulo 2 (of their domain's sizes: the
    ``k``-th size of the domain is in class ``k % 2``), each stated on its own domain, e.g. "H = 1
    + a multiple of 2". A network whose strides take ``ceil(H/2)`` is then exact at every size,
    at the price of one analysis per class (``prod(split.values())`` of them: split a network
    that halves its input five times by 32 only when its counts are cheap; a ``domain`` of
    multiples of 32 needs one). ``kwargs`` as for :func:`symbolic`."""
    spec = tuple(input_res)
    names = [s for s in spec if isinstance(s, str)]
    dom_in = dict(domain or {})
    base: Dict[str, Tuple[range, int]] = {}
    for d, m in dict(split).items():
        if d not in names:
            raise ValueError(f"split names {d!r}, which input_res {spec!r} does not")
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError(f"split[{d!r}] must be an int >= 1 (how many residue classes), got {m!r}")
        base[d] = (_as_range(d, dom_in.get(d, 1)), m)
    if not base:
        raise ValueError("split names no size: e.g. split={'H': 2} for one formula per parity of H")
    pieces: Dict[Tuple[int, ...], Symbolic] = {}
    for key in itertools.product(*(range(m) for _, m in base.values())):
        doms = dict(dom_in)
        for (d, (r, m)), c in zip(base.items(), key):
            doms[d] = range(r.start + c * r.step, r.stop, r.step * m)
        pieces[key] = symbolic(model, spec, domain=doms, **kwargs)
    return PiecewiseSymbolic(spec, base, pieces)
