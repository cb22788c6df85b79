"""A formula's arithmetic, kept as data: which numbers of a record it multiplied.

A formula (see :mod:`flowflops.registry`) may return a :class:`Derivation` instead of a bare
:class:`~flowflops.records.Cost`: the registry prices the record with ``derivation.cost`` and
:meth:`flowflops.Report.explain` shows the terms with the record's numbers substituted
(``1*64*56*56 output elements x 64*3*3 weight elements per output = 115,605,504 MACs``).
The cost is computed from the same terms it shows, so the two cannot disagree::

    from flowflops.formulas.derivation import Derivation, macs, tensor

    @register("conv2d", override=True)
    def conv(rec):
        \"\"\"One MAC per weight element per output position.\"\"\"
        return Derivation((macs(tensor("output elements", rec.outputs[0]),
                                tensor("weight elements per output", rec.inputs[1][1:])),))

A term is ``scale x factor x factor ...``; each factor is a count with its label and the
dimensions it is the product of. ``kind`` ``"mac"`` terms are multiply-accumulates (1 MAC,
2 FLOPs each), ``"op"`` terms elementwise operations (1 MAC in the seed's convention, 1 FLOP).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from ..records import ZERO, Cost, Shape, elementwise, mac, numel

__all__ = ["Factor", "Term", "Derivation", "tensor", "number", "macs", "ops", "NOTHING"]


@dataclass(frozen=True)
class Factor:
    """A count in a term: ``value`` (the product of ``dims``, or 0 when the tensor it counts is
    missing from the record), what it counts (``label``) and the numbers it is made of."""

    label: str
    dims: Tuple[int, ...]
    value: int


def tensor(label: str, shape: Optional[Shape]) -> Factor:
    """The element count of a tensor of ``shape`` (``None``: a tensor the record lacks, 0)."""
    if shape is None:
        return Factor(label, (), 0)
    dims = tuple(int(d) for d in shape)
    return Factor(label, dims, numel(dims))


def number(label: str, n: int) -> Factor:
    """A single number (a contraction length, a count of tensors)."""
    return Factor(label, (int(n),), int(n))


@dataclass(frozen=True)
class Term:
    """``scale x product(factors)`` operations of one ``kind`` (``"mac"`` or ``"op"``), with an
    optional ``note`` (what step of the op it is: ``"normalise"``, ``"affine"``...)."""

    kind: str
    factors: Tuple[Factor, ...]
    scale: int = 1
    note: str = ""

    @property
    def n(self) -> int:
        value = self.scale
        for f in self.factors:
            value *= f.value
        return value

    @property
    def cost(self) -> Cost:
        return mac(self.n) if self.kind == "mac" else elementwise(self.n)


def macs(*factors: Factor, scale: int = 1, note: str = "") -> Term:
    """A term of multiply-accumulates."""
    return Term("mac", tuple(factors), scale, note)


def ops(*factors: Factor, scale: int = 1, note: str = "") -> Term:
    """A term of elementwise operations."""
    return Term("op", tuple(factors), scale, note)


@dataclass(frozen=True)
class Derivation:
    """The terms a formula summed (none: the op does no arithmetic), and ``note``: a line on
    why (``"moves, views or bookkeeping: no arithmetic"``)."""

    terms: Tuple[Term, ...] = ()
    note: str = ""

    @property
    def cost(self) -> Cost:
        total = ZERO
        for t in self.terms:
            total = total + t.cost
        return total

    @property
    def macs(self) -> int:
        return self.cost.macs

    @property
    def flops(self) -> int:
        return self.cost.flops

    @classmethod
    def of(cls, *terms: Term, note: str = "") -> "Derivation":
        return cls(tuple(terms), note)

    def without_empty(self) -> "Derivation":
        """The same derivation without terms that count nothing (an absent bias...)."""
        return Derivation(tuple(t for t in self.terms if t.n or not t.factors), self.note)


#: The derivation of ops registered as zero cost.
NOTHING = Derivation((), "moves, views or bookkeeping: no arithmetic")


def first(shapes: Sequence[Shape]) -> Optional[Shape]:
    """The first shape of a record's inputs or outputs (``None`` when there is none)."""
    return shapes[0] if shapes else None
