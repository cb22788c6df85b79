"""The two value types every engine and printer shares: an op record and its cost."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple

Shape = Tuple[int, ...]


def numel(shape: Shape) -> int:
    """Number of elements of a tensor of this shape (1 for a scalar)."""
    n = 1
    for d in shape:
        n *= int(d)
    return n


@dataclass(frozen=True)
class OpRecord:
    """One operator call, as an engine saw it.

    ``op_type`` is OneFlow's graph op type name (``conv2d``, ``matmul``, ``add_n``...).
    ``module`` is the path of the module that ran it, as ``model.named_modules()`` names it
    (``""`` for the root). ``inputs``/``outputs`` are tensor shapes, batch included, in the
    op definition's argument order (a list argument such as ``add_n``'s is flattened).
    ``attrs`` holds the op's attributes where the engine knows them (it may be empty: the
    formulas then work from the shapes alone).
    """

    op_type: str
    module: str
    inputs: Tuple[Shape, ...] = ()
    outputs: Tuple[Shape, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True)
class Cost:
    """The cost of some work, for the whole input as given (batch included).

    ``macs`` follows the seed article's (ptflops') convention: a multiply-accumulate counts 1,
    an elementwise op (bias add, activation, normalisation step, pooling read) counts 1.
    ``flops`` counts floating-point operations: a multiply-accumulate is 2, an elementwise op 1.
    """

    macs: int = 0
    flops: int = 0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.macs + other.macs, self.flops + other.flops)

    def __mul__(self, k: int) -> "Cost":
        return Cost(self.macs * k, self.flops * k)

    __rmul__ = __mul__


ZERO = Cost(0, 0)


def mac(n: int) -> Cost:
    """``n`` multiply-accumulates: n MACs, 2n FLOPs."""
    return Cost(int(n), 2 * int(n))


def elementwise(n: int) -> Cost:
    """``n`` elementwise operations: n MACs in the seed's convention, n FLOPs."""
    return Cost(int(n), int(n))
