"""Small shape helpers shared by the formula files."""
from __future__ import annotations

from ..records import OpRecord, numel

__all__ = ["out_numel", "in_numel"]


def out_numel(rec: OpRecord) -> int:
    """Elements of the first output (0 when the record has no output shape)."""
    return numel(rec.outputs[0]) if rec.outputs else 0


def in_numel(rec: OpRecord) -> int:
    """Elements of the first input (0 when the record has no input shape)."""
    return numel(rec.inputs[0]) if rec.inputs else 0

