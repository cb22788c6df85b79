"""A drop-in for thop 0.1.1 (``from thop import profile, clever_format``)::

    from flowflops.thop import profile, clever_format
    macs, params = profile(model, inputs=(x,))
    macs, params = clever_format([macs, params], "%.3f")

``profile`` runs ``model(*inputs)`` once in eval mode under ``no_grad`` with flowflops' eager
engine (module hooks only, as thop) and returns ``(MACs, params)`` for the inputs as given,
MACs in thop's convention (:mod:`flowflops.conventions`, ``"thop"``: conv and linear without
bias adds, ReLU, ReLU6 and max pooling 0, BatchNorm 4 per element with affine, 2 without).
flowflops' own convention (``flowflops.profile``) counts bias adds and activations 1 per output
element and BatchNorm 2 / 1. Where it differs from thop 0.1.1 (see the README's peer table):

- the counts are ints (thop: floats);
- ``params`` are thop's: the parameters (all, trainable or not) of each module of exactly a
  type thop registers (or a ``custom_ops`` type) that ran, found by thop's walk over the
  *children* of the model (thop/profile.py:214-233): a bare ``nn.Conv2d`` counts 0, as do a
  ``GroupNorm`` (no thop rule) and a layer that never ran;
- ``custom_ops`` hooks ``fn(m, x, y)`` may add to ``m.total_ops`` (a number or a one-element
  tensor, as thop's do), add to ``m.__flops__`` or return the MACs; a type with a custom op
  is priced by it alone, children included (thop: the same for types it hooks);
- ``verbose`` prints ``[INFO] Customize rule ...`` for each custom op type, and
  ``report_missing`` ``[WARN] Cannot find rule for ...`` for each type counted as zero; thop's
  ``[INFO] Register ...`` lines for its built-in rules are not printed.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import oneflow.nn as nn

from ..api import profile as _profile
from ..conventions import peer_type_name
from ..formulas.peers.thop import REGISTERED
from ..render.export import missing_rule_warnings
from ..result import Report
from ..render.units import clever_format
from . import utils  # noqa: F401  (thop.utils)

LayerInfo = Dict[str, Tuple[int, int, Dict[str, Any]]]

__all__ = ["profile", "clever_format", "utils"]


def _thop_params(model: nn.Module, report: Report, custom_ops: Dict[type, Callable]) -> Tuple[int, LayerInfo]:
    """thop's ``dfs_count`` (thop/profile.py:214-233): ``(params, ret_layer_info)`` over the
    model's children. A child of exactly a registered type (or a ``custom_ops`` type), other than
    a Sequential or ModuleList, is a leaf: its MACs, and its parameters if it ran (thop's
    ``count_parameters`` is a forward hook); any other child is walked into."""
    by_module = report.by_module()
    ran = {rec.module for rec, _ in report.entries}

    def called(path: str) -> bool:
        return any(r == path or r.startswith(path + ".") for r in ran)

    def walk(module: nn.Module, path: str) -> Tuple[int, LayerInfo]:
        total = 0
        info: LayerInfo = {}
        for name, child in module.named_children():
            sub = f"{path}.{name}" if path else name
            leaf = (type(child) in custom_ops or peer_type_name(type(child)) in REGISTERED) and not isinstance(
                child, (nn.Sequential, nn.ModuleList))
            if leaf:
                params = sum(p.numel() for p in child.parameters()) if called(sub) else 0
                info[name] = (by_module[sub].macs, params, {})
            else:
                params, inner = walk(child, sub)
                info[name] = (by_module[sub].macs, params, inner)
            total += params
        return total, info

    return walk(model, "")


def profile(
    model: nn.Module,
    inputs: Sequence[Any],
    custom_ops: Optional[Dict[type, Callable]] = None,
    verbose: bool = True,
    ret_layer_info: bool = False,
    report_missing: bool = False,
) -> Union[Tuple[int, int], Tuple[int, int, LayerInfo]]:
    """thop's ``profile``: ``(MACs, params)`` of ``model(*inputs)`` (see the module docstring
    for where the numbers differ from thop's); with ``ret_layer_info`` also thop's nested
    per-child dict."""
    if not isinstance(inputs, (tuple, list)):
        raise TypeError(
            f"inputs must be a tuple of the model's positional inputs, got {type(inputs).__name__}: "
            "e.g. profile(model, inputs=(x,))"
        )
    custom_ops = dict(custom_ops or {})
    if verbose:
        for t, fn in custom_ops.items():
            print("[INFO] Customize rule %s() %s." % (getattr(fn, "__qualname__", fn), t))
    args = tuple(inputs)
    report = _profile(model, None, input_constructor=lambda _: args, custom_modules_hooks=custom_ops,
                      convention="thop", backend_specific_config={"count_functional": False})
    if report_missing:
        for line in missing_rule_warnings(report):
            print(line)
    params, info = _thop_params(model, report, custom_ops)
    if ret_layer_info:
        return report.macs, params, info
    return report.macs, params
