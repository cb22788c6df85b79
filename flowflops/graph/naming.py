"""Op names and module scopes, shared by the job reader and the text parser."""
from __future__ import annotations

import re
from typing import Dict, Iterable, Optional, Tuple

__all__ = ["split_op_name", "common_root", "relative_path", "module_paths"]

# A user op's name is "<module scope>-<op type>-<index>", e.g. "model.layer1.0-add_n-9".
_OP_NAME = re.compile(r"^(?P<scope>.*)-(?P<type>[A-Za-z_][A-Za-z0-9_]*)-(?P<index>\d+)$")


def split_op_name(name: str) -> Optional[Tuple[str, str]]:
    """``"model.conv1-conv2d-0" -> ("model.conv1", "conv2d")``; ``None`` for names of other
    shapes (variables, graph inputs and outputs)."""
    m = _OP_NAME.match(name)
    if m is None:
        return None
    return m.group("scope"), m.group("type")


def common_root(scopes: Iterable[str]) -> str:
    """The first scope component shared by every scope, when there is exactly one (the
    graph's single model attribute, e.g. ``"model"``); ``""`` otherwise."""
    roots = {s.split(".", 1)[0] for s in scopes if s}
    return roots.pop() if len(roots) == 1 else ""


def relative_path(scope: str, root: str) -> str:
    """A scope as a ``named_modules()`` path below ``root``: ``("model.layer1.0", "model") ->
    "layer1.0"``, ``("model", "model") -> ""``."""
    if not root:
        return scope
    if scope == root:
        return ""
    if scope.startswith(root + "."):
        return scope[len(root) + 1:]
    return scope


def module_paths(scopes: Dict[str, str], graph_name: str) -> Tuple[Dict[str, str], str]:
    """Op name -> module path (as ``named_modules()`` names it), from op name -> module scope,
    and the scope the paths are relative to. Ops in the graph's own scope ``graph_name`` (a
    training graph's loss-gradient seed, train-step counter...) belong to the root, not to a
    model attribute; the others are made relative to the graph's single model attribute when
    there is one (:func:`common_root`)."""
    scopes = {name: "" if scope == graph_name else scope for name, scope in scopes.items()}
    root = common_root(scopes.values())
    return {name: relative_path(scope, root) for name, scope in scopes.items()}, root
