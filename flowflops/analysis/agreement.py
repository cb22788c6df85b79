"""Do the two engines agree on a model? (``profile(..., verify=True)``, ``--verify``).

An eager count with ``count_functional`` (module hooks plus every functional call) and a
graph count (the compiled job's ops) price the same forward: their MACs and FLOPs must be
equal, in total, per module and per op type. :func:`agreement` compares the two reports and
lists every place they differ, with both numbers, and what either engine could not price
(its unsupported ops: a difference hidden there would not show in the numbers). Its text:
:class:`flowflops.result.Agreement` (:mod:`flowflops.render.agreement`).

A recurrent layer (``nn.RNN``/``GRU``/``LSTM`` and the cells) is one op type per layer in the
eager count (``lstm_cell``..., one record per layer, direction and call, priced for every step:
:mod:`flowflops.formulas.recurrent`), while the compiled graph unrolls it into matrix products,
bias adds, sums, activations and products per step. The op-type comparison therefore counts
every op of such a layer, in both engines, under the eager engine's cell op type: the layer is
compared as a whole (its total and its module are compared as usual), never its parts.
:attr:`Agreement.recurrent` names the layers so compared.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from ..formulas.recurrent import GATES
from ..records import ZERO, ancestors

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
    ``unsupported``: per engine, the ops it could not price; ``recurrent``: module path ->
    cell op type of each recurrent layer whose ops were compared as that one op type (see the
    module docstring). ``agree``: no difference, nothing unpriced."""

    eager: Tuple[int, int]
    graph: Tuple[int, int]
    differences: List[Difference] = field(default_factory=list)
    unsupported: Dict[str, Dict[str, int]] = field(default_factory=dict)
    recurrent: Dict[str, str] = field(default_factory=dict)

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


def _recurrent_layers(eager: "Aggregate") -> Dict[str, str]:
    """Module path -> cell op type of every module the eager count priced as a recurrent layer."""
    return {rec.module: rec.op_type for rec, _ in eager.entries if rec.op_type in GATES}


def _by_operator(report: "Aggregate", recurrent: Dict[str, str]) -> Dict[str, Tuple[int, int]]:
    """Op type -> (MACs, FLOPs), every op inside a layer of ``recurrent`` under its cell op type."""
    if not recurrent:
        return _pairs(report.by_operator())
    out: Dict[str, Any] = {}
    for rec, c in report.entries:
        if c is None:
            continue
        cell = next((recurrent[p] for p in reversed(ancestors(rec.module)) if p in recurrent), None)
        key = cell or rec.op_type
        out[key] = out.get(key, ZERO) + c
    return _pairs(out)


def agreement(eager: "Aggregate", graph: "Aggregate") -> Agreement:
    """Where an eager+``count_functional`` count and a graph count of one model differ."""
    te, tg = (eager.macs, eager.flops), (graph.macs, graph.flops)
    diffs = [Difference("total", "", te, tg)] if te != tg else []
    modules = _differing("module", _pairs(eager.by_module()), _pairs(graph.by_module()))
    recurrent = _recurrent_layers(eager)
    ops = _differing("op type", _by_operator(eager, recurrent), _by_operator(graph, recurrent))
    ops.sort(key=lambda d: -abs((d.eager or (0, 0))[1] - (d.graph or (0, 0))[1]))
    unsupported = {name: dict(r.unsupported) for name, r in (("eager", eager), ("graph", graph)) if r.unsupported}
    return Agreement(te, tg, diffs + modules + ops, unsupported, recurrent)
