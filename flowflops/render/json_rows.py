"""The JSON text of a report's two long arrays, its module rows and its op records, written
from fixed templates (one ``%`` format per row) instead of built as dicts and walked: the
text :func:`flowflops.render.export.to_dict` gives ``json.dumps(..., indent=n)``, byte for
byte, in a fraction of the time (a 100,000-module report: about a million containers).

Each row's fields are written by hand where their type is the usual one (strings, whole
numbers, shapes as tuples of whole numbers); anything else (an attribute's nested value, a
float, a shape of another type) goes to the writer of :mod:`flowflops.render.json_text`, as
the dict form would. The order of the keys is the dict form's; ``tests/test_render_json_rows.py``
compares the two on reports with awkward values."""
from __future__ import annotations

import json
from itertools import chain
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from ..records import NO_TRAFFIC, ZERO, Cost, ModuleInfo, Traffic
from .json_text import _PLAIN, _SKIP, Raw, _json_safe, _key

__all__ = ["module_rows", "record_rows", "RECORD_KEYS", "MODULE_KEYS"]

#: the keys of a record's and a module's object, in the dict form's order
RECORD_KEYS = ("op_type", "module", "name", "inputs", "outputs", "attrs", "macs", "flops", "bytes_read",
               "bytes_written")
MODULE_KEYS = ("path", "type", "extra_repr", "params", "trainable_params", "children", "macs", "flops",
               "bytes_read", "bytes_written", "output_shape")

Enc = Callable[[Any, str], str]
_INT = frozenset({int})
_TUPLE_INT = frozenset({tuple, int})
_INF = float("inf")
_int = int.__repr__
_esc = json.encoder.encode_basestring_ascii


def _template(keys: Sequence[str], inner: str, pad: str) -> str:
    """``{"k": %s, ...}`` laid out as ``json.dumps`` lays out an object on a line at ``pad``."""
    return "{\n" + inner + (",\n" + inner).join(json.dumps(k) + ": %s" for k in keys) + "\n" + pad + "}"


def _indents(pad: str, step: str) -> Tuple[str, str, str, str]:
    """The four indents below ``pad``: a row's, its fields', and two levels inside a field."""
    return pad + step, pad + 2 * step, pad + 3 * step, pad + 4 * step


def _array(items: List[str], pad: str, inner: str) -> str:
    return "[\n" + inner + (",\n" + inner).join(items) + "\n" + pad + "]" if items else "[]"


def record_rows(entries: Sequence[Tuple[Any, Any]], traffic: Sequence[Traffic], plain: Callable[[], Any]) -> Raw:
    """The ``"records"`` array: one object per ``(record, cost)`` with its ``traffic``;
    ``plain()`` makes the same as data."""

    def write(pad: str, step: str, enc: Enc) -> str:
        if not entries:
            return "[]"
        i1, i2, i3, i4 = _indents(pad, step)
        tpl = _template(RECORD_KEYS, i2, i1)
        sep3, sep4 = ",\n" + i3, ",\n" + i4
        open4, close4 = "[\n" + i4, "\n" + i3 + "]"
        shape_texts: Dict[Any, str] = {}
        keys: Dict[str, str] = {}

        def shapes(v: Any) -> str:
            # a tuple of tuples of whole numbers: one text per distinct value (equal values of
            # exactly these types have the same text); anything else as the dict form has it
            if type(v) is tuple:
                try:
                    if set(map(type, chain(v, *v))) <= _TUPLE_INT:
                        got = shape_texts.get(v)
                        if got is not None:
                            return got
                        if set(map(type, v)) <= {tuple} and set(map(type, chain(*v))) <= _INT:
                            got = shape_texts[v] = _array(
                                [open4 + sep4.join(map(_int, s)) + close4 if s else "[]" for s in v], i2, i3)
                            return got
                except TypeError:
                    pass
            return enc(tuple(map(tuple, v)), i2)

        def attrs(a: Mapping[str, Any]) -> str:
            if type(a) is not dict:
                return enc(_attrs_data(a), i2)
            parts = []
            for k, v in a.items():
                t = type(v)
                if t is str:
                    text = _esc(v)
                elif t is int:
                    text = _int(v)
                elif v is True:
                    text = "true"
                elif v is False:
                    text = "false"
                elif v is None:
                    text = "null"
                elif t is tuple and v and set(map(type, v)) <= _INT:
                    text = open4 + sep4.join(map(_int, v)) + close4
                elif t is float:
                    text = enc(v, i3)
                else:
                    v = _json_safe(v, tuple)
                    if v is _SKIP:
                        continue
                    text = enc(v, i3)
                ek = keys.get(k) if type(k) is str else None
                if ek is None:
                    ek = _key(k) + ": "
                    if type(k) is str:
                        keys[k] = ek
                parts.append(ek + text)
            return "{\n" + i3 + sep3.join(parts) + "\n" + i2 + "}" if parts else "{}"

        rows: List[str] = []
        append = rows.append
        for (rec, cost), t in zip(entries, traffic):
            op, module, name, a = rec.op_type, rec.module, rec.name, rec.attrs
            if cost is None:
                macs = flops = "null"
            else:
                m, f = cost.macs, cost.flops
                macs = _int(m) if type(m) is int else enc(m, i2)
                flops = _int(f) if type(f) is int else enc(f, i2)
            r, w = t.bytes_read, t.bytes_written
            append(tpl % (_esc(op) if type(op) is str else enc(op, i2),
                          _esc(module) if type(module) is str else enc(module, i2),
                          _esc(name) if type(name) is str else enc(name, i2),
                          shapes(rec.inputs), shapes(rec.outputs), attrs(a) if a or type(a) is not dict else "{}",
                          macs, flops, _int(r) if type(r) is int else enc(r, i2),
                          _int(w) if type(w) is int else enc(w, i2)))
        return "[\n" + i1 + (",\n" + i1).join(rows) + "\n" + pad + "]"

    return Raw(write, plain)


