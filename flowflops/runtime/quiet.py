"""A quiet ``flowflops`` command: OneFlow's start-up noise kept off stderr.

Importing oneflow 0.9 writes to stderr from C++ (so ``warnings`` and ``logging`` cannot stop
it): ``libibverbs not available, ibv_fork_init skipped`` on a machine without InfiniBand, and,
without a usable CUDA driver, glog lines such as ``W... CUDA driver version is insufficient for
CUDA runtime version`` (again as an ``E...`` line when a graph is compiled). None of them is
about the count.

When this process is the ``flowflops`` command (the installed console script, whose
``sys.orig_argv`` is ``[python, .../bin/flowflops, ...]``, or ``python -m flowflops``)
without ``--debug``, :func:`quiet_command_line` (called by ``flowflops/__init__.py`` before
oneflow is imported) sends file descriptor 2 through a pipe to a forked filter process, which
drops exactly the lines :data:`NOISE` matches and writes every other byte to the real stderr
as it comes, so real errors (Python's, OneFlow's, a crash's last words) still show. The filter
outlives an aborting command and ends when the last writer closes the pipe. A library user's
``import flowflops`` is never affected.
"""
from __future__ import annotations

import atexit
import os
import re
import sys
from typing import List, Optional

__all__ = ["NOISE", "is_command_line", "quiet_command_line"]

#: The lines dropped: OneFlow's start-up messages on machines without InfiniBand or CUDA.
NOISE = re.compile(
    rb"^(libibverbs not available, ibv_fork_init skipped"
    rb"|[IWE]\d{8} [\d:.]+ +\d+ \w+\.cpp:\d+\] (CUDA driver version is insufficient for CUDA runtime version"
    rb"|Failed to get cuda runtime version: CUDA driver version is insufficient.*))\s*$"
)


def is_command_line(argv: Optional[List[str]] = None) -> bool:
    """True when this process runs the ``flowflops`` command without ``--debug``."""
    args = list(argv if argv is not None else getattr(sys, "orig_argv", sys.argv))
    if "--debug" in args:
        return False
    if args and os.path.basename(args[0]) == "flowflops":
        return True
    # the installed console script: ``sys.orig_argv`` is ``[python, .../bin/flowflops, ...]``
    if len(args) > 1 and os.path.basename(args[1]) == "flowflops":
        return True
    return any(a == "-m" and b in ("flowflops", "flowflops.cli") for a, b in zip(args, args[1:]))


def _filter(read_fd: int, out_fd: int) -> None:
    """Copy ``read_fd`` to ``out_fd`` line by line until end of file, dropping NOISE lines."""
    pending = b""
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        kept = b"".join(line + b"\n" for line in lines if not NOISE.match(line))
        if kept:
            os.write(out_fd, kept)
    if pending and not NOISE.match(pending):
        os.write(out_fd, pending)


def quiet_command_line() -> None:
    """Filter stderr (see the module docstring) when this process is the command; no-op
    otherwise, or where ``fork`` is not available."""
    if not is_command_line() or not hasattr(os, "fork"):
        return
    try:
        read_fd, write_fd = os.pipe()
        sys.stderr.flush()
        pid = os.fork()
    except OSError:
        return
    if pid == 0:  # the filter
        try:
            os.close(write_fd)
            os.close(1)
            _filter(read_fd, 2)
        finally:
            os._exit(0)
    os.close(read_fd)
    real = os.dup(2)
    os.dup2(write_fd, 2)
    os.close(write_fd)

    def finish() -> None:  # runs last of the atexit handlers: the filter drains, then ends
        try:
            sys.stderr.flush()
            os.dup2(real, 2)  # closes the pipe's last writer
            os.waitpid(pid, 0)
        except OSError:
            pass

    atexit.register(finish)
