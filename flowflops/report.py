"""``Aggregate``: the aggregation of one count's priced op records over the model's module tree:
per module, per op type, per phase. Every total is for the inputs as given (batch included).
It imports nothing above the registry and renders nothing: :class:`flowflops.Report`
(:mod:`flowflops.result`) adds the analyses and the renderings."""
from __future__ import annotations

import operator
from collections import Counter, OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .records import NO_TRAFFIC, PHASE, ZERO, Cost, ModuleInfo, Traffic, ancestors
from .registry import DEFAULT_CONVENTION, Entry, price, traffics

__all__ = ["Aggregate", "Entry", "ModuleInfo", "ancestors", "top_modules", "backward_forward_ratio"]


class Aggregate:
    """The numbers of one count.

    ``macs``/``flops``: totals (see :class:`flowflops.Cost` for the two conventions);
    ``params``/``trainable_params``: parameters of the model, each shared one once;
    ``unsupported``: op types (graph) or module types (eager) that had no formula and were
    counted as zero, with how many times each was seen;
    ``attention``: the attention kind the count applied (``"dense"``, ``"causal"``,
    ``"window:W"``; see :mod:`flowflops.sparsity`); ``upper_bounds``: totals of the same model
    without such rules (``"dense"``: every score and every expert computed), when they differ.
    """

    def __init__(
        self,
        entries: List[Entry],
        modules: "OrderedDict[str, ModuleInfo]",
        *,
        mode: str,
        inputs: Optional[List[Any]] = None,
        unsupported: Optional[Dict[str, int]] = None,
        module_outputs: Optional[Dict[str, Tuple[int, ...]]] = None,
        convention: str = DEFAULT_CONVENTION,
        unpriced_modules: Optional[Dict[str, str]] = None,
    ) -> None:
        self.entries = entries
        self.unpriced_modules: Dict[str, str] = dict(unpriced_modules or {})
        self.convention = convention  # whose rules priced the entries (flowflops.conventions)
        self.module_outputs: Dict[str, Tuple[int, ...]] = dict(module_outputs or {})
        self.modules = modules
        self.mode = mode
        self.inputs = inputs or []
        counts: Counter = Counter(unsupported or {})
        for rec, cost in entries:
            if cost is None:
                counts[rec.op_type] += 1
        self.unsupported: Dict[str, int] = dict(sorted(counts.items()))
        root = modules.get("")
        self.params = root.params if root else 0
        self.trainable_params = root.trainable_params if root else 0
        self.attention = "dense"
        self.upper_bounds: Dict[str, Cost] = {}
        self._traffic: Optional[List[Traffic]] = None
        self._sums: Dict[str, Tuple[Any, int, Any, int, Dict[str, Any]]] = {}

    # -- totals -------------------------------------------------------------------------
    @property
    def cost(self) -> Cost:
        """Total MACs and FLOPs of every priced record."""
        costs = [c for _, c in self.entries if c is not None]
        # each field summed from 0 in the records' order, as ZERO + c + ... adds them, without a
        # new Cost per record
        return Cost(sum([c.macs for c in costs]), sum([c.flops for c in costs]))

    @property
    def macs(self) -> int:
        """Total MACs in the report's convention (``self.convention``: the seed article's
        unless another was asked for, see :mod:`flowflops.conventions`)."""
        return self.cost.macs

    @property
    def flops(self) -> int:
        """Total FLOPs: 2 per multiply-accumulate, 1 per elementwise op (under a peer
        convention, 2 x its MACs)."""
        return self.cost.flops

    # -- what was priced ----------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """True only when nothing was unsupported (every op seen had a formula)."""
        return not self.unsupported

    @property
    def coverage(self) -> float:
        """The share of the ops seen (op records, and in eager mode module calls without a
        formula) that were priced: 1.0 when :attr:`complete`."""
        priced = sum(1 for _, c in self.entries if c is not None)
        seen = priced + sum(self.unsupported.values())
        return priced / seen if seen else 1.0

    @property
    def unpriced_params(self) -> int:
        """Parameters that sit in modules counted as zero for want of a formula (eager mode;
        each module once, nested ones inside an outer one not again)."""
        unpriced = self.unpriced_modules
        return sum(self.modules[p].params for p in unpriced if p in self.modules and not _inside(p, unpriced))

    @property
    def param_coverage(self) -> float:
        """The share of the model's parameters in modules whose work was priced (how much of
        the model the count can see; 1.0 when no module was counted as zero)."""
        return 1.0 - self.unpriced_params / self.params if self.params else 1.0

    # -- views --------------------------------------------------------------------------
    def _cached(self, name: str, make: Any) -> Dict[str, Any]:
        """A copy of the per-module sums ``make()`` gives, made once while ``entries`` and
        ``modules`` are the same lists of the same lengths: views of a large report ask for
        them several times (the page: explanations, repeated blocks, table), and each time
        made 100,000 new objects for the garbage collector to walk. (A record or module replaced
        in place, the list keeping its length, is not seen: give the report new lists.)"""
        entries, modules = self.entries, self.modules
        sums = self.__dict__.setdefault("_sums", {})  # (a copy made without __init__ has none)
        got = sums.get(name)
        # the lists themselves are kept with the sums: compared by identity, never a new
        # list that took a freed one's address
        if got is None or got[0] is not entries or got[1] != len(entries) or got[2] is not modules \
                or got[3] != len(modules):
            got = sums[name] = (entries, len(entries), modules, len(modules), make())
        return dict(got[4])

    def by_module(self) -> Dict[str, Cost]:
        """Module path -> cost of the module and everything inside it (paths as in
        ``named_modules()``, ``""`` the whole model). Every module of the tree is listed."""
        return self._cached("macs", self._by_module)

    def _by_module(self) -> Dict[str, Cost]:
        sums = _roll_up(self.modules, ((rec.module, (c.macs, c.flops)) for rec, c in self.entries if c is not None), 2)
        if sums is None:  # not all integers: summed in the records' order, as before
            out: Dict[str, Cost] = {p: ZERO for p in self.modules}
            for rec, c in self.entries:
                if c is None:
                    continue
                for p in ancestors(rec.module):
                    out[p] = out.get(p, ZERO) + c
            return out
        return _shared(sums, Cost, ZERO)

    def by_operator(self) -> Dict[str, Cost]:
        """Op type -> total cost of its calls, most expensive first."""
        out: Dict[str, Cost] = {}
        for rec, c in self.entries:
            if c is not None:
                out[rec.op_type] = out.get(rec.op_type, ZERO) + c
        return dict(sorted(out.items(), key=lambda kv: -kv[1].macs))

    # -- memory traffic (see flowflops.records.Traffic) -------------------------------------
    def record_traffic(self) -> List[Traffic]:
        """The bytes each record reads and writes, in the order of ``entries``."""
        if self._traffic is None or len(self._traffic) != len(self.entries):
            self._traffic = traffics([rec for rec, _ in self.entries])
        return self._traffic

    @property
    def traffic(self) -> Traffic:
        """Bytes read (parameters and activations) and written by all records together."""
        ts = self.record_traffic()
        # each field summed from 0 in the records' order, as NO_TRAFFIC + t + ... adds them
        return Traffic(sum([t.param_read for t in ts]), sum([t.act_read for t in ts]), sum([t.written for t in ts]))

    @property
    def bytes(self) -> int:
        """Total bytes moved: read plus written, each tensor once per op that touches it."""
        return self.traffic.total

    @property
    def intensity(self) -> float:
        """Arithmetic intensity: FLOPs per byte moved (0 when nothing moves)."""
        b = self.bytes
        return self.flops / b if b else 0.0

    def by_module_bytes(self) -> Dict[str, Traffic]:
        """Module path -> bytes of the module and everything inside it (like :meth:`by_module`)."""
        return self._cached("bytes", self._by_module_bytes)

    def _by_module_bytes(self) -> Dict[str, Traffic]:
        sums = _roll_up(self.modules, ((rec.module, (t.param_read, t.act_read, t.written))
                                       for (rec, _), t in zip(self.entries, self.record_traffic())), 3)
        if sums is None:
            out: Dict[str, Traffic] = {p: NO_TRAFFIC for p in self.modules}
            for (rec, _), t in zip(self.entries, self.record_traffic()):
                for p in ancestors(rec.module):
                    out[p] = out.get(p, NO_TRAFFIC) + t
            return out
        return _shared(sums, Traffic, NO_TRAFFIC)

    def by_operator_bytes(self) -> Dict[str, Traffic]:
        """Op type -> bytes of its calls, most bytes first."""
        out: Dict[str, Traffic] = {}
        for (rec, _), t in zip(self.entries, self.record_traffic()):
            out[rec.op_type] = out.get(rec.op_type, NO_TRAFFIC) + t
        return dict(sorted(out.items(), key=lambda kv: -kv[1].total))

    def by_phase(self) -> Dict[str, Cost]:
        """Phase -> cost, for a training-graph count: every record carries its phase in
        ``attrs[PHASE]`` (``"forward"``, ``"backward"`` or ``"optimizer"``); records without
        one are forward work. Phases with no work are listed with zero cost."""
        out: Dict[str, Cost] = {"forward": ZERO, "backward": ZERO, "optimizer": ZERO}
        for rec, c in self.entries:
            if c is not None:
                phase = rec.attrs.get(PHASE, "forward")
                out[phase] = out.get(phase, ZERO) + c
        return out

    # -- conventions (see flowflops.conventions) -------------------------------------------
    def with_convention(self, convention: str) -> "Aggregate":
        """The same count, its records priced under ``convention``; this report is unchanged."""
        from .conventions import check_convention

        check_convention(convention)
        entries = [(r, price(r, convention)) for r, _ in self.entries]
        unpriced = Counter(r.op_type for r, c in self.entries if c is None)
        hooks_only = {k: v - unpriced[k] for k, v in self.unsupported.items() if v > unpriced[k]}
        out = type(self)(entries, self.modules, mode=self.mode, inputs=self.inputs,
                         unsupported=hooks_only, module_outputs=self.module_outputs,
                         convention=convention)
        out.attention = self.attention
        return out

    def by_convention(self, conventions: Optional[Iterable[str]] = None) -> Dict[str, Cost]:
        """Convention name -> total cost of this count's records under it (every known
        convention by default): each peer's number from the same records. The peers see
        functional calls: count in eager mode with ``count_functional`` (the default of every
        peer convention) or in graph mode for their numbers."""
        from .conventions import NAMES

        return {name: self.with_convention(name).cost for name in (conventions or NAMES)}

    def convention_diff(self, a: str, b: str) -> Dict[str, Tuple[Cost, Cost]]:
        """Op type -> (its cost under ``a``, under ``b``) for every op type whose MACs differ,
        largest difference first: why two conventions' totals differ, op type by op type."""
        ca, cb = self.with_convention(a).by_operator(), self.with_convention(b).by_operator()
        rows = {op: (ca.get(op, ZERO), cb.get(op, ZERO)) for op in set(ca) | set(cb)}
        rows = {op: v for op, v in rows.items() if v[0].macs != v[1].macs}
        return dict(sorted(rows.items(), key=lambda kv: (-abs(kv[1][0].macs - kv[1][1].macs), kv[0])))

    def operator_counts(self) -> Dict[str, int]:
        """Op type -> number of calls seen."""
        return dict(Counter(rec.op_type for rec, _ in self.entries))

    def __repr__(self) -> str:
        return (
            f"Report(mode={self.mode!r}, macs={self.macs}, flops={self.flops}, "
            f"params={self.params}, unsupported={self.unsupported})"
        )


