"""Views of large reports made without Python's cyclic garbage collector running.

Building the text of a 100,000-module report allocates millions of small strings, lists and
dicts (none of them in a reference cycle); each allocation burst starts a collection, and the
oldest generation's collections walk every object of the process, the report's records
included: at 100,000 modules that doubled the time of ``to_dict``. :func:`bulk` runs a view with
the collector paused and restores it as it was (a collector the caller paused stays paused)."""
from __future__ import annotations

import functools
import gc
from typing import Any, Callable, TypeVar, cast

__all__ = ["bulk"]

F = TypeVar("F", bound=Callable[..., Any])


def bulk(fn: F) -> F:
    """``fn`` with the cyclic garbage collector paused while it runs (re-enabled afterwards,
    also when ``fn`` raises, if it was enabled before)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return cast(F, run)
