"""Calling a user's module hook while an engine traces (``custom_modules_hooks`` keyed by module
class; the rules around it are in :mod:`flowflops.rules.custom`). A hook ``fn(module, inputs,
output)`` may

- return the call's MACs (an int or float) or a :class:`flowflops.Cost` (flowflops' style), or
- add them to ``module.__flops__`` (ptflops' style: ``module.__flops__ += n``), or
- add them to ``module.total_ops`` (thop's style: ``m.total_ops += n``, a number or a tensor).

The accumulator attributes exist only while the hook runs; the module's ``__dict__`` is put
back exactly as it was afterwards (an attribute of the same name the user had is restored).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from ..errors import CustomHookError
from ..records import Cost, mac

__all__ = ["ACCUMULATORS", "matching_type", "call_module_hook", "hook_cost", "hook_name"]


#: Attributes a hook may add its MACs to: ptflops' and thop's.
ACCUMULATORS = ("__flops__", "total_ops")


class _Untouched(int):
    """The accumulators' start value; any ``+=`` replaces it with a plain number."""


_MISSING = object()


def _as_number(value: Any) -> Any:
    """A hook's number: ints and floats as they are, one-element tensors (thop) as a float."""
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        try:
            return value.item()
        except Exception:
            return value
    return value


def hook_cost(value: Any, what: str) -> Cost:
    """A hook's number (or :class:`Cost`) as a :class:`Cost`; anything else is a
    :class:`CustomHookError` naming ``what`` the hook priced."""
    value = _as_number(value)
    if isinstance(value, Cost):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CustomHookError(
            f"the custom hook for {what} gave {value!r}: return the call's MACs as a number "
            "(or a flowflops.Cost), or add them to module.__flops__"
        )
    return mac(int(round(value)))


def matching_type(module: Any, types: Iterable[type]) -> Optional[type]:
    """The first of ``types`` that ``module`` is an instance of (``None``: none is)."""
    for t in types:
        if isinstance(module, t):
            return t
    return None


def hook_name(fn: Any) -> str:
    """The hook's name as an error shows it."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def call_module_hook(fn: Callable, module: Any, args: tuple, output: Any, path: str) -> Cost:
    """The cost of one call of ``module`` as the user's hook ``fn`` prices it (any of the
    three styles above). A hook that raises, or gives neither a number nor an accumulated
    count, raises :class:`CustomHookError` naming the hook, the module type and its path."""
    type_name = type(module).__name__
    where = f"{type_name} (module '{path}')"
    saved = {a: module.__dict__.get(a, _MISSING) for a in ACCUMULATORS}
    usable = [a for a in ACCUMULATORS
              if a not in getattr(module, "_buffers", {}) and a not in getattr(module, "_parameters", {})]
    try:
        for a in usable:
            module.__dict__[a] = _Untouched(0)
        try:
            returned = fn(module, args, output)
        except CustomHookError:
            raise
        except Exception as err:
            from .interrupts import from_signal

            if from_signal(err):  # the user's signal handler's own exception
                raise
            raise CustomHookError(
                f"the custom hook {hook_name(fn)!r} for {where} raised {type(err).__name__}: {err}"
            ) from err
        added = [module.__dict__.get(a) for a in usable]
        added = [v for v in added if type(v) is not _Untouched]
    finally:
        for a in usable:
            if saved[a] is _MISSING:
                module.__dict__.pop(a, None)
            else:
                module.__dict__[a] = saved[a]
    if returned is not None:
        return hook_cost(returned, f"{where} ({hook_name(fn)!r})")
    if not added:
        raise CustomHookError(
            f"the custom hook {hook_name(fn)!r} for {where} returned None and added nothing to "
            "module.__flops__: return the call's MACs, or add them with module.__flops__ += n"
        )
    total = Cost()
    for v in added:
        total = total + hook_cost(v, f"{where} ({hook_name(fn)!r})")
    return total
