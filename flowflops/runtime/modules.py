"""Reading the user's module tree (names, types, parameters) without changing it."""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Iterable, List, Tuple

import oneflow.nn as nn

from ..records import ModuleInfo
from .source import code_location

__all__ = ["count_params", "module_tree", "tree_and_named", "module_paths", "alias_paths", "canonical_path"]


def _totals(params: Iterable[nn.Parameter]) -> tuple:
    """``(all, trainable)`` elements of ``params``, each counted as often as it is given."""
    total = trainable = 0
    for p in params:
        n = p.numel()
        total += n
        if p.requires_grad:
            trainable += n
    return total, trainable


def count_params(module: nn.Module) -> tuple:
    """``(all, trainable)`` parameters of ``module`` and its children, each shared one once."""
    return _totals({id(p): p for p in module.parameters()}.values())


def module_tree(model: nn.Module) -> "OrderedDict[str, ModuleInfo]":
    """Path -> :class:`ModuleInfo` for every module, in ``named_modules()`` order; a module
    reachable by two paths appears under both."""
    return _tree(model)[0]


def tree_and_named(model: nn.Module) -> Tuple["OrderedDict[str, ModuleInfo]", List[Tuple[str, nn.Module]]]:
    """``(module_tree(model), list(model.named_modules()))`` from one walk of the tree.

    The walk visits every path in ``named_modules()`` order; a module met again is met with
    its whole subtree, whose modules were all met before, so the first path of each module,
    in the walk's order, is what ``named_modules()`` gives. Where some class of the model
    overrides ``named_modules`` (or compares or hashes modules otherwise than by identity, as
    the method's memo set does), its own ``named_modules()`` is asked instead."""
    tree, modules = _tree(model)
    seen: set = set()
    named = []
    for path, m in modules.items():
        if id(m) not in seen:
            seen.add(id(m))
            named.append((path, m))
    if not all(map(_plain_walk, {type(m) for _, m in named})):
        named = list(model.named_modules())
    return tree, named


def _plain_walk(kind: type) -> bool:
    """Whether ``named_modules()`` of a module of ``kind`` is OneFlow's, with identity as
    its modules' equality."""
    plain = _PLAIN_WALK.get(kind)
    if plain is None:
        plain = _PLAIN_WALK[kind] = (getattr(kind, "named_modules", None) is nn.Module.named_modules
                                     and kind.__hash__ is nn.Module.__hash__ and kind.__eq__ is nn.Module.__eq__)
    return plain


_PLAIN_WALK: Dict[type, bool] = {}


def _tree(model: nn.Module) -> Tuple["OrderedDict[str, ModuleInfo]", Dict[str, nn.Module]]:
    """:func:`module_tree` and the module at each of its paths (in the same order)."""
    tree: "OrderedDict[str, ModuleInfo]" = OrderedDict()
    modules: Dict[str, nn.Module] = {}
    by_type: Dict[type, tuple] = {}  # type -> (its name, where its forward is), once per type

    def visit(m: nn.Module, path: str) -> None:
        try:
            extra = m.extra_repr()
        except Exception:  # a user's extra_repr must never break a count
            extra = ""
        kind = type(m)
        named = by_type.get(kind)
        if named is None:
            named = by_type[kind] = (kind.__name__, code_location(getattr(kind, "forward", None)))
        info = ModuleInfo(named[0], extra, source=named[1])
        tree[path] = info
        modules[path] = m
        for name, child in m._modules.items():
            if child is None:
                continue
            child_path = f"{path}.{name}" if path else name
            info.children.append((name, child_path))
            visit(child, child_path)

    visit(model, "")
    # each subtree's parameters: its own plus its children's, in one pass from the leaves up,
    # where no parameter sits in two places of the tree (shared modules or tied weights); a
    # walk of each subtree otherwise (each shared parameter once per subtree)
    own = {path: [p for p in m._parameters.values() if p is not None] for path, m in modules.items()}
    ids = [id(p) for params in own.values() for p in params]
    shared = len(set(ids)) != len(ids)
    if shared:
        for path, m in modules.items():
            tree[path].params, tree[path].trainable_params = count_params(m)
        return tree, modules
    for path in reversed(list(tree)):  # children come after their parent in the tree's order
        info = tree[path]
        total, trainable = _totals(own[path])
        for _, child in info.children:
            total += tree[child].params
            trainable += tree[child].trainable_params
        info.params, info.trainable_params = total, trainable
    return tree, modules


def module_paths(model: nn.Module) -> Dict[int, str]:
    """``id(module) -> path``, the first path ``named_modules()`` gives each module."""
    return {id(m): name for name, m in model.named_modules()}


def alias_paths(model: nn.Module) -> Dict[str, str]:
    """Second and later paths of a module reachable by several (``self.proj_cls = self.proj``)
    -> its first path, the one ``named_modules()`` (and so the eager engine) uses."""
    first: Dict[int, str] = {}
    aliases: Dict[str, str] = {}

    def visit(m: nn.Module, path: str, depth: int) -> None:
        if id(m) in first:
            if path != first[id(m)]:
                aliases[path] = first[id(m)]
            return
        first[id(m)] = path
        if depth > 200:  # a cycle guard; real module trees are far shallower
            return
        for name, child in m._modules.items():
            if child is not None:
                visit(child, f"{path}.{name}" if path else name, depth + 1)

    visit(model, "", 0)
    return aliases


def canonical_path(path: str, aliases: Dict[str, str]) -> str:
    """``path`` with its longest aliased prefix replaced by the module's first path."""
    parts = path.split(".") if path else []
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        if head in aliases:
            rest = parts[i:]
            return ".".join([aliases[head]] + rest) if aliases[head] else ".".join(rest)
    return path
