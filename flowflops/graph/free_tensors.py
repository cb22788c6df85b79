"""Free eager tensors: tensors a model's ``forward`` uses that are neither parameters nor
buffers (a plain tensor attribute such as ``self.scale = flow.tensor(...)``, a module-level
constant, a tensor in a closure).

OneFlow 0.9 names such a tensor the first time an ``nn.Graph`` captures it and keeps that
name process-wide; the next graph that captures the same tensor object aborts the whole
process (``Check failed: 'blob_desc' Must be non NULL`` in ``operator.cpp``: SIGABRT, no
exception). A count compiles a graph, so counting such a model twice, or counting it and then
compiling the user's own ``nn.Graph``, would kill the user's process.

:func:`fresh_free_tensors` hands each compile new tensor objects instead: while the graph is
built, every free tensor it can find is replaced by ``t.detach()`` (a new tensor object on the
same storage: no copy), and the user's object is put back afterwards, so OneFlow never sees
the user's own tensor objects. It finds tensors in module ``__dict__``s and, for every method
of the model's module classes and the module-level functions they call (transitively, the
user's code only), in the globals they name and in their closures. A tensor reached some
other way (an attribute of an arbitrary object, a list element) is not found.
"""
from __future__ import annotations

import contextlib
import types
from typing import Any, Dict, Iterable, Iterator, List, Set, Tuple

import oneflow as flow
import oneflow.nn as nn

#: every stand-in ever handed to a compile, kept alive for the life of the process: OneFlow's
#: name table is keyed by the tensor object, and a stand-in freed after its count would let a
#: later tensor take its place (and its stale entry), which aborts the process the same way.
#: They share storage with the user's tensors (``detach``), so this holds no copies, but it
#: keeps alive the storage of a free tensor the user later drops.
_KEPT: List[Any] = []

#: packages whose functions are not the user's code (never walked, never touched)
_LIBRARIES = ("oneflow", "flowflops", "flowvision", "numpy", "builtins", "typing")


def _is_user_function(fn: Any) -> bool:
    if not isinstance(fn, types.FunctionType):
        return False
    module = fn.__globals__.get("__name__", "") or ""
    return not module.startswith(_LIBRARIES)


def _code_names(code: types.CodeType) -> Set[str]:
    """Global names a code object (and the functions/lambdas defined inside it) looks up."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _user_functions(modules: Iterable[nn.Module]) -> List[types.FunctionType]:
    """Methods of the modules' classes, then every user function they reach by global name."""
    todo: List[types.FunctionType] = []
    for m in modules:
        for cls in type(m).__mro__:
            for value in vars(cls).values():
                fn = getattr(value, "__func__", value)  # staticmethod/classmethod
                if _is_user_function(fn):
                    todo.append(fn)
    seen: Set[int] = set()
    out: List[types.FunctionType] = []
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        out.append(fn)
        for name in _code_names(fn.__code__):
            value = fn.__globals__.get(name)
            if isinstance(value, types.FunctionType) and _is_user_function(value):
                todo.append(value)
    return out


@contextlib.contextmanager
def fresh_free_tensors(modules: Iterable[nn.Module]) -> Iterator[int]:
    """While the block runs, the free eager tensors of ``modules`` (see the module docstring)
    are new tensor objects (``detach()``: same storage, same values, nothing copied); yields
    how many were replaced. Afterwards every place holds the user's tensor object again."""
    modules = list({id(m): m for root in modules for m in root.modules()}.values())
    swaps: List[Tuple[Any, Any, Any]] = []  # (dict or cell, key, original)

    def fresh(t: Any) -> Any:
        new = t.detach().requires_grad_(t.requires_grad) if t.is_leaf else t.detach()
        _KEPT.append(new)
        return new

    try:
        for m in modules:
            for key, value in list(m.__dict__.items()):
                if isinstance(value, flow.Tensor) and not isinstance(value, nn.Parameter):
                    swaps.append((m.__dict__, key, value))
                    m.__dict__[key] = fresh(value)
        done: Set[Tuple[int, str]] = set()
        for fn in _user_functions(modules):
            for name in _code_names(fn.__code__):
                value = fn.__globals__.get(name)
                if isinstance(value, flow.Tensor) and (id(fn.__globals__), name) not in done:
                    done.add((id(fn.__globals__), name))
                    swaps.append((fn.__globals__, name, value))
                    fn.__globals__[name] = fresh(value)
            for cell in fn.__closure__ or ():
                try:
                    value = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if isinstance(value, flow.Tensor):
                    swaps.append((cell, None, value))
                    cell.cell_contents = fresh(value)
        yield len(swaps)
    finally:
        for place, key, original in reversed(swaps):
            if key is None:
                place.cell_contents = original
            else:
                place[key] = original
