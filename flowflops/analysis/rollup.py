"""Roll-ups of a report: cost by module type (:func:`by_type`), the most expensive types at each
depth of the tree (:func:`by_depth_type`, DeepSpeed's view), and identical sibling blocks folded
into one (:func:`repeat_groups`, :func:`fold_labels`, :func:`folded_rows`). Data only."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ..records import NO_TRAFFIC, ZERO, Cost, Traffic
from ..report import Aggregate, top_modules

__all__ = ["TypeCost", "by_type", "by_depth_type", "repeat_groups", "fold_labels", "folded_rows",
           "folded_top", "group_label"]


@dataclass
class TypeCost:
    """One module type's share of a count.

    ``cost``: the work its instances made themselves (not their children's), so the
    ``cost`` of every type plus the model's own ops is the total; ``count``: its instances;
    ``inclusive``: everything inside its instances (an instance nested in another of the same
    type counted once), as DeepSpeed's per-type figures; ``params``: the parameters of its
    instances (nested ones once)."""

    type_name: str
    cost: Cost = ZERO
    count: int = 0
    inclusive: Cost = ZERO
    params: int = 0


def _depth(path: str) -> int:
    return 0 if path == "" else path.count(".") + 1


def by_type(report: Aggregate) -> "OrderedDict[str, TypeCost]":
    """Module type name -> :class:`TypeCost`, most expensive (own cost) first; the model's own
    ops (records made by the root module itself, not inside any submodule) under the key
    ``""`` (its ``type_name`` the model's class), last. ``sum(t.cost for t in
    by_type(r).values()) == r.cost``."""
    modules = report.modules
    out: Dict[str, TypeCost] = {}
    for path, info in modules.items():
        if path:
            t = out.setdefault(info.type_name, TypeCost(info.type_name))
            t.count += 1
    # parameters of the outermost instances of each type
    for path, info in modules.items():
        if not path:
            continue
        parts = path.split(".")
        inside_same = any(modules.get(".".join(parts[:i])) is not None
                          and modules[".".join(parts[:i])].type_name == info.type_name
                          for i in range(1, len(parts)))
        if not inside_same:
            out[info.type_name].params += info.params
    root = TypeCost(modules[""].type_name if "" in modules else "", count=1)
    for rec, c in report.entries:
        if c is None:
            continue
        owner = modules.get(rec.module)
        if rec.module == "" or owner is None:
            root.cost = root.cost + c
        else:
            out[owner.type_name].cost = out[owner.type_name].cost + c
        seen = set()
        parts = rec.module.split(".") if rec.module else []
        for i in range(1, len(parts) + 1):
            anc = modules.get(".".join(parts[:i]))
            if anc is not None and anc.type_name not in seen:
                seen.add(anc.type_name)
                out[anc.type_name].inclusive = out[anc.type_name].inclusive + c
    ordered = OrderedDict(sorted(out.items(), key=lambda kv: (-kv[1].cost.macs, -kv[1].inclusive.macs, kv[0])))
    ordered[""] = root
    return ordered


def by_depth_type(report: Aggregate, k: int = 3) -> "OrderedDict[int, List[TypeCost]]":
    """Depth (0: the model) -> the ``k`` module types with the most MACs among the modules at
    that depth (each :class:`TypeCost` with ``inclusive`` the sum of those modules' costs,
    ``count`` how many there are, ``params`` their parameters), most expensive first."""
    by_module = report.by_module()
    out: "OrderedDict[int, Dict[str, TypeCost]]" = OrderedDict()
    for path, info in report.modules.items():
        d = _depth(path)
        row = out.setdefault(d, {}).setdefault(info.type_name, TypeCost(info.type_name))
        c = by_module.get(path, ZERO)
        row.count += 1
        row.inclusive = row.inclusive + c
        row.params += info.params
    return OrderedDict((d, sorted(rows.values(), key=lambda t: (-t.inclusive.macs, t.type_name))[:k])
                       for d, rows in sorted(out.items()))


# -- identical sibling blocks ---------------------------------------------------------------------

def _signatures(report: Aggregate) -> Dict[str, int]:
    """Path -> a number equal for two modules exactly when they have the same type, parameters,
    MACs, FLOPs and bytes and their children do too, name by name: each distinct
    ``(type, params, macs, flops, bytes, ((child name, child's number), ...))`` is numbered once,
    so two modules compare as two numbers, not as two nested tuples of their whole subtrees."""
    by_module = report.by_module()
    by_bytes = report.by_module_bytes()
    modules = report.modules
    memo: Dict[str, int] = {}
    numbers: Dict[Any, int] = {}

    def sig(path: str) -> int:
        got = memo.get(path)
        if got is None:
            info = modules[path]
            c, b = by_module.get(path, ZERO), by_bytes.get(path, NO_TRAFFIC)
            key = (info.type_name, info.params, c.macs, c.flops, b.total,
                   tuple([(name, sig(child)) for name, child in info.children if child in modules]))
            got = memo[path] = numbers.setdefault(key, len(numbers))
        return got

    for p in modules:
        sig(p)
    return memo


def repeat_groups(report: Aggregate) -> Dict[str, List[List[str]]]:
    """Parent path -> its children in order, as groups: consecutive children with whole-number
    names (``blocks.0``, ``blocks.1``...) that are identical (same type, parameters, costs and
    insides) form one group; every other child is a group of one."""
    sigs = _signatures(report)
    modules = report.modules
    out: Dict[str, List[List[str]]] = {}
    for path, info in modules.items():
        groups: List[List[str]] = []
        last: Optional[Tuple[str, int]] = None
        for name, child in info.children:
            if child not in modules:
                continue
            sig = sigs[child]
            if last is not None and sig == last[1] and name.isdigit() and last[0].isdigit() \
                    and int(name) == int(last[0]) + 1:
                groups[-1].append(child)
            else:
                groups.append([child])
            last = (name, sig)
        out[path] = groups
    return out


def group_label(paths: List[str]) -> str:
    """``["blocks.0", ..., "blocks.11"]`` -> ``"blocks.0-11"``; one path as it is."""
    if len(paths) == 1:
        return paths[0]
    head, _, first = paths[0].rpartition(".")
    last = paths[-1].rpartition(".")[2]
    return f"{head}.{first}-{last}" if head else f"{first}-{last}"


def fold_labels(report: Aggregate) -> Dict[str, Tuple[str, int]]:
    """Path -> ``(label, copies)``: for a module inside a group of identical siblings (at any
    level) its folded label (``blocks.3.attn.qkv`` -> ``("blocks.0-11.attn.qkv", 12)``); for
    every other module its path and 1."""
    groups = repeat_groups(report)
    out: Dict[str, Tuple[str, int]] = {"": ("", 1)} if "" in report.modules else {}

    def visit(path: str, label: str, copies: int) -> None:
        for g in groups.get(path, []):
            n = copies * len(g)
            base = label + "." if label else ""
            name = group_label([p.rpartition(".")[2] for p in g]) if len(g) > 1 else g[0].rpartition(".")[2]
            for child in g:
                out[child] = (base + name, n)
            visit(g[0], base + name, n)
            for child in g[1:]:  # the copies' insides get the same labels as the first's
                _relabel(child, g[0])

    def _relabel(path: str, like: str) -> None:
        for (_, c), (_, c0) in zip(report.modules[path].children, report.modules[like].children):
            if c in report.modules and c0 in out:
                out[c] = out[c0]
                _relabel(c, c0)

    visit("", "", 1)
    return out


def folded_rows(report: Aggregate, depth: int = 3, fold: bool = True) -> List[Dict[str, Any]]:
    """Rows like :func:`flowflops.render.export.module_rows` (module, path, depth, type, params, MACs,
    FLOPs, bytes, output shape) with identical sibling blocks as one row: ``module``
    ``"blocks.0-11"``, ``type`` ``"Block"``, ``copies`` 12, the numbers summed over the copies
    and ``per_copy`` the cost of one; below it the first copy's children, each summed over the
    copies (``blocks.0-11.attn``). ``fold`` also folds single-child wrappers, as module_rows."""
    groups = repeat_groups(report)
    by_module = report.by_module()
    by_bytes = report.by_module_bytes()
    rows: List[Dict[str, Any]] = []

    def total(paths: List[str]) -> Tuple[Cost, Traffic, int, int]:
        c, b, p, tp = ZERO, NO_TRAFFIC, 0, 0
        for x in paths:
            c, b = c + by_module.get(x, ZERO), b + by_bytes.get(x, NO_TRAFFIC)
            p += report.modules[x].params
            tp += report.modules[x].trainable_params
        return c, b, p, tp

    def visit(paths: List[str], label: str, level: int) -> None:
        first = paths[0]
        info = report.modules[first]
        name, shown, type_name = label, first, info.type_name
        while fold and len(info.children) == 1:
            child = info.children[0][1]
            cinfo = report.modules[child]
            if not (by_module.get(child, ZERO) == by_module.get(shown, ZERO) and cinfo.params == info.params):
                break
            suffix = child.rpartition(".")[2]
            name = f"{name}.{suffix}" if name else suffix
            paths = [f"{p}.{suffix}" for p in paths]
            shown, info, type_name = child, cinfo, f"{type_name}>{cinfo.type_name}"
        c, b, p, tp = total(paths)
        n = len(paths)
        rows.append({"module": name or "model", "path": shown, "paths": list(paths), "depth": level,
                     "type": type_name, "copies": n, "params": p, "trainable_params": tp,
                     "macs": c.macs, "flops": c.flops, "per_copy": Cost(c.macs // n, c.flops // n),
                     "bytes_read": b.bytes_read, "bytes_written": b.bytes_written,
                     "output_shape": report.module_outputs.get(shown)})
        if level >= depth:
            return
        for g in groups.get(shown, []):
            suffix = group_label([x.rpartition(".")[2] for x in g])
            base = f"{name}." if name else ""
            offsets = [x.rpartition(".")[2] for x in g]
            # the same group in every copy: the children named alike under each copy
            members = [f"{p}.{o}" if p else o for p in paths for o in offsets]
            visit(members, base + suffix, level + 1)

    if "" in report.modules:
        visit([""], "", 0)
    return rows


def folded_top(report: Aggregate, k: int) -> List[Tuple[str, str, int, int]]:
    """The ``k`` most expensive leaf-most modules with identical copies taken together, as
    ``(label, type name, MACs of all copies, copies)``, most expensive first."""
    labels = fold_labels(report)
    merged: "OrderedDict[str, List[Any]]" = OrderedDict()
    for path, typ, macs in top_modules(report, len(report.modules)):
        label, copies = labels.get(path, (path, 1))
        row = merged.setdefault(label, [label, typ, 0, copies])
        row[2] += macs
    out = [(r[0], r[1], r[2], r[3]) for r in merged.values()]
    return sorted(out, key=lambda t: -t[2])[:k]
