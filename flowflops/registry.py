"""The one place where op types meet their formulas.

A formula is a small pure function ``(OpRecord) -> Cost`` of the record's shapes (and attrs,
where the engine knows them), registered under one or more of OneFlow's op type names (the
names ``nn.Graph`` shows: ``conv2d``, ``matmul``, ``add_n``...). Adding one::

    from flowflops import Cost, OpRecord, register
    from flowflops.records import elementwise, numel

    @register("my_swish")
    def my_swish(rec: OpRecord) -> Cost:
        \"\"\"One op per output element (MACs in the article's convention, per batch).\"\"\"
        return elementwise(numel(rec.outputs[0]))

``rec.inputs`` / ``rec.outputs`` are the tensors' shapes, batch included, in the op's argument
order; return a :class:`~flowflops.records.Cost` for the whole call (``mac(n)`` for ``n``
multiply-accumulates, ``elementwise(n)`` for ``n`` elementwise ops, or ``Cost(macs, flops)``).
The built-in formulas (``flowflops/formulas/``, one file per op family) are registered when
flowflops is imported, so registering an op type that already has a formula raises
``ValueError``; pass ``override=True`` to replace it (for every later count in the process).
Zero-cost ops (views, copies, bookkeeping) are registered explicitly with
:func:`register_zero`. The op type to register is the name ``report.unsupported`` lists (or
``rec.op_type`` of ``report.entries``); a built-in goes into the family's file under
``flowflops/formulas/`` with a test deriving its number by hand. A complete, runnable example
(refused duplicate, override, the count before and after): ``examples/custom_formula.py``.

A *convention* (see :mod:`flowflops.conventions`) is a further set of rules over the same op
types that reproduces what a peer tool counts (``ptflops``, ``fvcore``, ``thop``, ``torch``...):
``@register("conv2d", convention="fvcore")``, the rules living in ``flowflops/formulas/peers/``.
An op type with a flowflops formula but no rule in a peer's convention costs nothing there (the
peer does not count it); an op type with no flowflops formula is unsupported in every convention.

An op type with no formula is not an error: :func:`price` returns ``None`` and the report lists
it as unsupported. A formula that raises, or returns something other than a ``Cost``, is a
:class:`~flowflops.errors.FormulaError` naming the op type, the module and the shapes.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from .formulas.derivation import NOTHING, Derivation
from .errors import FormulaError
from .records import (
    GIVEN_COST, IN_ITEMSIZES, IN_TENSORS, ITEM_BYTES, KEEP, OUT_ITEMSIZES, OUT_TENSORS, PARAMS, TWIN, Cost, OpRecord,
    Traffic, itemsizes, numel,
)

__all__ = [
    "Formula", "BytesRule", "Entry", "DEFAULT_CONVENTION", "register", "register_zero", "lookup", "price",
    "formula_of", "is_zero_rule", "derive", "register_bytes", "default_traffic", "traffic", "traffics", "price_records",
    "known_op_types"
]

#: A formula returns a Cost, or a :class:`~flowflops.formulas.derivation.Derivation` (the arithmetic as
#: data, which ``Report.explain`` shows; the registry prices the record with its ``cost``).
Formula = Callable[[OpRecord], Union[Cost, Derivation]]
BytesRule = Callable[[OpRecord], Traffic]
Entry = Tuple[OpRecord, Optional[Cost]]

_FORMULAS: Dict[str, Formula] = {}
_BYTES: Dict[str, BytesRule] = {}
#: peer convention name -> op type -> rule (the default convention's rules are ``_FORMULAS``)
_RULES: Dict[str, Dict[str, Formula]] = {}
DEFAULT_CONVENTION = "flowflops"


def _add(op_type: str, fn: Formula, override: bool) -> None:
    if not isinstance(op_type, str) or not op_type:
        raise TypeError(f"op types are non-empty strings (OneFlow's op type names), got {op_type!r}")
    old = _FORMULAS.get(op_type)
    if old is not None and old is not fn and not override:
        raise ValueError(
            f"{op_type!r} already has a formula ({getattr(old, '__module__', '?')}."
            f"{getattr(old, '__qualname__', old)}): pass override=True to replace it"
        )
    _FORMULAS[op_type] = fn


def register(*op_types: str, override: bool = False,
             convention: str = DEFAULT_CONVENTION) -> Callable[[Formula], Formula]:
    """Decorator: register ``fn`` as the formula of each of ``op_types`` (as the rule of a peer
    ``convention`` when given). Raises ``ValueError`` when one already has a formula (rule),
    unless ``override=True``."""

    def deco(fn: Formula) -> Formula:
        for t in op_types:
            if convention == DEFAULT_CONVENTION:
                _add(t, fn, override)
                continue
            rules = _RULES.setdefault(convention, {})
            if t in rules and rules[t] is not fn and not override:
                raise ValueError(f"{t!r} already has a {convention} rule: pass override=True to replace it")
            rules[t] = fn
        return fn

    return deco


def _zero(rec: OpRecord) -> Derivation:
    """Moves, views or bookkeeping: no arithmetic."""
    return NOTHING


def register_zero(op_types: Iterable[str], override: bool = False) -> None:
    """Register each of ``op_types`` as costing nothing (same duplicate rule as
    :func:`register`)."""
    for t in op_types:
        _add(t, _zero, override)


def lookup(op_type: str) -> Optional[Formula]:
    """The formula for ``op_type``, or ``None`` when there is none."""
    return _FORMULAS.get(op_type)


def price(rec: OpRecord, convention: str = DEFAULT_CONVENTION) -> Optional[Cost]:
    """The cost of one record under ``convention``, or ``None`` when its op type has no
    (flowflops) formula. Under a peer convention an op type without a rule costs nothing.
    A record carrying a user-given cost (``attrs[GIVEN_COST]``, from ``custom_modules_hooks``)
    costs that in every convention.
    Raises :class:`FormulaError` when the formula raises or returns something else than a
    :class:`Cost`.

    A record whose attrs hold ``_keep = (kept, of)`` does only ``kept / of`` of the work its
    shapes describe (a causal or windowed attention kernel skips the masked scores; a sparse
    mixture of experts runs ``top_k`` of its experts): its cost is scaled by that fraction,
    exactly (the rules that set it choose ``of`` so that the cost divides by it)."""
    given: Optional[Cost] = rec.attrs.get(GIVEN_COST)
    if given is not None:
        return given
    fn = formula_of(rec.op_type, convention)
    if fn is None:
        return None
    cost = _call(fn, rec)
    if isinstance(cost, Derivation):
        cost = cost.cost
    if not isinstance(cost, Cost):
        raise FormulaError(rec, fn, f"returned {cost!r} ({type(cost).__name__}), not a flowflops.Cost")
    keep = rec.attrs.get(KEEP)
    if keep:
        kept, of = keep
        cost = Cost(cost.macs * kept // of, cost.flops * kept // of)
    return cost


def formula_of(op_type: str, convention: str = DEFAULT_CONVENTION) -> Optional[Formula]:
    """The function that prices ``op_type`` under ``convention`` (a peer's rule, or the zero
    rule where the peer has none), ``None`` when the op type has no flowflops formula."""
    fn = _FORMULAS.get(op_type)
    if fn is None or convention == DEFAULT_CONVENTION:
        return fn
    return _RULES.get(convention, {}).get(op_type, _zero)


def is_zero_rule(fn: Formula) -> bool:
    """True for the rule of ops registered as costing nothing (and of op types a peer
    convention does not count)."""
    return fn is _zero


def _call(fn: Formula, rec: OpRecord) -> Union[Cost, Derivation]:
    try:
        return fn(rec)
    except Exception as err:
        raise FormulaError(rec, fn, f"raised {type(err).__name__}: {err}") from err


def derive(rec: OpRecord, convention: str = DEFAULT_CONVENTION) -> Optional[Union[Cost, Derivation]]:
    """What the formula (or rule) pricing ``rec`` under ``convention`` returns: a
    :class:`~flowflops.formulas.derivation.Derivation` when it gives its arithmetic, else its
    :class:`Cost`; ``None`` without a formula. Before any ``_keep`` scaling (see :func:`price`)."""
    fn = formula_of(rec.op_type, convention)
    return None if fn is None else _call(fn, rec)


def register_bytes(*op_types: str) -> Callable[[BytesRule], BytesRule]:
    """Decorator: register ``fn`` as the bytes rule of each of ``op_types`` (ops whose traffic
    is not "read every input once, write every output once")."""

    def deco(fn: BytesRule) -> BytesRule:
        for t in op_types:
            _BYTES[t] = fn
        return fn

    return deco


def default_traffic(rec: OpRecord) -> Traffic:
    """Every input read once and every output written once, at its dtype's size; inputs whose
    index is in ``attrs["_params"]`` are parameters (or buffers / optimizer state), the others
    activations."""
    ins, outs = itemsizes(rec)
    params = set(rec.attrs.get(PARAMS, ()) or ())
    p = a = 0
    for i, (shape, size) in enumerate(zip(rec.inputs, ins)):
        if i in params:
            p += numel(shape) * size
        else:
            a += numel(shape) * size
    w = sum(numel(shape) * size for shape, size in zip(rec.outputs, outs))
    return Traffic(p, a, w)


def traffic(rec: OpRecord) -> Traffic:
    """The bytes one record reads and writes (see :class:`flowflops.records.Traffic`)."""
    fn = _BYTES.get(rec.op_type, default_traffic)
    return fn(rec)


_INT = frozenset({int})


def traffics(records: Iterable[OpRecord]) -> List[Traffic]:
    """:func:`traffic` of each record, in order. Records the default rule prices (every input
    read once, every output written once) that have the same shapes, element sizes and
    parameter indices share one :class:`Traffic`, made once: the rule reads nothing else, and
    equal values give it equal numbers (it takes ``int()`` of each dimension and of
    ``_itemsize``; per-tensor element sizes are only shared when they are whole numbers)."""
    memo: Dict[Any, Traffic] = {}
    out: List[Traffic] = []
    append = out.append
    rules = _BYTES
    misses = 0
    for rec in records:
        fn = rules.get(rec.op_type, default_traffic)
        if fn is not default_traffic or misses == _GIVE_UP:
            append(fn(rec))
            continue
        attrs = rec.attrs
        ins, outs = attrs.get(IN_ITEMSIZES), attrs.get(OUT_ITEMSIZES)
        if (ins and not set(map(type, ins)) <= _INT) or (outs and not set(map(type, outs)) <= _INT):
            append(fn(rec))
            continue
        try:
            key = (rec.inputs, rec.outputs, attrs.get(ITEM_BYTES, 4), ins, outs, attrs.get(PARAMS, ()))
            got = memo.get(key)
        except TypeError:  # (a value that cannot be hashed)
            append(fn(rec))
            continue
        if got is None:
            got = memo[key] = fn(rec)
            misses += 1
            if misses == _GIVE_UP and len(out) < 2 * _GIVE_UP:
                memo.clear()  # hardly any two alike: one call per record from here on, no keys
            elif misses == _GIVE_UP:
                misses = 0  # (alike often enough: go on)
        append(got)
    return out


#: after this many records with new keys, :func:`traffics` stops looking for alike ones if at
#: least half of the records so far were new
_GIVE_UP = 2000


_NAMES = frozenset({IN_TENSORS, OUT_TENSORS})


def _frozen(v: Any) -> Any:
    """``v`` hashable where it is a dict or a list (a record's placement is a dict)."""
    t = type(v)
    if t is dict:
        return (dict, tuple([(k, _frozen(x)) for k, x in v.items()]))
    if t is list:
        return (list, tuple([_frozen(x) for x in v]))
    return v


def price_records(records: Iterable[OpRecord], convention: str = DEFAULT_CONVENTION, same: bool = False
                  ) -> List[Entry]:
    """Pair every record with its cost under ``convention`` (``None``: no formula).

    ``same``: a record equal to an earlier one but for its module path, op name and tensor
    names (a graph count's repeated blocks) gets the earlier one's cost, where one of
    flowflops' own formulas prices it: they read the op type, the shapes and the attributes
    (a peer's rule reads the module's class from the attributes), never the names. A user's
    formula (or a user-given cost) is called for every record.
    Records a graph count copied from the same template record (:data:`~flowflops.records.TWIN`)
    are such records by construction: they share one cost without a key being built."""
    if not same:
        return [(r, price(r, convention)) for r in records]
    memo: Dict[tuple, Optional[Cost]] = {}
    twins: Dict[int, Tuple[OpRecord, Optional[Cost]]] = {}  # id(template) -> (it, the cost)
    own: Dict[str, bool] = {}
    out: List[Entry] = []
    for r in records:
        attrs = r.attrs
        mine = own.get(r.op_type)
        if mine is None:
            fn = formula_of(r.op_type, convention)
            mine = own[r.op_type] = fn is not None and (getattr(fn, "__module__", "") or "").startswith("flowflops.")
        if not mine or GIVEN_COST in attrs:
            out.append((r, price(r, convention)))
            continue
        tpl = r.__dict__.get(TWIN)
        if tpl is not None:
            hit = twins.get(id(tpl))
            if hit is not None:
                out.append((r, hit[1]))
                continue
        try:
            key = (r.op_type, r.inputs, r.outputs,
                   tuple([(k, _frozen(v)) for k, v in attrs.items() if k not in _NAMES]))
            cost = memo[key]
        except KeyError:
            cost = memo[key] = price(r, convention)
        except TypeError:  # an attribute that cannot be hashed
            cost = price(r, convention)
        if tpl is not None:
            twins[id(tpl)] = (tpl, cost)  # (holding the template: its id is not reused meanwhile)
        out.append((r, cost))
    return out


def known_op_types() -> List[str]:
    """All op types with a formula, sorted."""
    return sorted(_FORMULAS)


# The built-in formulas, registered on import (after the functions above, which they use), so
# that a user's register() always comes after them; the peer conventions' rules after flowflops' own.
from .formulas import (  # noqa: E402,F401
    activation, backward, comm, conv, elementwise, fused, loss, matmul, norm, optimizer, pool,
    recurrent, reduce, zero,
)
from .formulas import traffic as _traffic_rules  # noqa: E402,F401  (the name traffic is the function above)
from .formulas import peers  # noqa: E402,F401
