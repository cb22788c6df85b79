"""Three small models, local or global, and a script that counts the global ones on every rank.

Imported by ``tests/test_distributed.py`` (for the models and their local, single-process
counts) and run by it as::

    python -m oneflow.distributed.launch --nproc_per_node 2 --master_port PORT \\
        tests/dist_scripts/global_models.py OUT_DIR

Every rank writes ``OUT_DIR/rank<r>.json`` with its report's numbers (keys of per-rank dicts are
strings, as JSON makes them).

* ``data_parallel``: Linear(16, 8) - ReLU - Linear(8, 4); input (5, 16) split on the batch
  ``S(0)``, weights broadcast; the output gathered to ``B`` at the end.
* ``tensor_parallel``: Linear(8, 6) with its weight (and bias) split on the output dimension
  ``S(0)``, ReLU, Linear(6, 4) with its weight split on the input dimension ``S(1)`` (bias
  broadcast); input (4, 8) broadcast; the partial-sum output made ``B`` at the end.
* ``pipeline``: Linear(8, 6) - ReLU on rank 0, Linear(6, 4) on rank 1; input (4, 8) on rank 0;
  the hidden activation moved with ``.to_global(placement=rank 1)``.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable, Dict, Tuple

import oneflow as flow
import oneflow.nn as nn

CASES = ("data_parallel", "tensor_parallel", "pipeline")
INPUT_SHAPES = {"data_parallel": (5, 16), "tensor_parallel": (4, 8), "pipeline": (4, 8)}


def _both() -> Any:
    return flow.placement("cpu", ranks=[0, 1])


def _global_param(p: nn.Parameter, placement: Any, sbp: Any) -> nn.Parameter:
    """``p`` as a global parameter of the same logical shape: broadcast first, then re-split
    (a local tensor made global with ``S(k)`` directly would be the ranks' pieces glued)."""
    return nn.Parameter(p.to_global(placement, flow.sbp.broadcast).to_global(placement, sbp))


class DataParallel(nn.Module):
    def __init__(self, dist: bool) -> None:
        super().__init__()
        self.dist = dist
        self.fc1 = nn.Linear(16, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 4)
        if dist:
            self.to_global(_both(), flow.sbp.broadcast)

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        y = self.fc2(self.act(self.fc1(x)))
        return y.to_global(sbp=flow.sbp.broadcast) if self.dist else y


class TensorParallel(nn.Module):
    def __init__(self, dist: bool) -> None:
        super().__init__()
        self.dist = dist
        self.fc1 = nn.Linear(8, 6)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(6, 4)
        if dist:
            pl = _both()
            self.fc1.weight = _global_param(self.fc1.weight, pl, flow.sbp.split(0))  # (6, 8): out dim
            self.fc1.bias = _global_param(self.fc1.bias, pl, flow.sbp.split(0))
            self.fc2.weight = _global_param(self.fc2.weight, pl, flow.sbp.split(1))  # (4, 6): in dim
            self.fc2.bias = _global_param(self.fc2.bias, pl, flow.sbp.broadcast)

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        y = self.fc2(self.act(self.fc1(x)))
        return y.to_global(sbp=flow.sbp.broadcast) if self.dist else y


class Pipeline(nn.Module):
    def __init__(self, dist: bool) -> None:
        super().__init__()
        self.dist = dist
        self.stage0 = nn.Sequential(nn.Linear(8, 6), nn.ReLU())
        self.stage1 = nn.Linear(6, 4)
        if dist:
            self.stage0.to_global(flow.placement("cpu", ranks=[0]), flow.sbp.broadcast)
            self.stage1.to_global(flow.placement("cpu", ranks=[1]), flow.sbp.broadcast)

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        h = self.stage0(x)
        if self.dist:
            h = h.to_global(placement=flow.placement("cpu", ranks=[1]), sbp=flow.sbp.broadcast)
        return self.stage1(h)


class _Gather(nn.Module):
    """``inner``, its output made ``sbp``."""

    def __init__(self, inner: nn.Module, sbp: Any) -> None:
        super().__init__()
        self.inner = inner
        self.sbp = sbp

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        return self.inner(x).to_global(sbp=self.sbp)


def build(case: str, dist: bool) -> Tuple[nn.Module, Callable[[Any], flow.Tensor]]:
    """The model of ``case`` and its ``input_constructor`` (global inputs when ``dist``)."""
    shape = INPUT_SHAPES[case]
    model = {"data_parallel": DataParallel, "tensor_parallel": TensorParallel,
             "pipeline": Pipeline}[case](dist)
    if not dist:
        return model, lambda _: flow.ones(*shape)
    if case == "data_parallel":
        placement, sbp = _both(), flow.sbp.split(0)
    elif case == "tensor_parallel":
        placement, sbp = _both(), flow.sbp.broadcast
    else:
        placement, sbp = flow.placement("cpu", ranks=[0]), flow.sbp.broadcast
    return model, lambda _: flow.ones(*shape, placement=placement, sbp=sbp)


def _numbers(report: Any) -> Dict[str, Any]:
    from flowflops.analysis.ranks import comm_bytes_by_rank, cost_by_rank, transfers

    return {
        "macs": report.macs, "flops": report.flops,
        "param_bytes": {str(r): m.params for r, m in report.memory_by_rank().items()},
        "by_rank": {str(r): [c.macs, c.flops] for r, c in cost_by_rank(report).items()},
        "sent": {str(r): b for r, b in comm_bytes_by_rank(report).items()},
        "received": {str(r): b for r, b in comm_bytes_by_rank(report, "received").items()},
        "transfers": [[list(t.record.attrs["_in_sbp"][0]), list(t.record.attrs["_out_sbp"][0]),
                       list(t.record.inputs[0]), t.total] for t in transfers(report)],
        "sbp": {rec.name: [rec.op_type, [list(s) for s in rec.attrs.get("_in_sbp", ())],
                           [list(s) for s in rec.attrs.get("_out_sbp", ())],
                           list(rec.attrs["_placement"]["ranks"])]
                for rec, _ in report.entries},
    }


def main(out_dir: str) -> None:
    import flowflops
    from flowflops.analysis.ranks import cost_by_rank
    from flowflops.render.export import per_rank_table

    flow.manual_seed(0)
    rank = flow.env.get_rank()
    result: Dict[str, Any] = {"rank": rank, "cases": {}}
    for case in CASES:
        model, make = build(case, dist=True)
        graph = flowflops.profile(model, input_constructor=make, mode="graph")
        eager = flowflops.profile(model, input_constructor=make, mode="eager")
        try:
            cost_by_rank(eager)
            eager_error = ""
        except ValueError as err:
            eager_error = str(err)
        result["cases"][case] = {
            "graph": _numbers(graph), "eager": {"macs": eager.macs, "flops": eager.flops},
            "eager_by_rank_error": eager_error, "table": per_rank_table(graph),
        }
        if case == "tensor_parallel":
            result["cases"][case]["json"] = graph.to_json()
    # a 2-D hierarchy, ranks [[0, 1]]: Linear(8, 6) broadcast, the (5, 8) input (B, S(0)),
    # the output gathered to (B, B)
    flat = flow.placement("cpu", ranks=[[0, 1]])
    bb = [flow.sbp.broadcast, flow.sbp.broadcast]
    model = nn.Linear(8, 6).to_global(flat, bb)

    def make(_):
        return flow.ones(5, 8, placement=flat, sbp=[flow.sbp.broadcast, flow.sbp.split(0)])

    result["hierarchy_2d"] = _numbers(flowflops.profile(_Gather(model, bb), input_constructor=make, mode="graph"))
    # no input_constructor: the default input is ones, broadcast on the first parameter's placement
    model, _ = build("data_parallel", dist=True)
    result["default_input"] = _numbers(flowflops.profile(model, INPUT_SHAPES["data_parallel"], mode="graph"))
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
