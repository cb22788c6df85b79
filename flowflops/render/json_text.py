"""``json.dumps(data, indent=n)``, byte for byte, in a fraction of its time.

With an ``indent`` the standard library encodes in pure Python, through a chain of generators
(several calls per value): a report of 100,000 modules and their op records took about a
minute. :func:`dumps` writes the same text with one function call per container, the C string
escaper of :mod:`json` and ``repr`` of numbers, as ``json.dumps`` does (``ensure_ascii``,
``NaN``/``Infinity`` for non-finite floats, keys in insertion order, ``", "``-free item
separators). Data it does not know how to write (other types, a container inside itself) is
handed to ``json.dumps``, which writes it or raises as it always did.

A :class:`Raw` value in the data writes its own text (a report's long arrays of module rows and
op records, :mod:`flowflops.render.json_rows`: fixed templates, not one call per container).
``json.dumps`` takes its :meth:`Raw.plain` form when the fast writer hands over."""
from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any, Callable, Dict, Optional

__all__ = ["dumps", "Raw"]

_INF = float("inf")


class _Unknown(Exception):
    """A value the fast writer leaves to ``json.dumps``."""


class Raw:
    """A value that writes its own JSON text: ``write(pad, step, enc)`` is the text of the
    value on a line indented by ``pad`` (``step``: one level of indent; ``enc(value, pad)``:
    the writer itself, for the parts it does not write by hand). It must be what
    ``json.dumps(plain(), indent=len(step))`` writes there, byte for byte; ``plain()`` is the
    value as data, which ``json.dumps`` writes (or refuses) in the writer's place."""

    __slots__ = ("write", "plain")

    def __init__(self, write: Callable[[str, str, Callable[[Any, str], str]], str],
                 plain: Callable[[], Any]) -> None:
        self.write = write
        self.plain = plain


def _json_safe(v: Any, seq: Any = list) -> Any:
    """``v`` as JSON-ready data: tuples and lists as ``seq``, dict keys as strings; a sequence
    holding a value JSON cannot hold is ``None``, such a value itself :data:`_SKIP`."""
    if type(v) in _PLAIN or isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, (tuple, list)):
        items = [_json_safe(x, seq) for x in v]
        return None if any(x is _SKIP for x in items) else (items if seq is list else seq(items))
    if isinstance(v, dict):
        return {str(k): _json_safe(x, seq) for k, x in v.items()}
    return _SKIP


_SKIP = object()
_PLAIN = frozenset({int, str, float, bool, type(None)})


def _plain(v: Any) -> Any:
    """``json.dumps``' ``default``: a :class:`Raw`'s data; anything else refused as
    ``json.dumps`` refuses it."""
    if isinstance(v, Raw):
        return v.plain()
    raise TypeError(f"Object of type {v.__class__.__name__} is not JSON serializable")


def _float(v: float) -> str:
    if v != v:
        return "NaN"
    if v == _INF:
        return "Infinity"
    if v == -_INF:
        return "-Infinity"
    return float.__repr__(v)


def _key(k: Any) -> str:
    if isinstance(k, str):
        return encode_basestring_ascii(k)
    if k is True:
        return '"true"'
    if k is False:
        return '"false"'
    if k is None:
        return '"null"'
    if isinstance(k, int):
        return '"' + int.__repr__(k) + '"'
    if isinstance(k, float):
        return '"' + _float(k) + '"'
    raise _Unknown


def dumps(data: Any, indent: Optional[int] = 2) -> str:
    """``json.dumps(data, indent=indent)``; ``indent=None`` is ``json.dumps(data)`` itself
    (the standard library's C encoder is fast there)."""
    if indent is None:
        return json.dumps(data, default=_plain)
    try:
        return _dumps(data, " " * indent)
    except (_Unknown, RecursionError):
        return json.dumps(data, indent=indent, default=_plain)


def _dumps(data: Any, step: str) -> str:
    active: set = set()
    keys: Dict[str, str] = {}  # a key as written, with its ": "
    esc = encode_basestring_ascii
    int_repr = int.__repr__

    def enc(v: Any, pad: str) -> str:
        t = type(v)
        if t is str:
            return esc(v)
        if t is int:
            return int_repr(v)
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if t is float:
            return _float(v)
        if t is list or t is tuple or t is dict:
            return container(v, pad)
        # subclasses, as json.dumps sees them
        if isinstance(v, str):
            return esc(v)
        if isinstance(v, int):
            return int_repr(v)
        if isinstance(v, float):
            return _float(v)
        if isinstance(v, (list, tuple, dict)):
            return container(v, pad)
        if t is Raw:
            text: str = v.write(pad, step, enc)
            return text
        raise _Unknown

    def container(v: Any, pad: str) -> str:
        if not v:
            return "{}" if isinstance(v, dict) else "[]"
        inner = pad + step
        sep = ",\n" + inner
        if not isinstance(v, dict):
            # arrays of whole numbers (shapes) and of shapes hold no container that could hold
            # them: written here, before the check for a container inside itself
            if all(type(x) is int for x in v):
                return "[\n" + inner + sep.join(map(int_repr, v)) + "\n" + pad + "]"
            if all((type(x) is list or type(x) is tuple) and x and all(type(y) is int for y in x) for x in v):
                deeper = inner + step
                open_, close = "[\n" + deeper, "\n" + inner + "]"
                row = ",\n" + deeper
                body = sep.join([open_ + row.join(map(int_repr, x)) + close for x in v])
                return "[\n" + inner + body + "\n" + pad + "]"
        if id(v) in active:
            raise _Unknown
        active.add(id(v))
        if isinstance(v, dict):
            parts = []
            for k, x in v.items():
                ek = keys.get(k) if type(k) is str else None
                if ek is None:
                    ek = _key(k) + ": "
                    if type(k) is str:
                        keys[k] = ek
                t = type(x)
                parts.append(ek + (esc(x) if t is str else int_repr(x) if t is int else
                                   container(x, inner) if t is list or t is tuple else enc(x, inner)))
            text = "{\n" + inner + sep.join(parts) + "\n" + pad + "}"
        else:
            text = "[\n" + inner + sep.join([enc(x, inner) for x in v]) + "\n" + pad + "]"
        active.discard(id(v))
        return text

    return enc(data, "")
