"""The per-layer printout, in ptflops' layout: the module tree as ``repr(model)`` prints it,
each module's line starting with its params, % of params, MACs and % of MACs."""
from __future__ import annotations

import sys
from typing import Optional, TextIO

from .report import Report
from .units import flops_to_string, params_to_string


def _indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + ln for ln in lines[1:]])


def module_tree_text(report: Report, units: Optional[str] = None, precision: int = 2) -> str:
    """The module tree with statistics, as a string."""
    by_module = report.by_module()
    total_macs = max(report.macs, 1)
    total_params = max(report.params, 1)

    def stats(path: str) -> str:
        info = report.modules[path]
        macs = by_module.get(path).macs if path in by_module else 0
        parts = [
            params_to_string(info.params, units="M", precision=precision),
            "{:.3%} Params".format(info.params / total_params),
            flops_to_string(macs, units=units, precision=precision),
            "{:.3%} MACs".format(macs / total_macs),
        ]
        if info.extra_repr:
            parts.append(info.extra_repr)
        return ", ".join(parts)

    def render(path: str) -> str:
        info = report.modules[path]
        extra_lines = stats(path).split("\n")
        child_lines = [f"({name}): " + _indent(render(child), 2) for name, child in info.children]
        lines = extra_lines + child_lines
        main = info.type_name + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    return render("")


def print_report(
    report: Report, ost: TextIO = sys.stdout, units: Optional[str] = None, precision: int = 2
) -> None:
    """Print the per-layer statistics of ``report`` to ``ost``, then its unsupported ops."""
    print(module_tree_text(report, units=units, precision=precision), file=ost)
