"""Matrix products: ``matmul``, ``broadcast_matmul``, ``batch_matmul`` and fused variants.

MACs = ``numel(output) * K``, K the contraction length. K comes from the ``transpose_a``
attribute when present; without attributes (a printed graph) it is read off the shapes:
``a`` is ``(..., M, K)`` untransposed or ``(..., K, M)`` transposed, and the output is
``(..., M, N)``, so K is ``a[-1]`` when ``a[-2] == M`` and ``a[-2]`` otherwise (when both
equal M, then K == M and either answer is right).
"""
from __future__ import annotations

from .derivation import Derivation, macs, number, tensor
from ..records import OpRecord
from ..registry import register

__all__ = ["contraction_length", "matmul", "matrix_vector", "dot"]


def contraction_length(rec: OpRecord) -> int:
    """K of ``out = a @ b`` for a record whose first input is ``a``."""
    a, out = rec.inputs[0], rec.outputs[0]
    if len(a) == 1:
        return a[0]
    if "transpose_a" in rec.attrs:
        return a[-2] if rec.attrs["transpose_a"] else a[-1]
    m = out[-2] if len(out) >= 2 else 1
    return a[-1] if a[-2] == m else a[-2]


@register("matmul", "broadcast_matmul", "batch_matmul")
def matmul(rec: OpRecord) -> Derivation:
    """One MAC per output element per step of the contraction: ``numel(out) * K``."""
    return Derivation.of(macs(tensor("output elements", rec.outputs[0]),
                              number("steps of the contraction (K)", contraction_length(rec))))


@register("matrix_vector_product", "vector_matrix_product")
def matrix_vector(rec: OpRecord) -> Derivation:
    """``(M, K) @ (K,)`` or ``(K,) @ (K, N)``: one MAC per element of the matrix."""
    matrix = max(rec.inputs[:2], key=len)
    return Derivation.of(macs(tensor("matrix elements", matrix)))


@register("dot")
def dot(rec: OpRecord) -> Derivation:
    """``(K,) . (K,)``: K MACs."""
    return Derivation.of(macs(tensor("vector elements (K)", rec.inputs[0])))
