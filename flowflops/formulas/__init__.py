"""Per-op formulas, one file per family. Importing this package registers them all."""
from . import activation, conv, elementwise, fused, matmul, norm, pool, recurrent, reduce, zero  # noqa: F401
