"""Reading the user's module tree (names, types, parameters) without changing it."""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict

import oneflow.nn as nn

from .records import ModuleInfo


def count_params(module: nn.Module) -> tuple:
    """``(all, trainable)`` parameters of ``module`` and its children, each shared one once."""
    seen = set()
    total = trainable = 0
    for p in module.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        n = p.numel()
        total += n
        if p.requires_grad:
            trainable += n
    return total, trainable


def module_tree(model: nn.Module) -> "OrderedDict[str, ModuleInfo]":
    """Path -> :class:`ModuleInfo` for every module, in ``named_modules()`` order; a module
    reachable by two paths appears under both."""
    tree: "OrderedDict[str, ModuleInfo]" = OrderedDict()

    def visit(m: nn.Module, path: str) -> None:
        total, trainable = count_params(m)
        try:
            extra = m.extra_repr()
        except Exception:  # a user's extra_repr must never break a count
            extra = ""
        info = ModuleInfo(type(m).__name__, extra, total, trainable)
        tree[path] = info
        for name, child in m._modules.items():
            if child is None:
                continue
            child_path = f"{path}.{name}" if path else name
            info.children.append((name, child_path))
            visit(child, child_path)

    visit(model, "")
    return tree


def module_paths(model: nn.Module) -> Dict[int, str]:
    """``id(module) -> path``, the first path ``named_modules()`` gives each module."""
    return {id(m): name for name, m in model.named_modules()}
