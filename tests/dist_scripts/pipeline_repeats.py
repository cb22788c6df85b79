"""A pipeline-placed model of repeated blocks, counted with ``repeats="once"`` and
``repeats="trace"`` on every rank (``tests/test_distributed.py::test_pipeline_repeats``)::

    python -m oneflow.distributed.launch --nproc_per_node 2 --master_port PORT \\
        tests/dist_scripts/pipeline_repeats.py OUT_DIR

``Stages``: three identical blocks (Linear(8, 8) - ReLU) placed on rank 0, the activation moved
to rank 1 with ``to_global``, three more identical blocks there; input (4, 8) on rank 0. Every
rank writes ``OUT_DIR/rank<r>.json``: for each setting, every record (op type, module path,
shapes, attributes but tensor names), its MACs and FLOPs, its bytes, the totals, the per-rank
costs, memory and transfers, and how many calls were copied.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Tuple

import oneflow as flow
import oneflow.nn as nn

BLOCKS = 3
WIDTH = 8
INPUT = (4, WIDTH)


class Blk(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(WIDTH, WIDTH)

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        return self.fc(x).relu()


def _rank(r: int) -> Any:
    return flow.placement("cpu", ranks=[r])


class Stages(nn.Module):
    def __init__(self, dist: bool) -> None:
        super().__init__()
        self.dist = dist
        self.stage0 = nn.Sequential(*[Blk() for _ in range(BLOCKS)])
        self.stage1 = nn.Sequential(*[Blk() for _ in range(BLOCKS)])
        if dist:
            self.stage0.to_global(_rank(0), flow.sbp.broadcast)
            self.stage1.to_global(_rank(1), flow.sbp.broadcast)

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        h = self.stage0(x)
        if self.dist:
            h = h.to_global(placement=_rank(1), sbp=flow.sbp.broadcast)
        return self.stage1(h)


def build(dist: bool) -> Tuple[nn.Module, Any]:
    model = Stages(dist).eval()
    if dist:
        return model, lambda _: flow.ones(*INPUT, placement=_rank(0), sbp=flow.sbp.broadcast)
    return model, lambda _: flow.ones(*INPUT)


def _plain(v: Any) -> Any:
    """``v`` as JSON keeps it comparable (tuples and lists alike, keys as strings)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def count(model: Any, make: Any, repeats: str) -> Dict[str, Any]:
    import flowflops
    from flowflops.analysis.ranks import comm_bytes_by_rank, cost_by_rank
    from flowflops.graph import repeats as repeats_mod
    from flowflops.records import IN_TENSORS, OUT_TENSORS

    copies: List[int] = []
    original = repeats_mod.Repeats.expand

    def expand(self: Any, records: Any, root: str) -> Any:
        out = original(self, records, root)
        copies.append(sum(1 for c in self.calls.values() if c.copy_of is not None))
        return out

    repeats_mod.Repeats.expand = expand  # type: ignore[method-assign]
    try:
        r = flowflops.profile(model, input_constructor=make, mode="graph", repeats=repeats)
    finally:
        repeats_mod.Repeats.expand = original  # type: ignore[method-assign]
    return {
        "records": [[rec.op_type, rec.module, _plain(rec.inputs), _plain(rec.outputs),
                     _plain({k: v for k, v in rec.attrs.items() if k not in (IN_TENSORS, OUT_TENSORS)}),
                     [cost.macs, cost.flops] if cost is not None else None]
                    for rec, cost in r.entries],
        "traffic": [_plain(t) for t in r.record_traffic()],
        "macs": r.macs, "flops": r.flops, "params": r.params,
        "by_rank": {str(k): [c.macs, c.flops] for k, c in cost_by_rank(r).items()},
        "sent": {str(k): b for k, b in comm_bytes_by_rank(r).items()},
        "memory": {str(k): repr(m) for k, m in r.memory_by_rank().items()},
        "copies": copies,
    }


def main(out_dir: str) -> None:
    flow.manual_seed(0)
    rank = flow.env.get_rank()
    model, make = build(dist=True)
    result = {"rank": rank, "once": count(model, make, "once"), "trace": count(model, make, "trace")}
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
