"""Where in the user's code a module or an op comes from: ``file:line`` strings, read from code
objects and the call stack (no file is opened, nothing is imported)."""
from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Any, Dict, Optional, Tuple

__all__ = ["code_location", "caller_outside"]


def _package_dir(name: str) -> str:
    mod = sys.modules.get(name)
    path = getattr(mod, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) + os.sep if path else "\0"


_SKIP: Optional[Tuple[str, ...]] = None


def _skipped() -> Tuple[str, ...]:
    """Folders whose frames are not the user's: oneflow's and flowflops' own."""
    global _SKIP
    if _SKIP is None:
        _SKIP = (_package_dir("oneflow"), os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep)
    return _SKIP


def code_location(fn: Any) -> str:
    """``"file:line"`` where ``fn`` (a function or method) is defined; ``""`` when unknown."""
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    return f"{code.co_filename}:{code.co_firstlineno}"


def caller_outside(frame: Optional[FrameType] = None) -> str:
    """``"file:line"`` of the innermost frame on the stack (from ``frame``, default the
    caller's) that is neither oneflow's nor flowflops' code: the user's line that made the
    call; ``""`` when there is none."""
    skip = _skipped()
    outside = _OUTSIDE
    f: Optional[FrameType] = frame if frame is not None else sys._getframe(1)
    while f is not None:
        name = f.f_code.co_filename
        user = outside.get(name)
        if user is None:
            user = outside[name] = not name.startswith(skip) and not name.startswith("<frozen")
        if user:
            return f"{name}:{f.f_lineno}"
        f = f.f_back
    return ""


#: file name -> whether its frames are the user's (see :func:`caller_outside`), per file once
_OUTSIDE: Dict[str, bool] = {}
