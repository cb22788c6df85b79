"""Pricing rules of the peer conventions (see :mod:`flowflops.conventions`): one file per peer,
each rule registered with ``register(op_type, convention=NAME)`` and citing the peer's source
file and line it reproduces. Op types a file does not list cost nothing under that convention."""
from . import fvcore, ptflops, ptflops_aten, thop, torch_counter  # noqa: F401

__all__: list = []  # the modules of this folder are imported by name
