"""ptflops 0.7.5's ``get_model_complexity_info`` (ptflops/flops_counter.py:25-129) over
flowflops' eager engine, under the ``"ptflops"`` (pytorch backend) or ``"ptflops-aten"``
(aten backend) convention.

As ptflops: ``input_res`` is the input shape without the batch (the input is a tensor of shape
``(1, *input_res)`` in the parameters' dtype and device; an ``input_constructor``'s result is
passed as the one positional argument, or as keyword arguments when it is a dict); the model's
module sum is divided by the batch size (pytorch backend); ``verbose`` lists module types
counted as zero (pytorch) or prints each op counted as zero (aten); ``print_per_layer_stat``
prints ptflops' per-layer tree (pytorch: module hooks only in the rows, the functionals in the
total, so a ReLU row shows half of what the ReLU adds) or its per-module op table (aten);
when the forward fails the exception and its traceback are printed and ``(None, None)`` is
returned. The counts are ints, params the trainable ones.

What differs: the aten backend's ``ignore_modules`` / ``custom_modules_hooks`` take OneFlow op
type names (``"matmul"``, ``"conv2d"``) instead of ``torch.ops.aten`` ops, and its printout
names OneFlow op types; a module's hook is matched by ``isinstance`` in ``custom_modules_hooks``
(ptflops: by exact type).
"""
from __future__ import annotations

import sys
import traceback
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple, Union

import oneflow as flow
import oneflow.nn as nn

from ..analysis.ptflops_view import ptflops_view
from ..api import profile
from ..backends import FLOPS_BACKEND
from ..registry import formula_of, is_zero_rule
from ..render.ptflops_text import aten_table, ptflops_tree, zero_op_lines
from ..render.units import flops_to_string, params_to_string
from ..runtime.interrupts import from_signal

__all__ = ["get_model_complexity_info", "FLOPS_BACKEND"]

#: records that ptflops' aten backend counts inside the product before them (convolution's
#: bias, addmm's)
_BIAS_OPS = ("bias_add", "broadcast_add")


def _default_batch(model: nn.Module, input_res: Tuple[int, ...]) -> Any:
    """``torch.ones(()).new_empty((1, *input_res))`` in the first parameter's dtype and device
    (a zero tensor here: the values never change a count)."""
    try:
        p = next(model.parameters())
        return flow.zeros((1, *input_res), dtype=p.dtype, device=p.device)
    except StopIteration:
        return flow.zeros((1, *input_res))


def _failed(err: BaseException) -> Tuple[None, None]:
    if from_signal(err):  # the user's signal handler's own exception (a SIGTERM's Preempted):
        raise err         # ptflops prints an error and goes on; a preempted job must stop
    print("Flops estimation was not finished successfully because of"
          f" the following exception: \n{type(err)}: {err}")
    traceback.print_exc()
    return None, None


def get_model_complexity_info(
    model: nn.Module,
    input_res: Tuple[int, ...],
    print_per_layer_stat: bool = True,
    as_strings: bool = True,
    input_constructor: Optional[Callable[[Tuple], Any]] = None,
    ost: TextIO = sys.stdout,
    verbose: bool = False,
    ignore_modules: List[Any] = [],
    custom_modules_hooks: Dict[Any, Any] = {},
    backend: Union[str, FLOPS_BACKEND] = FLOPS_BACKEND.PYTORCH,
    flops_units: Optional[str] = None,
    param_units: Optional[str] = None,
    output_precision: int = 2,
    backend_specific_config: Dict = {},
) -> Tuple[Union[str, int, None], Union[str, int, None]]:
    """ptflops' ``get_model_complexity_info``: ``(MACs, params)`` of ``model`` on a batch of 1
    of shape ``input_res`` (no batch dimension), as ints or, with ``as_strings``, as ptflops
    formats them; ``(None, None)`` when the model fails (see the module docstring)."""
    assert type(input_res) is tuple
    assert len(input_res) >= 1
    assert isinstance(model, nn.Module)
    chosen = FLOPS_BACKEND(backend)
    batch = input_constructor(input_res) if input_constructor else _default_batch(model, input_res)
    args = batch if isinstance(batch, dict) else (batch,)
    if chosen == FLOPS_BACKEND.PYTORCH:
        flops_count, params_count = _pytorch(model, input_res, args, print_per_layer_stat, ost, verbose, ignore_modules,
                                             custom_modules_hooks, output_precision, flops_units, param_units,
                                             backend_specific_config)
    else:
        flops_count, params_count = _aten(model, input_res, args, print_per_layer_stat, ost, verbose, ignore_modules,
                                          custom_modules_hooks, output_precision, flops_units,
                                          backend_specific_config)
    if as_strings and flops_count is not None and params_count is not None:
        return (flops_to_string(flops_count, units=flops_units, precision=output_precision),
                params_to_string(params_count, units=param_units, precision=output_precision))
    return flops_count, params_count


