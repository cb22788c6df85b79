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
Lagrange fit, exact fractions) and checked at ``checks`` further shapes (1 by default): the
domain's smallest sizes (off the grid in every dimension, so a wrong degree in any of them shows,
and where models take other paths: a batch of 1, a 1x1 map), then shapes drawn at random off
the grid in every dimension. Only where a check misses is
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
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..analysis.polyfit import (Exps, Fitter, Point, Sample, Terms, describe_key, fit_counts, interpolate,
                                sample_of)
from ..records import Cost
from ..render.symbolic import UNBOUNDED, domain_text

__all__ = [
    "Exps", "Terms", "Point", "QUANTITIES", "Formula", "CostAt", "Costs", "Symbolic", "Sample", "sample_of",
    "interpolate", "symbolic"
]

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

    def diff(self, other: Any, names: Sequence[str] = ("A", "B")) -> Any:
        """What changes from these formulas (A) to ``other``'s (B): ``B - A`` as formulas, for
        the whole model, per module path and per op type, on the sizes both domains hold (a
        :class:`SymbolicDiff`; against a :class:`PiecewiseSymbolic`, a :class:`PiecewiseDiff`,
        one per residue class)."""
        if isinstance(other, PiecewiseSymbolic):
            return piecewise_diff(self, other, names)
        return symbolic_diff(self, other, names)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str = "") -> "Symbolic":
        """The formulas of a :meth:`to_dict`; a ValueError where they do not add up (a file edited
        by hand): the model's module formulas (path ``""``) must be the totals, and the op types'
        MACs, FLOPs and bytes must sum to them, as every count's do."""
        sym = cls._read(data)
        _check_sums(sym)
        return sym

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> "Symbolic":
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


def _check_sums(sym: Symbolic) -> None:
    root = sym.by_module().get("")
    if root is None:
        raise ValueError("no formulas for the model itself (module path \"\")")
    for q in QUANTITIES:
        if root.formula(q).terms != sym.formula(q).terms:
            raise ValueError(f"the model's {q} formula (module path \"\") is not the total {q}")
    for q in ("macs", "flops", "bytes"):
        total = sym.formula(q)
        parts = Formula(total.dims, {})
        for op in sym.by_operator().values():
            parts = parts + op.formula(q)  # a ValueError too where an op's sizes differ
        if parts.terms != total.terms:
            raise ValueError(f"the op types' {q} formulas do not add up to the total {q}")


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


# -- fitting: flowflops.analysis.polyfit ----------------------------------------------------

def _describe(kind: str, key: str, quantity: str) -> str:
    return describe_key((kind, key, quantity))


def symbolic(
    model: Any,
    input_res: Sequence[Union[int, str]],
    *,
    domain: Optional[Mapping[str, Union[int, range]]] = None,
    input_constructor: Optional[Callable[[Any], Any]] = None,
    mode: str = "graph",
    checks: int = 1,
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
    not use; 1 by default): the smallest sizes of the domain, then shapes drawn at random off
    the grid (``seed``).
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

    last: List[Any] = [None]

    def sample(point: Point) -> Sample:
        last[0] = count(point)
        return sample_of(last[0])

    fitter = Fitter(sample, names, doms, max_degree, words=domain_text)
    found = fit_counts(fitter, checks=checks, seed=seed)
    fit_pts, check_pts, base = found.fit_points, found.check_points, found.base
    formulas = {k: Formula(names, t, doms, _describe(*k)) for k, t in found.terms.items()}
    keys = sorted(formulas)

    zero = Formula(names, {}, doms)

    def bundle(kind: str, key: str) -> Costs:
        return Costs(*(formulas.get((kind, key, q), zero) for q in QUANTITIES))

    modules = {k[1]: None for k in keys if k[0] == "m"}
    operators = {k[1]: None for k in keys if k[0] == "o"}
    report = last[0]
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

    def to_latex(self) -> str:
        """The pieces as a LaTeX ``cases`` environment (math mode, without the ``$``): each
        class's formula, then its residue class, e.g. ``448 H + 448 & H \\equiv 1 \\pmod{2}``."""
        from ..render.symbolic import piecewise_latex

        return piecewise_latex(self)

    def to_dict(self) -> Dict[str, Any]:
        return {"dims": list(self.dims),
                "split": {d: [r.start, r.stop, r.step, m] for d, (r, m) in self.split.items()},
                "pieces": [[list(k), f.to_dict()] for k, f in sorted(self.pieces.items())]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str = "") -> "Piecewise":
        split = {d: (range(*v[:3]), v[3]) for d, v in data["split"].items()}
        return cls(data["dims"], split, {tuple(k): Formula.from_dict(f, name) for k, f in data["pieces"]})


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

    def to_latex(self, quantity: str = "macs") -> str:
        """``\\mathrm{MACs}(H) = \\begin{cases} ... \\end{cases}``: the whole model's formula of
        ``quantity``, one line per residue class (math mode, without the ``$``)."""
        from ..render.symbolic import piecewise_symbolic_latex

        return piecewise_symbolic_latex(self, quantity)

    def to_markdown(self, depth: int = 1) -> str:
        """One Markdown table per residue class (as :meth:`Symbolic.to_markdown`), each under
        its domain."""
        from ..render.symbolic import piecewise_symbolic_markdown

        return piecewise_symbolic_markdown(self, depth)

    def diff(self, other: Union[Symbolic, "PiecewiseSymbolic"], names: Sequence[str] = ("A", "B")) -> "PiecewiseDiff":
        """``other - self`` class by class (see :func:`piecewise_diff`)."""
        return piecewise_diff(self, other, names)

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