def _inside(path: str, paths: Any) -> bool:
    """Whether a module of ``paths`` holds ``path`` (``q`` with ``path`` starting ``q + "."``);
    one look-up per dot of ``path``, not a scan of ``paths``."""
    i = path.rfind(".")
    while i >= 0:
        if path[:i] in paths:
            return True
        i = path.rfind(".", 0, i)
    return False


def top_modules(report: Aggregate, k: int) -> List[Tuple[str, str, int]]:
    """The ``k`` most expensive leaf-most modules (those with no child holding cost), as
    ``(path, type name, MACs)``, most expensive first."""
    by_module = report.by_module()
    leaves = []
    for path, info in report.modules.items():
        if not path or by_module.get(path) is None or by_module[path].macs == 0:
            continue
        if any(by_module.get(c) is not None and by_module[c].macs for _, c in info.children):
            continue
        leaves.append((path, info.type_name, by_module[path].macs))
    return sorted(leaves, key=lambda t: -t[2])[:k]


def backward_forward_ratio(report: Aggregate, *, flops: bool = False) -> float:
    """Backward-phase cost over forward-phase cost of a training-step report (MACs, or FLOPs
    with ``flops=True``). Raises ``ValueError`` when the report has no forward work."""
    phases = report.by_phase()
    key = "flops" if flops else "macs"
    forward = getattr(phases["forward"], key)
    if forward == 0:
        raise ValueError("the report has no forward work: count a training step with mode='train'")
    return float(getattr(phases["backward"], key) / forward)


