"""ptflops 0.7.5's printed words: its ``verbose`` zero-op list, its per-layer printout (the
model's repr with each module's params, % params, MACs, % MACs and then its own extra repr,
pytorch_engine.py:111-145) and the aten backend's per-module op table (aten_engine.py:60-72).
Reads :class:`flowflops.analysis.ptflops_view.PtflopsView` and reports; computes nothing."""
from __future__ import annotations

from typing import Dict, List, Optional

from ..analysis.ptflops_view import PtflopsView
from ..report import Aggregate

from .units import flops_to_string, params_to_string

__all__ = ["zero_op_lines", "ptflops_tree", "aten_table"]


def zero_op_lines(type_names: List[str]) -> List[str]:
    """``Warning: module X is treated as a zero-op.``, once per type."""
    return [f"Warning: module {name} is treated as a zero-op." for name in type_names]


def _indent(text: str) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0]] + ["  " + ln for ln in lines[1:]])


def ptflops_tree(report: Aggregate, view: PtflopsView, flops_units: Optional[str] = None,
                 param_units: Optional[str] = None, precision: int = 2) -> str:
    """ptflops' ``print_model_with_flops``: ``repr(model)`` with each module's line
    ``params, x% Params, MACs, y% MACs, <extra_repr>`` (the last item even when empty)."""
    total_flops = view.total if view.total >= 1 else 1
    total_params = report.trainable_params if report.trainable_params >= 1 else 1
    warnings: List[str] = []

    def stats(path: str) -> str:
        flops, params = view.rows.get(path, (0.0, 0))
        if params > total_params and not warnings:
            warnings.append("Warning: parameters of some of the modules were counted twice because of "
                            "multiple links to the same modules. Extended per layer parameters num "
                            "statistic could be unreliable.")
        return ", ".join([
            params_to_string(params, units=param_units, precision=precision),
            "{:.3%} Params".format(params / total_params),
            flops_to_string(flops, units=flops_units, precision=precision),
            "{:.3%} MACs".format(flops / total_flops),
            report.modules[path].extra_repr,
        ])

    def render(path: str) -> str:
        info = report.modules[path]
        extra = str(stats(path)).split("\n")
        children = [f"({name}): " + _indent(render(child)) for name, child in info.children]
        lines = extra + children
        main = str(info.type_name) + "("
        if len(extra) == 1 and not children:
            main += extra[0]
        else:
            main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    text = render("")
    return "\n".join(warnings + [text])


def aten_table(total: int, by_module: Dict[str, Dict[str, int]], units: Optional[str] = None,
               precision: int = 2) -> List[str]:
    """The aten backend's print_per_layer_stat lines: ``Total:...``, then per module
    (``Global`` and the model's direct children) ``Module:  name`` and one line per op."""
    lines = ["Total:" + flops_to_string(total, units=units, precision=precision)]
    for mod, ops in by_module.items():
        lines.append(f"Module:  {mod}")
        lines.extend(f"{op}: " + flops_to_string(v, units=units, precision=precision) for op, v in ops.items())
        lines.append("")
    return lines
