"""Op names and module scopes, shared by the job reader and the text parser."""
from __future__ import annotations

import re
from typing import Iterable, Optional, Tuple

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
