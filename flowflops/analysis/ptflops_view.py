"""ptflops 0.7.5's own view of a count under its pytorch backend (``"ptflops"`` convention):
what its module hooks summed per module, what its patched functionals added to the total, the
batch division, and which module types its ``verbose`` lists as zero-ops. Numbers only; the
text is :mod:`flowflops.render.ptflops_text`.

ptflops (pytorch_engine.py) keeps two sums. Module hooks add to ``module.__flops__`` of the
modules whose exact type is in ``MODULES_MAPPING`` (or ``custom_modules_hooks``); a module's
row in the per-layer printout is its own ``__flops__`` when it is such a module, else the sum
of its children's rows (``accumulate_flops``, pytorch_engine.py:101-108), divided by the
batch size (``__batch_counter__``: the length of the first positional input). The patched
functionals add to a second list that only the total sees (pytorch_engine.py:69-71). So a
``nn.ReLU`` row shows the hook's count once, while the total has the F.relu it calls too.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Optional, Sequence

from ..conventions import FUNCTIONAL_ON_ATTR, MODULE_ATTR, peer_type_name
from ..formulas.peers.ptflops import HOOKED
from ..report import Aggregate
from ..records import OpRecord
from ..registry import price

__all__ = ["PtflopsView", "ptflops_view"]


@dataclass
class PtflopsView:
    """``total``: ptflops' ``flops_count`` (module sum / batch + functional sum, a float);
    ``rows``: module path -> ``(accumulated MACs / batch, accumulated params)``;
    ``zero_op_types``: the module type names ``verbose`` warns about, in ptflops' order."""

    total: float
    rows: Dict[str, tuple] = field(default_factory=dict)
    zero_op_types: List[str] = field(default_factory=list)


def _hook_part(rec: OpRecord, macs: int, convention: str) -> int:
    """The share of a record's MACs that ptflops' module hook (not a patched functional) adds."""
    if rec.op_type.startswith("custom:"):
        return macs
    if MODULE_ATTR not in rec.attrs:
        return 0
    if rec.attrs.get(FUNCTIONAL_ON_ATTR):
        attrs = {k: v for k, v in rec.attrs.items() if k != FUNCTIONAL_ON_ATTR}
        cost = price(replace(rec, attrs=attrs), convention)
        return cost.macs if cost is not None else 0
    return macs


def _post_order(module: Any) -> Iterable[Any]:
    for child in module.children():
        yield from _post_order(child)
    yield module


def ptflops_view(report: Aggregate, model: Any, batch: int = 1, ignore_modules: Sequence[Any] = (),
                 custom_modules_hooks: Optional[Dict[Any, Any]] = None) -> PtflopsView:
    """ptflops' sums for ``report`` (an eager count of ``model`` under ``"ptflops"``)."""
    import oneflow.nn as nn

    custom = dict(custom_modules_hooks or {})
    ignore = tuple(t for t in ignore_modules if isinstance(t, type))
    modules = dict(model.named_modules())

    def supported(m: Any) -> bool:  # is_supported_instance, pytorch_engine.py:306-309
        return peer_type_name(type(m)) in HOOKED or type(m) in custom

    hook: Dict[str, int] = {}
    functional = 0
    for rec, cost in report.entries:
        macs = cost.macs if cost is not None else 0
        part = _hook_part(rec, macs, report.convention)
        hook[rec.module] = hook.get(rec.module, 0) + part
        functional += macs - part

    rows: Dict[str, tuple] = {}

    def accumulate(path: str) -> tuple:
        m = modules[path]
        if supported(m):
            own = (0, 0) if type(m) in ignore else (hook.get(path, 0), report.modules[path].trainable_params)
            rows[path] = (own[0] / batch, own[1])
            return own
        flops = params = 0
        for _, child in report.modules[path].children:
            f, p = accumulate(child)
            flops, params = flops + f, params + p
        rows[path] = (flops / batch, params)
        return flops, params

    root_flops, _ = accumulate("")
    seen: set = set()
    zero: List[str] = []
    for m in _post_order(model):  # start_flops_count's self.apply: children first
        t = type(m)
        if t not in ignore and not supported(m) and t not in (nn.Sequential, nn.ModuleList) and t not in seen:
            zero.append(t.__name__)
        seen.add(t)
    return PtflopsView(root_flops / batch + functional, rows, zero)
