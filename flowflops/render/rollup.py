"""Roll-ups as text: cost by module type, and the top types at each depth."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from .units import flops_to_string, params_to_string

__all__ = ["type_table", "depth_type_text"]


def type_table(types: Dict[str, Any], per_depth: Dict[int, List[Any]], total_macs: int,
               k: Optional[int] = None) -> str:
    """One row per module type (:func:`flowflops.analysis.rollup.by_type`): instances, own
    MACs and share, MACs inside its instances, parameters; the model's own ops last; then
    :func:`depth_type_text`."""
    from prettytable import PrettyTable

    t = PrettyTable(["module type", "instances", "own MACs", "% MACs", "MACs inside", "params"])
    t.align = "r"
    t.align["module type"] = "l"
    rows = [(name, v) for name, v in types.items() if name]
    if k is not None:
        rows = rows[:k]
    whole = max(total_macs, 1)
    for name, v in rows:
        t.add_row([name, v.count, flops_to_string(v.cost.macs), f"{v.cost.macs / whole:.2%}",
                   flops_to_string(v.inclusive.macs), params_to_string(v.params)])
    root = types.get("")
    if root is not None:
        t.add_row([f"(the model's own ops, {root.type_name})", 1, flops_to_string(root.cost.macs),
                   f"{root.cost.macs / whole:.2%}", "", ""])
    return t.get_string() + "\n" + depth_type_text(per_depth)


def depth_type_text(per_depth: Dict[int, List[Any]]) -> str:
    """DeepSpeed's view: per depth, the module types with the most MACs there."""
    lines = ["Top module types by MACs at each depth:"]
    for d, rows in per_depth.items():
        items = ", ".join(f"{r.type_name} x{r.count}: {flops_to_string(r.inclusive.macs)}" for r in rows)
        lines.append(f"  depth {d}: {items}")
    return "\n".join(lines) + "\n"