def _pytorch(model: nn.Module, input_res: Tuple[int, ...], args: Any, print_per_layer_stat: bool, ost: TextIO,
             verbose: bool,
             ignore_modules: List[Any], custom: Dict[Any, Any], precision: int, flops_units: Optional[str],
             param_units: Optional[str], config: Dict) -> Tuple[Optional[int], Optional[int]]:
    if isinstance(args, dict):
        print("Warning! No positional inputs found for a module, assuming batch size is 1.")
        batch = 1
    else:
        first = args[0]
        batch = len(first) if hasattr(first, "__len__") else 1
    cfg = {"count_functional": bool(dict(config).get("count_functional", True))}
    try:
        report = profile(model, input_res, input_constructor=lambda _: args, mode="eager", convention="ptflops",
                         backend_specific_config=cfg, ignore_modules=list(ignore_modules),
                         custom_modules_hooks=dict(custom))
    except Exception as err:  # ptflops: the exception and its traceback printed, (None, None)
        return _failed(err)
    view = ptflops_view(report, model, batch, ignore_modules, custom)
    if verbose:
        for line in zero_op_lines(view.zero_op_types):
            print(line, file=ost)
    if print_per_layer_stat:
        print(ptflops_tree(report, view, flops_units, param_units, precision), file=ost)
    return int(view.total), report.trainable_params


def _aten(model: nn.Module, input_res: Tuple[int, ...], args: Any, print_per_layer_stat: bool, ost: TextIO,
          verbose: bool,
          ignore_ops: List[Any], custom: Dict[Any, Any], precision: int, flops_units: Optional[str],
          config: Dict) -> Tuple[Optional[int], Optional[int]]:
    try:
        report = profile(model, input_res, input_constructor=lambda _: args, mode="eager",
                         convention="ptflops-aten", backend_specific_config={"count_functional": True},
                         ignore_modules=list(ignore_ops), custom_modules_hooks=dict(custom))
    except Exception as err:
        return _failed(err)
    hooked = {k for k in custom if isinstance(k, str)}

    def is_priced(op_type: str) -> bool:  # an op type ptflops' aten backend has a formula for
        fn = formula_of(op_type, "ptflops-aten")
        return op_type in hooked or (fn is not None and not is_zero_rule(fn))
    ignored = {k for k in ignore_ops if isinstance(k, str)}
    table: Dict[str, Dict[str, int]] = {}
    last_product = ""
    for rec, cost in report.entries:
        if rec.op_type in ignored:
            print(f"Warning: {rec.op_type} operation is ignored", file=ost)
        elif is_priced(rec.op_type):
            macs = cost.macs if cost is not None else 0
            # a conv's bias and a Linear's bias (addmm) are part of the product's aten op
            name = last_product if rec.op_type in _BIAS_OPS and last_product else rec.op_type
            if rec.op_type not in _BIAS_OPS:
                last_product = rec.op_type
            if rec.op_type in _BIAS_OPS and not macs:
                continue
            for where in ("Global",) + ((rec.module.split(".")[0],) if rec.module else ()):
                ops = table.setdefault(where, {})
                ops[name] = ops.get(name, 0) + macs
        elif verbose:
            print(f"Warning: {rec.op_type} operation is treated as a zero-op", file=ost)
    total = sum(table.get("Global", {}).values())
    if print_per_layer_stat:
        for line in aten_table(total, table, flops_units, precision):
            print(line, file=ost)
    return total, report.trainable_params
