"""The backward pass for :class:`flowflops.FlopCounterMode`, as torch 2.14.1's FlopCounterMode
counts it (torch/utils/flop_counter.py, torch/utils/module_tracker.py).

OneFlow 0.9 has no dispatcher mode to see the ops autograd runs, so the backward is derived from
what the forward recorded, priced by the registry, and from the autograd graph OneFlow keeps
(``Tensor.grad_fn`` / ``next_functions``):

- the forward's priced records are the eager engine's (the registry's ``"torch"`` convention);
  the real forward call of every ``nn.Linear``, ``nn.ConvNd`` and ``nn.ConvTransposeNd`` says
  which operands require a gradient;
- ``loss.backward()`` counts the layers whose output the loss's graph reaches, as torch's
  formulas price their gradients: ``nn.Linear`` (``addmm``/``mm`` forward) runs one ``aten.mm``
  per operand that requires a gradient (input, weight), each priced as the forward product
  (``mm_flop`` of the transposed shapes: the same ``2 m k n``); a convolution runs one
  ``aten.convolution_backward``, priced (``conv_backward_flop``) as the forward for the input's
  gradient and as the forward times ``groups`` for the weight's (torch's formula prices the
  weight gradient of a grouped convolution as if it were not grouped). Bias gradients are
  sums: torch prices none.
- each gradient op is counted under the modules its forward op is counted under (and
  ``"Global"``), and under the modules torch's ModuleTracker leaves open around it. The tracker
  opens a module in the backward when its output's gradient is ready and closes it when its
  inputs' gradients are; torch's CPU engine runs the backward nodes newest first, so in a chain
  of layers each gradient falls under exactly its forward's modules, while a module none of
  whose inputs needs a gradient (never closed), or one called after other ops made since its
  input (torchvision's ``downsample``, parallel branches), stays open over those ops' gradients
  and torch counts them under it too. The count finds those windows from the order of the
  module calls and the nodes that made their inputs and outputs (``Tape._left_open``); where
  it cannot tell one exactly (an input made by a function, a leaf tensor needing a gradient, a
  module with several outputs) it warns, naming the module (the totals are exact).
- a priced op that is not one of those layers' (a functional ``x @ w``, ``F.linear``,
  ``F.conv2d``, ``flow.bmm``, a recurrent layer...) is counted in the forward only: the backward
  warns, naming those ops.

The autograd nodes that made the counted calls' outputs are held until a backward through them
(without ``retain_graph``) or the end of the context: a forward in the body that no backward
follows keeps its graph (and the tensors it saved) until the context ends.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

import oneflow as flow
import oneflow.nn as nn

from ..conventions import MODULE_ATTR, base_type_name
from ..records import OpRecord
from ..runtime.inputs import tensors_in
from ..runtime.interrupts import passes_through

__all__ = ["Op", "Tape", "LEAF_TYPES"]

#: the layers whose gradients are counted (their forward is one aten.mm/addmm or aten.convolution)
LEAF_TYPES: Tuple[type, ...] = tuple(getattr(nn, n) for n in (
    "Linear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"))
_LEAF_NAMES = frozenset(t.__name__ for t in LEAF_TYPES)
_NEVER = float("-inf")


@dataclass
class Call:
    """One real module call in the ``with`` body: torch's name for it, when it began and ended
    (a counter of call events), its inputs that require a gradient (``None``: a leaf tensor,
    else the node that made it) and the autograd nodes that made its outputs."""
    name: str
    start: int
    end: int = -1
    grad_inputs: List[Optional[Any]] = field(default_factory=list)
    outputs: List[Any] = field(default_factory=list)  # the grad_fn nodes (held: OneFlow makes a new
    # Python object for a node nobody holds, so only a held node keeps its identity)
    input_grad: bool = False  # a leaf layer: its first input requires a gradient
    weight_grad: bool = False  # a leaf layer: its weight does

    def reached(self, nodes: Set[int]) -> bool:
        return any(id(n) in nodes for n in self.outputs)


@dataclass
class Op:
    """A priced forward op: its record, torch's op name, FLOPs, the module names it was counted
    under; after the real call, the leaf layer call that ran it (or the outermost call, for an
    op not made by a leaf layer: its gradient is not counted)."""
    rec: OpRecord
    name: str
    flops: int
    owners: Set[str]
    call: Optional[Call] = None
    leaf: bool = False


def _grad_ops(op: Op) -> Tuple[str, int]:
    """torch's gradient op for a leaf layer's forward op and its FLOPs (see the module's
    docstring): ``aten.mm`` per operand needing a gradient, or ``aten.convolution_backward``."""
    call = op.call
    assert call is not None
    if base_type_name(op.rec.attrs.get(MODULE_ATTR)) == "Linear":
        return "aten.mm", op.flops * (int(call.input_grad) + int(call.weight_grad))
    groups = int(op.rec.attrs.get("groups", 1))
    return "aten.convolution_backward", op.flops * (int(call.input_grad) + groups * int(call.weight_grad))


class Tape:
    """What the ``with`` body ran, for its backward passes."""

    def __init__(self) -> None:
        self.clock = 0
        self.calls: List[Call] = []
        self.pending: List[Op] = []  # priced forward ops whose gradient may still run
        self._leaf_calls: Dict[int, List[Call]] = {}  # id(layer) -> its real calls, in order
        self._made: Dict[int, Tuple[Any, int]] = {}  # id(node) -> (node, end of the call that returned it)

    # -- the forward --------------------------------------------------------------------------
    @passes_through
    def call(self, name: str, module: Any, args: tuple, kwargs: Dict[str, Any],
             run: Callable[[], Any]) -> Any:
        """Run one real module call (``run()``, the user's code), noting what the backward needs
        (passes the call on: a signal in the user's code is the user's)."""
        info = self._entered(name, module, args, kwargs)
        out = run()
        self._returned(info, out)
        return out

    def _entered(self, name: str, module: Any, args: tuple, kwargs: Dict[str, Any]) -> Call:
        info = Call(name, self._tick())
        for t in tensors_in((args, kwargs)):
            if t.requires_grad:
                info.grad_inputs.append(t.grad_fn)
        if isinstance(module, LEAF_TYPES) and args and isinstance(args[0], flow.Tensor):
            info.input_grad = bool(args[0].requires_grad)
            info.weight_grad = bool(getattr(getattr(module, "weight", None), "requires_grad", False))
            self._leaf_calls.setdefault(id(module), []).append(info)
        return info

    def _returned(self, info: Call, out: Any) -> None:
        info.end = self._tick()
        for t in tensors_in(out):
            node = t.grad_fn if t.requires_grad else None
            if node is not None:
                info.outputs.append(node)
                self._made.setdefault(id(node), (node, info.end))
        self.calls.append(info)

    def begin(self) -> None:
        """An outermost call's real run starts (a previous one may have raised before ``attach``)."""
        self._leaf_calls.clear()

    def attach(self, root: Any, root_call: Optional[Call], ops: List[Op]) -> None:
        """Pair the outermost call's priced ops with the real leaf layer calls that ran them
        (the k-th record of a layer with its k-th call); keep those whose output requires a
        gradient."""
        if root_call is None or not root_call.outputs:
            self._leaf_calls.clear()
            return
        modules = dict(root.named_modules())
        seen: Dict[int, int] = {}
        for op in ops:
            layer = modules.get(op.rec.module)
            if base_type_name(op.rec.attrs.get(MODULE_ATTR)) in _LEAF_NAMES and layer is not None:
                k = seen.get(id(layer), 0)
                seen[id(layer)] = k + 1
                calls = self._leaf_calls.get(id(layer), [])
                if k < len(calls):
                    op.call, op.leaf = calls[k], True
                    if calls[k].outputs:
                        self.pending.append(op)
                    continue
            op.call = root_call
            self.pending.append(op)
        self._leaf_calls.clear()

    def functional(self, op: Op) -> None:
        """A priced op called outside any module while autograd records: its gradient is not counted."""
        self.pending.append(op)

    def _tick(self) -> int:
        self.clock += 1
        return self.clock

    # -- a backward pass ----------------------------------------------------------------------
    def backward(self, roots: Iterable[Any], retain: bool) -> Tuple[List[Tuple[Set[str], str, int]], List[Op],
                                                                      List[Tuple[str, Op]]]:
        """For a backward from ``roots`` (tensors): the gradient ops torch counts, in the order
        its engine runs them (``(modules, op, FLOPs)``), the priced ops whose gradient is not
        counted, and ``(module, op)`` pairs torch may also count under a module it leaves open
        where that cannot be told exactly (not counted under it here)."""
        nodes = self._graph(roots)
        # an op called outside any module may or may not feed the loss: named in any case
        counted = [op for op in self.pending if op.call is None or op.call.reached(nodes)]
        leaf_ops = sorted((op for op in counted if op.leaf), key=lambda op: op.call.start if op.call else 0)
        also, unsure = self._left_open(leaf_ops, nodes)
        grads = []
        for op in reversed(leaf_ops):
            name, flops = _grad_ops(op)
            if flops:
                grads.append((op.owners | also.get(id(op), set()), name, flops))
        missed = [op for op in counted if not op.leaf]
        if not retain:  # the graph is freed: its ops and calls cannot be reached again
            done = {id(op) for op in counted}
            self.pending = [op for op in self.pending if id(op) not in done]
            self.calls = [c for c in self.calls if not c.reached(nodes)]
            self._made = {k: v for k, v in self._made.items() if k not in nodes}
        return grads, missed, unsure

    @staticmethod
    def _graph(roots: Iterable[Any]) -> Set[int]:
        """Ids of every autograd node reachable from ``roots``' nodes."""
        keep: List[Any] = []
        seen: Set[int] = set()
        stack = [t.grad_fn for t in roots if isinstance(t, flow.Tensor) and t.grad_fn is not None]
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            keep.append(node)  # alive while the ids are compared
            stack.extend(node.next_functions)
        return seen

    def _made_at(self, node: Any, memo: Dict[int, Tuple[Any, float, bool]]) -> Tuple[float, bool]:
        """A time before which ``node`` was not made: the end of the call that returned it
        (exact: True), else the latest such time among the nodes it was made from (no call
        known: never)."""
        got = memo.get(id(node))
        if got is not None and got[0] is node:
            return got[1], got[2]
        made = self._made.get(id(node))
        if made is not None and made[0] is node:
            memo[id(node)] = (node, made[1], True)
            return made[1], True
        best = _NEVER
        stack, seen, keep = list(node.next_functions), {id(node)}, [node]
        while stack:
            n = stack.pop()
            if n is None or id(n) in seen:
                continue
            seen.add(id(n))
            keep.append(n)  # alive while ids are compared (OneFlow makes a new object per access)
            made = self._made.get(id(n))
            if made is not None and made[0] is n:
                best = max(best, made[1])
                continue
            stack.extend(n.next_functions)
        memo[id(node)] = (node, best, False)  # (held, so that its id stays its own)
        return best, False

    def _left_open(self, ops: List[Op], nodes: Set[int]) -> Tuple[Dict[int, Set[str]], List[Tuple[str, Op]]]:
        """torch's ModuleTracker opens a module in the backward just before the node that made
        its output runs, and closes it when the gradients of its inputs are ready: just before
        the node that made its earliest input runs (a module none of whose inputs requires a
        gradient stays open to the end). The CPU engine runs the nodes newest first, so the
        gradient of an op made after that input and before the module's call, outside it, runs
        while the module is open and torch counts it under the module too.

        Returns ``{id(op): module names}`` torch adds to an op's gradient where the window is
        known exactly (the module's inputs were returned by module calls, or none needs a
        gradient, and it has one output), and the ``(module, op)`` pairs where it is not (an
        input made by a function, a leaf tensor needing a gradient, several outputs)."""
        starts = [op.call.start for op in ops if op.call is not None]
        memo: Dict[int, Tuple[Any, float, bool]] = {}
        also: Dict[int, Set[str]] = {}
        unsure: List[Tuple[str, Op]] = []
        for call in self.calls:
            if not call.reached(nodes):
                continue
            low, exact = _NEVER, len(call.outputs) == 1
            if call.grad_inputs:
                made = [self._made_at(n, memo) if n is not None else (_NEVER, False) for n in call.grad_inputs]
                low = min(t for t, _ in made)
                exact = exact and all(ok for _, ok in made)
            lo = 0 if low == _NEVER else bisect.bisect_right(starts, low)
            for op in ops[lo:bisect.bisect_left(starts, call.start)]:
                if call.name in op.owners:
                    continue
                if exact:
                    also.setdefault(id(op), set()).add(call.name)
                else:
                    unsure.append((call.name, op))
        return also, unsure
