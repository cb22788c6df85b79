"""Count one flowvision model in the three modes and print the results as JSON (one process per
model: an abort inside OneFlow then fails that model's test alone, and no state carries over
from one model's compile to the next).

    python -m tests.zoo_check NAME
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, Dict

MODES = {
    "eager": {},
    "functional": {"backend_specific_config": {"count_functional": True}},
    "graph": {"mode": "graph"},
}


def check(name: str) -> Dict[str, Any]:
    """Per mode: MACs, FLOPs, params, unsupported, MACs per module, seconds; or the error."""
    import flowflops
    from tests.zoo import ALL, build

    res = dict((n, r) for _, n, r in ALL)[name]
    model = build(name)
    out: Dict[str, Any] = {}
    for mode, kwargs in MODES.items():
        start = time.perf_counter()
        try:
            r = flowflops.profile(model, res, **kwargs)
            out[mode] = {"macs": r.macs, "flops": r.flops, "params": r.params,
                         "unsupported": r.unsupported,
                         "modules": {p: c.macs for p, c in r.by_module().items()}}
        except flowflops.CountError as err:
            out[mode] = {"error": str(err)}
        out[mode]["seconds"] = round(time.perf_counter() - start, 2)
    return out


if __name__ == "__main__":
    print("ZOO-JSON " + json.dumps(check(sys.argv[1])))
