"""What :meth:`flowflops.result.Report.from_dict` accepts: the shape of the data
:func:`flowflops.render.export.to_dict` writes, checked field by field before anything is built
from it, so that a hand-edited or foreign file is one clear error naming the field (issue 29)
instead of a traceback later or a wrong number (negative counts, a module that is its own
descendant, two modules with one path).

:func:`report_data_problem` returns that error's text, or ``None`` for data it accepts. It reads
the data only; recursion-free, so a deep children chain cannot exhaust the stack."""
from typing import Any, Dict, List, Optional

__all__ = ["report_data_problem", "MAX_COUNT"]

#: no count of any model comes near this; larger numbers are refused (floats of them overflow)
MAX_COUNT = 10 ** 30


class _Bad(Exception):
    pass


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{field} is {_show(value)}, not a whole number")
    if value < 0:
        raise _Bad(f"{field} is {value}: a count cannot be negative")
    if value > MAX_COUNT:
        raise _Bad(f"{field} is larger than 10**30, larger than any count")
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _Bad(f"{field} is {_show(value)}, not a string")
    return value


def _list(value: Any, field: str) -> List[Any]:
    if not isinstance(value, list):
        raise _Bad(f"{field} is {_show(value)}, not a list")
    return value


def _dict(value: Any, field: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{field} is {_show(value)}, not an object")
    return value


def _show(value: Any) -> str:
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)
    if isinstance(value, (bool, float)) or (isinstance(value, int) and abs(value) < 10 ** 20) \
            or (isinstance(value, str) and len(value) <= 40):
        return f"{kind} ({value!r})"
    return kind


def _shape(value: Any, field: str) -> None:
    for i, d in enumerate(_list(value, field)):
        _count(d, f"{field}[{i}]")


def _shapes(value: Any, field: str) -> None:
    for i, s in enumerate(_list(value, field)):
        _shape(s, f"{field}[{i}]")


def _need(item: Dict[str, Any], key: str, field: str) -> Any:
    if key not in item:
        raise _Bad(f"{field} has no {key!r}")
    return item[key]


def _modules(data: Dict[str, Any]) -> Dict[str, List[str]]:
    """Each module's children paths, by path, after checking every module's fields."""
    children: Dict[str, List[str]] = {}
    for i, m in enumerate(_list(data["modules"], "modules")):
        where = f"modules[{i}]"
        m = _dict(m, where)
        path = _text(_need(m, "path", where), f"{where}.path")
        if path in children:
            raise _Bad(f"{where}.path {path!r} is also the path of an earlier module: each module's path is unique")
        _text(_need(m, "type", where), f"{where}.type")
        _text(m.get("extra_repr", ""), f"{where}.extra_repr")
        params = _count(_need(m, "params", where), f"{where}.params")
        trainable = _count(_need(m, "trainable_params", where), f"{where}.trainable_params")
        if trainable > params:
            raise _Bad(f"{where}.trainable_params ({trainable}) is more than its params ({params})")
        if m.get("output_shape") is not None:
            _list(m["output_shape"], f"{where}.output_shape")
        kids = children[path] = []
        for j, c in enumerate(_list(m.get("children", []), f"{where}.children")):
            cf = f"{where}.children[{j}]"
            if not isinstance(c, list) or len(c) != 2:
                raise _Bad(f"{cf} is {_show(c)}, not a [name, path] pair")
            _text(c[0], f"{cf}[0]")
            kids.append(_text(c[1], f"{cf}[1]"))
    if children and "" not in children:
        raise _Bad("modules has no root (a module whose path is \"\")")
    for path, kids in children.items():
        for kid in kids:
            if kid not in children:
                raise _Bad(f"module {path!r} has a child {kid!r} that is not among modules")
            if kid == "":
                raise _Bad(f"module {path!r} has the root as a child (a cycle)")
    _no_cycle(children)
    return children


def _no_cycle(children: Dict[str, List[str]]) -> None:
    """Depth-first, without recursion: a module reached again while its own subtree is walked
    is its own descendant."""
    state: Dict[str, int] = {}  # 1: on the current walk, 2: done
    for start in children:
        if state.get(start):
            continue
        stack = [(start, iter(children[start]))]
        state[start] = 1
        while stack:
            path, it = stack[-1]
            kid = next(it, None)
            if kid is None:
                state[path] = 2
                stack.pop()
            elif state.get(kid) == 1:
                raise _Bad(f"module {kid!r} is its own descendant (through {path!r}): the children form a cycle")
            elif not state.get(kid):
                state[kid] = 1
                stack.append((kid, iter(children[kid])))