@dataclass
class PiecewiseDiff:
    """B - A where one side or both are split by residue classes (:func:`piecewise_diff`):
    one :class:`SymbolicDiff` per class (``pieces``, keyed as the split side's pieces), each on
    the sizes of its class both sides hold."""

    names: Tuple[str, str]
    split: Dict[str, Tuple[range, int]]
    pieces: Dict[Tuple[int, ...], SymbolicDiff]

    def piece(self, **sizes: int) -> SymbolicDiff:
        """The difference of the residue class ``sizes`` fall in."""
        return self.pieces[Piecewise(list(sizes), self.split, {}).key(sizes)]

    def to_text(self, depth: Optional[int] = None, show_all: bool = False) -> str:
        """Each class's difference (:meth:`SymbolicDiff.to_text`) under its domain."""
        from ..render.symbolic import piecewise_diff_text

        return piecewise_diff_text(self, depth, show_all)

    def __str__(self) -> str:
        return self.to_text()

    def to_dict(self) -> Dict[str, Any]:
        return {"names": list(self.names),
                "split": {d: [r.start, r.stop, r.step, m] for d, (r, m) in self.split.items()},
                "pieces": [[list(k), d.to_dict()] for k, d in sorted(self.pieces.items())]}


def piecewise_diff(a: Union[Symbolic, PiecewiseSymbolic], b: Union[Symbolic, PiecewiseSymbolic],
                   names: Sequence[str] = ("A", "B")) -> PiecewiseDiff:
    """``b - a`` class by class, where ``a`` or ``b`` (or both) is a :class:`PiecewiseSymbolic`:
    two split the same way are compared piece by piece; a plain :class:`Symbolic` is compared
    with each piece of the other on the sizes both hold (the classes its domain leaves out have
    no difference; none left raises). Two splits that differ raise (fit both with the same
    ``split`` and ``domain``)."""
    split_a = a.split if isinstance(a, PiecewiseSymbolic) else None
    split_b = b.split if isinstance(b, PiecewiseSymbolic) else None
    if split_a is None and split_b is None:
        raise TypeError("piecewise_diff compares results split by residue classes; for two Symbolic "
                        "results use Symbolic.diff")
    if split_a is not None and split_b is not None and split_a != split_b:
        def said(sp: Mapping[str, Tuple[range, int]]) -> str:
            return ", ".join(f"{d} modulo {m} ({domain_text(d, r)})" for d, (r, m) in sp.items())

        raise ValueError(f"the two results are split differently ({said(split_a)}; {said(split_b)}): fit both "
                         "with the same split and domain to compare them class by class")
    split = split_a if split_a is not None else split_b
    assert split is not None
    keys = sorted((a if isinstance(a, PiecewiseSymbolic) else b).pieces)  # type: ignore[union-attr]

    def side(x: Union[Symbolic, PiecewiseSymbolic], k: Tuple[int, ...]) -> Symbolic:
        return x.pieces[k] if isinstance(x, PiecewiseSymbolic) else x

    first, second = (tuple(names) + ("A", "B"))[:2]
    pieces: Dict[Tuple[int, ...], SymbolicDiff] = {}
    missed: List[ValueError] = []
    for k in keys:
        try:
            pieces[k] = symbolic_diff(side(a, k), side(b, k), (first, second))
        except ValueError as err:  # a class the plain side's domain leaves out: no difference there
            if split_a is not None and split_b is not None or "share no size" not in str(err):
                raise
            missed.append(err)
    if not pieces:
        raise missed[0]
    return PiecewiseDiff((first, second), dict(split), pieces)