def _attrs_data(a: Mapping[str, Any]) -> Dict[str, Any]:
    """A record's attributes as the dict form has them (values JSON cannot hold left out)."""
    out = {}
    for k, v in a.items():
        if type(v) not in _PLAIN:
            v = _json_safe(v, tuple)
            if v is _SKIP:
                continue
        out[k] = v
    return out


def module_rows(modules: Mapping[str, ModuleInfo], by_module: Mapping[str, Cost], by_bytes: Mapping[str, Traffic],
                outputs: Mapping[str, Any], plain: Callable[[], Any]) -> Raw:
    """The ``"modules"`` array: one object per module of the tree with its sums;
    ``plain()`` makes the same as data."""

    def write(pad: str, step: str, enc: Enc) -> str:
        if not modules:
            return "[]"
        i1, i2, i3, i4 = _indents(pad, step)
        # "macs" stands for the four sums, written together (below)
        tpl = _template(MODULE_KEYS[:7] + MODULE_KEYS[10:], i2, i1)
        sep2, sep3 = ",\n" + i2, ",\n" + i3
        pair_open, pair_mid, pair_close = "[\n" + i4, ",\n" + i4, "\n" + i3 + "]"
        numbers: Dict[Tuple[int, int], str] = {}
        flops_key, read_key, written_key = (json.dumps(k) + ": " for k in MODULE_KEYS[7:10])

        def value(v: Any) -> str:
            t = type(v)
            if t is int:
                return _int(v)
            if t is str:
                return _esc(v)
            return enc(v, i2)

        def children(ch: Any) -> str:
            if type(ch) is list or type(ch) is tuple:
                parts = []
                for pair in ch:
                    if type(pair) is tuple and len(pair) == 2:
                        a, c = pair
                        if type(a) is str and type(c) is str:
                            parts.append(pair_open + _esc(a) + pair_mid + _esc(c) + pair_close)
                            continue
                    break
                else:
                    return "[\n" + i3 + sep3.join(parts) + "\n" + i2 + "]" if parts else "[]"
            return enc(tuple(map(tuple, ch)), i2)

        def output(o: Any) -> str:
            if o is None:
                return "null"
            if type(o) is tuple and o and set(map(type, o)) <= _INT:
                return "[\n" + i3 + sep3.join(map(_int, o)) + "\n" + i2 + "]"
            return enc(_json_safe(o, tuple), i2)

        rows: List[str] = []
        append = rows.append
        for p, info in modules.items():
            c = by_module.get(p, ZERO)
            t = by_bytes.get(p, NO_TRAFFIC)
            key = (id(c), id(t))
            nums = numbers.get(key)
            if nums is None:  # the sums are shared objects: one text per pair of them
                nums = numbers[key] = (value(c.macs) + sep2 + flops_key + value(c.flops) + sep2 + read_key
                                       + value(t.bytes_read) + sep2 + written_key + value(t.bytes_written))
            append(tpl % (value(p), value(info.type_name), value(info.extra_repr), value(info.params),
                          value(info.trainable_params), children(info.children), nums,
                          output(outputs.get(p))))
        return "[\n" + i1 + (",\n" + i1).join(rows) + "\n" + pad + "]"

    return Raw(write, plain)
