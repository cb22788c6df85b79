"""Per-op formulas, one file per family. Importing this package registers them all."""
from . import (  # noqa: F401
    activation, backward, comm, conv, elementwise, fused, loss, matmul, norm, optimizer, pool,
    recurrent, reduce, traffic, zero,
)
from . import peers  # noqa: F401,E402  (the peer conventions' rules, after flowflops' own)
