"""The one place where op types meet their formulas.

A formula is a small pure function ``(OpRecord) -> Cost``, registered by OneFlow op type name::

    @register("relu")
    def _relu(rec: OpRecord) -> Cost: ...

Zero-cost ops (views, copies, bookkeeping) are registered explicitly with ``register_zero``.
An op type with no formula is not an error: :func:`price` returns ``None`` and the report
lists it as unsupported.
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable, Optional

from .records import ZERO, Cost, OpRecord, Traffic, itemsizes, numel

Formula = Callable[[OpRecord], Cost]
BytesRule = Callable[[OpRecord], Traffic]

_FORMULAS: Dict[str, Formula] = {}
_BYTES: Dict[str, BytesRule] = {}


def register(*op_types: str) -> Callable[[Formula], Formula]:
    """Decorator: register ``fn`` as the formula of each of ``op_types``."""

    def deco(fn: Formula) -> Formula:
        for t in op_types:
            _FORMULAS[t] = fn
        return fn

    return deco


def _zero(rec: OpRecord) -> Cost:
    """Moves, views or bookkeeping: no arithmetic."""
    return ZERO


def register_zero(op_types: Iterable[str]) -> None:
    """Register each of ``op_types`` as costing nothing."""
    for t in op_types:
        _FORMULAS[t] = _zero


def lookup(op_type: str) -> Optional[Formula]:
    """The formula for ``op_type``, or ``None`` when there is none."""
    _ensure_loaded()
    return _FORMULAS.get(op_type)


def price(rec: OpRecord) -> Optional[Cost]:
    """The cost of one record, or ``None`` when its op type has no formula."""
    fn = lookup(rec.op_type)
    return None if fn is None else fn(rec)


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
    params = set(rec.attrs.get("_params", ()) or ())
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
    _ensure_loaded()
    fn = _BYTES.get(rec.op_type, default_traffic)
    return fn(rec)


def known_op_types() -> list:
    """All op types with a formula, sorted."""
    _ensure_loaded()
    return sorted(_FORMULAS)


_loaded = False


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        from . import formulas  # noqa: F401  (registers every formula on import)

        _loaded = True