def _shared(sums: Dict[str, Tuple[int, ...]], make: Any, zero: Any) -> Dict[str, Any]:
    """Path -> ``make(*numbers)``, one object per distinct tuple of numbers (the objects are
    frozen): the identical blocks of a large model share theirs instead of each making one
    more object for the garbage collector to walk."""
    made: Dict[Tuple[int, ...], Any] = {}
    out: Dict[str, Any] = {}
    for p, v in sums.items():
        got = made.get(v)
        if got is None:
            got = made[v] = make(*v) if any(v) else zero
        out[p] = got
    return out


def _roll_up(modules: Iterable[str], items: Iterable[Tuple[str, Tuple[Any, ...]]],
             width: int) -> Optional[Dict[str, Tuple[int, ...]]]:
    """Module path -> the sums of the ``items`` (``(module path, numbers)``) of the module and
    every module inside it, in one pass over the items and one over the paths (not a walk of
    every ancestor per item): the paths of ``modules`` first, then the others the items name
    and their ancestors, in the order a walk of each item's ancestors would add them.
    ``None`` when a number is not an integer (a float sum depends on its order).

    The sums are tuples, not lists: a tuple of numbers is dropped from the cyclic garbage
    collector's watch at its next pass, so 100,000 of them do not make it walk every object of
    the process again and again (lists did: a 100,000-module view spent seconds in it)."""
    add = operator.add
    own: Dict[str, Tuple[Any, ...]] = {}
    for path, vals in items:
        acc = own.get(path)
        own[path] = tuple(vals) if acc is None else tuple(map(add, acc, vals))
    if any(type(v) is not int for acc in own.values() for v in acc):
        return None
    zero = (0,) * width
    out: Dict[str, Tuple[int, ...]] = dict.fromkeys(modules, zero)
    # a tree that holds every module's parent (as named_modules gives) holds every ancestor
    closed = all(p.rpartition(".")[0] in out for p in out if p)
    for path in own:
        if closed and path in out:
            continue
        for p in ancestors(path):
            if p not in out:
                out[p] = zero
    for path, sums in own.items():
        out[path] = tuple(map(add, out[path], sums))
    # children into parents, deepest first: each path's sum then holds its whole subtree
    for path in sorted((p for p in out if p), key=lambda p: -p.count(".")):
        total = out[path]
        if any(total):
            parent = path.rpartition(".")[0]
            out[parent] = tuple(map(add, out[parent], total))
    return out
