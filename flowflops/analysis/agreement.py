"""Do the two engines agree on a model? (``profile(..., verify=True)``, ``--verify``).

An eager count with ``count_functional`` (module hooks plus every functional call) and a
graph count (the compiled job's ops) price the same forward: their MACs and FLOPs must be
equal, in total, per module and per op type. :func:`agreement` compares the two reports and
lists every place they differ, with both numbers, and what either engine could not price
(its unsupported ops: a difference hidden there would not show in the numbers). Its text:
:class:`flowflops.result.Agreement` (:mod:`flowflops.render.agreement`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = ["Difference", "Agreement", "agreement"]


@dataclass
class Difference:
    """One place the engines differ: ``kind`` is ``total``, ``module`` (a path) or ``op type``;
    ``eager``/``graph`` are its ``(MACs, FLOPs)`` in each (``None``: not in that count)."""

    kind: str
    name: str
    eager: Any
    graph: Any


@dataclass
class Agreement:
    """``differences``: every total, module and op type whose MACs or FLOPs differ;
    ``unsupported``: per engine, the ops it could not price. ``agree``: neither."""

    eager: Tuple[int, int]
    graph: Tuple[int, int]
    differences: List[Difference] = field(default_factory=list)
    unsupported: Dict[str, Dict[str, int]] = field(default_factory=dict)

    @property
    def agree(self) -> bool:
        return not self.differences and not any(self.unsupported.values())

    def to_dict(self) -> Dict[str, Any]:
        return dict(asdict(self), agree=self.agree)


def _pairs(costs: Dict[str, Any]) -> Dict[str, Tuple[int, int]]:
    return {k: (int(c.macs), int(c.flops)) for k, c in costs.items()}


def _differing(kind: str, a: Dict[str, Tuple[int, int]], b: Dict[str, Tuple[int, int]]) -> List[Difference]:
    out = []
    for name in list(a) + [n for n in b if n not in a]:
        x, y = a.get(name), b.get(name)
        if (x or (0, 0)) != (y or (0, 0)):
            out.append(Difference(kind, name, x, y))
    return out


def agreement(eager: "Aggregate", graph: "Aggregate") -> Agreement:
    """Where an eager+``count_functional`` count and a graph count of one model differ."""
    te, tg = (eager.macs, eager.flops), (graph.macs, graph.flops)
    diffs = [Difference("total", "", te, tg)] if te != tg else []
    modules = _differing("module", _pairs(eager.by_module()), _pairs(graph.by_module()))
    ops = _differing("op type", _pairs(eager.by_operator()), _pairs(graph.by_operator()))
    ops.sort(key=lambda d: -abs((d.eager or (0, 0))[1] - (d.graph or (0, 0))[1]))
    unsupported = {name: dict(r.unsupported) for name, r in (("eager", eager), ("graph", graph)) if r.unsupported}
    return Agreement(te, tg, diffs + modules + ops, unsupported)
