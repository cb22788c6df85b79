"""One set of wrappers of OneFlow attributes shared by every flowflops user that needs them
(:mod:`~flowflops.runtime.module_calls`, :mod:`~flowflops.runtime.backward_calls`).

Two users that each saved and put back an attribute would break each other when they overlap
in two threads: the first to leave puts OneFlow's function back under the second, and the
second puts back the first one's wrapper, which then stays installed for good. A
:class:`SharedPatch` installs the wrappers for the first user and puts OneFlow's functions back
for the last, whatever the order they leave in; what a wrapper does in each thread is the
caller's business (thread-local state).
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, List, Tuple

__all__ = ["Saved", "SharedPatch"]

#: ``(owner, name, OneFlow's attribute, the wrapper installed in its place)``
Saved = Tuple[Any, str, Any, Any]


class SharedPatch:
    """A reference count of users and the wrappers they share. ``make()`` returns the
    :data:`Saved` entries to install; it runs when the first user enters."""

    def __init__(self, make: Callable[[], List[Saved]]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self.count = 0  # users in all threads (0: OneFlow's own attributes are in place)
        self.saved: List[Saved] = []
        os.register_at_fork(after_in_child=self._new_lock)

    def _new_lock(self) -> None:
        """A child made by ``os.fork()`` gets a new lock (another thread of the parent may have
        held it at the fork)."""
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            if self.count == 0:
                saved = self._make()
                for owner, name, _, wrapper in saved:
                    setattr(owner, name, wrapper)
                self.saved = saved
            self.count += 1

    def leave(self) -> None:
        with self._lock:
            self.count -= 1
            if self.count == 0:
                for owner, name, original, wrapper in self.saved:
                    if getattr(owner, name) is wrapper:  # (not if another patch replaced it)
                        setattr(owner, name, original)
                self.saved = []
