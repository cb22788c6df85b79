"""How many bytes a new CPU tensor can take now: the least of the machine's available memory,
the process's address-space limit and its control group's memory limit.

OneFlow aborts the whole process when an allocation fails, so an input is checked against
this before it is made (:func:`flowflops.runtime.inputs.check_input_size`). Each source is read from
the files the kernel publishes; one that cannot be read is left out, never guessed:

- ``MemAvailable`` of ``/proc/meminfo``;
- ``RLIMIT_AS`` (``ulimit -v``, ``resource.setrlimit``) minus the address space the process
  maps already (``/proc/self/statm``);
- the memory limit of the process's control group minus its usage: cgroup v2
  (``memory.max`` / ``memory.current``) or v1 (``memory.limit_in_bytes`` /
  ``memory.usage_in_bytes``), at the group named in ``/proc/self/cgroup`` or at the mount's
  root (a container sees its own group there).
"""
from __future__ import annotations

import os
import resource
from typing import List, Optional

__all__ = ["mem_available", "address_space_left", "cgroup_left", "available_cpu_bytes"]

#: a cgroup limit at or above this means "no limit" (v1 writes 2**63 rounded to pages)
_UNLIMITED = 2 ** 60


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:  # "max" (cgroup v2: no limit) or anything unexpected
        return None


def mem_available(proc: str = "/proc") -> Optional[int]:
    try:
        with open(os.path.join(proc, "meminfo")) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def address_space_left(proc: str = "/proc") -> Optional[int]:
    """``RLIMIT_AS`` (soft) minus the process's mapped address space; ``None`` without a limit."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY or limit < 0:
        return None
    try:
        with open(os.path.join(proc, "self", "statm")) as f:
            mapped = int(f.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        mapped = 0
    return max(limit - mapped, 0)


def cgroup_left(proc: str = "/proc", root: str = "/sys/fs/cgroup") -> Optional[int]:
    """The control group's memory limit minus its usage; ``None`` without a limit."""
    try:
        with open(os.path.join(proc, "self", "cgroup")) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    found: List[int] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, group = parts
        group = group.lstrip("/")
        if controllers == "":  # cgroup v2
            places = [os.path.join(root, group), root]
            files = ("memory.max", "memory.current")
        elif "memory" in controllers.split(","):  # cgroup v1
            places = [os.path.join(root, "memory", group), os.path.join(root, "memory")]
            files = ("memory.limit_in_bytes", "memory.usage_in_bytes")
        else:
            continue
        for place in places:
            limit = _read_int(os.path.join(place, files[0]))
            if limit is None or limit >= _UNLIMITED:
                continue
            usage = _read_int(os.path.join(place, files[1])) or 0
            found.append(max(limit - usage, 0))
            break
    return min(found) if found else None


def available_cpu_bytes() -> Optional[int]:
    """The least of :func:`mem_available`, :func:`address_space_left` and
    :func:`cgroup_left` that can be read; ``None`` when none can."""
    known = [n for n in (mem_available(), address_space_left(), cgroup_left()) if n is not None]
    return min(known) if known else None
