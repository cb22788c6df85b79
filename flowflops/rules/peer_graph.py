"""A compiled graph's records, marked the way the peer conventions read eager records.

The module-hook peers (ptflops' pytorch backend, thop) price a layer by the exact type of the
module that ran it, and fvcore recognises a normalisation by the aten op the layer calls. An
eager count marks each record with the module (or the function) that made it; a compiled
graph only knows the module scope of each op. Here each graph record is marked from its scope:
ops in the scope of a module whose type is exactly one of OneFlow's classes as made by that
module (``_module``), the others as functional calls or operators made inside it (``_in``,
``_fn``). With those marks every peer rule prices graph records as it prices eager ones.

What a compiled graph cannot tell is reported by :func:`graph_caveats` (a warning naming the
convention, the engine and the way out), never priced differently in silence:

- recurrent layers (``nn.RNN``/``GRU``/``LSTM`` and cells): the graph unrolls them into matrix
  products, while the peers price the whole layer by their own formula (ptflops, thop) or as
  PyTorch's CPU kernels (aten, torch: the LSTM counts 0). Not under fvcore, which has no handle
  for any of them: the products of the unrolled layer are priced 0 there too;
- under ``ptflops``: ``torch.add``/``torch.mul``/``torch.matmul`` calls are counted and the
  ``+``/``*``/``@`` operators are not, which a graph does not tell apart.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

import oneflow.nn as nn

from ..conventions import FUNCTION_ATTR, FUNCTIONAL_ON_ATTR, INSIDE_ATTR, MODULE_ATTR, peer_type_name
from ..records import OpRecord

__all__ = ["PEERS", "mark_graph_records", "graph_caveats"]

PEERS = ("ptflops", "ptflops-aten", "fvcore", "thop", "torch")
_RECURRENT = tuple(getattr(nn, n) for n in ("RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"))
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_OPERATOR_LIKE = {"broadcast_add", "broadcast_mul", "add_n", "scalar_add", "scalar_mul",
                  "matmul", "batch_matmul", "broadcast_matmul"}


def _innermost(path: str, types: Dict[str, str]) -> Optional[str]:
    while True:
        if path in types:
            return types[path]
        if not path:
            return None
        path = path.rpartition(".")[0]


def _linear_on_transposed(recs: List[OpRecord], i: int, producers: Dict[str, str]) -> bool:
    """Whether the matrix product just before ``recs[i]`` (a Linear's bias add) reads the
    output of a transpose: a non-contiguous input, which torch runs as mm + add."""
    for j in range(i - 1, max(i - 4, -1), -1):
        r = recs[j]
        if r.module == recs[i].module and r.op_type in ("matmul", "broadcast_matmul"):
            ins: Tuple[str, ...] = tuple(r.attrs.get("_in_tensors") or ())
            return bool(ins) and producers.get(ins[0]) == "transpose"
    return False


def mark_graph_records(model: Any, records: List[OpRecord], count_functional: bool = True) -> List[OpRecord]:
    """``records`` of a graph count of ``model`` (an ``nn.Module``) with the eager engine's
    marks (see the module docstring); unchanged when ``model`` is not an ``nn.Module``."""
    if not isinstance(model, nn.Module):
        return records
    types = {path: peer_type_name(type(m)) for path, m in model.named_modules()}
    # convolution layers with padding="same"/"valid" (torch traces them as aten::_convolution_mode;
    # OneFlow 0.9 keeps such a padding as the list get_padding() makes, a number as a tuple)
    string_padding = {path for path, m in model.named_modules()
                      if isinstance(m, _CONVS) and isinstance(getattr(m, "padding", None), (str, list))}
    producers: Dict[str, str] = {}
    for r in records:
        for t in r.attrs.get("_out_tensors") or ():
            producers[t] = r.op_type
    out = []
    for i, r in enumerate(records):
        name = _innermost(r.module, types)
        extra: Dict[str, Any]
        if name is not None and not name.startswith("~"):
            extra = {MODULE_ATTR: name}
            if count_functional:
                extra[FUNCTIONAL_ON_ATTR] = True
            if name == "Linear" and r.op_type == "broadcast_add" and _linear_on_transposed(records, i, producers):
                extra["contiguous"] = False
            if r.module in string_padding and r.op_type in ("conv1d", "conv2d", "conv3d"):
                extra["string_padding"] = True
        else:
            # the function a user would have called (``max_pool_2d`` -> ``max_pool2d``)
            extra = {INSIDE_ATTR: name or "~Module", FUNCTION_ATTR: re.sub(r"_pool_(\d)d$", r"_pool\1d", r.op_type)}
        out.append(OpRecord(r.op_type, r.module, r.inputs, r.outputs, {**r.attrs, **extra}, r.name))
    return out


def graph_caveats(model: Any, records: List[OpRecord], convention: str) -> List[str]:
    """Why a graph count under ``convention`` may not be the peer's number (empty: it is)."""
    if convention not in PEERS or not isinstance(model, nn.Module):
        return []
    notes = []
    rnn = sorted({type(m).__name__ for m in model.modules() if isinstance(m, _RECURRENT)})
    if rnn and convention != "fvcore":  # fvcore prices the whole layer 0, which the graph's products get too
        notes.append(
            f"the {convention} convention cannot be reproduced in graph mode for {', '.join(rnn)}: "
            "the compiled graph unrolls a recurrent layer into matrix products, which the peer "
            "prices by its own formula for the whole layer; count with mode='eager' for the "
            "peer's number"
        )
    if convention == "ptflops":
        ops = sorted({r.op_type for r in records
                      if r.op_type in _OPERATOR_LIKE and FUNCTION_ATTR in r.attrs})
        if ops:
            notes.append(
                "the ptflops convention cannot be reproduced in graph mode for the "
                f"{', '.join(ops)} ops made outside modules: ptflops counts torch.add/mul/matmul "
                "calls but not the +, * and @ operators, which a compiled graph does not tell "
                "apart (counted here as operators, 0); count with mode='eager' for ptflops' number"
            )
    return notes