def _records(data: Dict[str, Any]) -> Dict[str, int]:
    """Unpriced records by op type, after checking every record's fields."""
    unpriced: Dict[str, int] = {}
    for i, r in enumerate(_list(data["records"], "records")):
        where = f"records[{i}]"
        r = _dict(r, where)
        op = _text(_need(r, "op_type", where), f"{where}.op_type")
        _text(_need(r, "module", where), f"{where}.module")
        _text(r.get("name", ""), f"{where}.name")
        _shapes(_need(r, "inputs", where), f"{where}.inputs")
        _shapes(_need(r, "outputs", where), f"{where}.outputs")
        _dict(r.get("attrs", {}), f"{where}.attrs")
        macs, flops = _need(r, "macs", where), r.get("flops")
        if macs is None and flops is None:
            unpriced[op] = unpriced.get(op, 0) + 1
        elif macs is None or flops is None:
            raise _Bad(f"{where} has macs {_show(macs)} and flops {_show(flops)}: "
                       "both are counts, or both null (unpriced)")
        else:
            _count(macs, f"{where}.macs")
            _count(flops, f"{where}.flops")
    return unpriced


def _ancestors(path: str) -> List[str]:
    """``"a.b" -> ["", "a", "a.b"]`` (as :func:`flowflops.records.ancestors`)."""
    parts = path.split(".") if path else []
    return [""] + [".".join(parts[: i + 1]) for i in range(len(parts))]


def _sums(data: Dict[str, Any], paths: set) -> None:
    """The totals written in the file against the same totals recomputed from its records
    (``totals``, each module's ``macs``/``flops``, ``operators``; ``totals.params`` against the
    root's), and every record's module among ``modules``. The reader rebuilds every total from
    the records, so a file whose written totals disagree with them was edited by hand or
    written by something else: refused rather than shown with numbers it does not hold."""
    records = data["records"]
    by_module: Dict[str, List[int]] = {}
    by_op: Dict[str, List[int]] = {}
    total = [0, 0]
    for i, r in enumerate(records):
        module = r["module"]
        if paths and module not in paths:
            raise _Bad(f"records[{i}].module is {module!r}, which is not among modules")
        by_op.setdefault(r["op_type"], [0, 0, 0])[2] += 1
        if r["macs"] is None:
            continue
        cost = (r["macs"], r["flops"])
        for k in (0, 1):
            total[k] += cost[k]
            by_op[r["op_type"]][k] += cost[k]
        for p in _ancestors(module):
            acc = by_module.setdefault(p, [0, 0])
            acc[0] += cost[0]
            acc[1] += cost[1]
    names = ("macs", "flops")
    totals = data.get("totals")
    if totals is not None:
        totals = _dict(totals, "totals")
        for k, name in enumerate(names):
            if name in totals and _count(totals[name], f"totals.{name}") != total[k]:
                raise _Bad(f"totals.{name} is {totals[name]}, but its records add up to {total[k]}")
        root = next((m for m in data["modules"] if m["path"] == ""), None)
        if root is not None and "params" in totals and _count(totals["params"], "totals.params") != root["params"]:
            raise _Bad(f"totals.params is {totals['params']}, but the root module's params are {root['params']}")
    for i, m in enumerate(data["modules"]):
        got = by_module.get(m["path"], [0, 0])
        for k, name in enumerate(names):
            if m.get(name) is not None and _count(m[name], f"modules[{i}].{name}") != got[k]:
                raise _Bad(f"modules[{i}].{name} ({m['path']!r}) is {m[name]}, but the records in "
                           f"that module and the modules inside it add up to {got[k]}")
    operators = data.get("operators")
    if operators is not None:
        for op, c in _dict(operators, "operators").items():
            c = _dict(c, f"operators[{op!r}]")
            got = by_op.get(op, [0, 0, 0])
            for k, name in enumerate(names + ("calls",)):
                if name in c and _count(c[name], f"operators[{op!r}].{name}") != got[k]:
                    raise _Bad(f"operators[{op!r}].{name} is {c[name]}, but the {op!r} records add up to {got[k]}")


def report_data_problem(data: Any) -> Optional[str]:
    """What is wrong with ``data`` as a report's dict, in one line naming the field, or
    ``None``."""
    try:
        data = _dict(data, "the report")
        for key in ("mode", "modules", "records"):
            _need(data, key, "the report")
        _text(data["mode"], "mode")
        for key in ("convention", "attention"):
            if key in data:
                _text(data[key], key)
        children = _modules(data)
        unpriced = _records(data)
        unsupported = _dict(data.get("unsupported", {}), "unsupported")
        for op, n in unsupported.items():
            _count(n, f"unsupported[{op!r}]")
        for op, n in unpriced.items():
            if unsupported.get(op, 0) < n:
                raise _Bad(f"unsupported[{op!r}] is {unsupported.get(op, 0)}, fewer than the {n} unpriced "
                           f"records of {op!r} (records with null macs)")
        _sums(data, set(children))
        for path, why in _dict(data.get("unpriced_modules", {}), "unpriced_modules").items():
            _text(why, f"unpriced_modules[{path!r}]")
        for key, c in _dict(data.get("upper_bounds", {}), "upper_bounds").items():
            where = f"upper_bounds[{key!r}]"
            c = _dict(c, where)
            _count(_need(c, "macs", where), f"{where}.macs")
            _count(_need(c, "flops", where), f"{where}.flops")
        inputs = data.get("inputs")
        if inputs is not None:
            _list(inputs, "inputs")
    except _Bad as bad:
        return str(bad)
    return None
