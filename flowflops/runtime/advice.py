"""What went wrong when a model could not be run or compiled, and what to do about it: the
text of the :class:`flowflops.CountError` a failed count raises (a helper of the renderers).

Each cause OneFlow 0.9 gives is told as such, with advice that fits it:

- a missing CPU kernel (``Cannot find the kernel matching ...``, ``op_type_name: nms``): the
  model cannot run eagerly on the CPU; graph mode compiles without running; a detector's
  backbone can be counted on its own;
- float16/bfloat16 parameters on the CPU (no kernels at all);
- an op ``nn.Graph`` cannot trace (a tensor read as a Python number with ``.item()``, boolean
  mask indexing, data-dependent control flow): the line of the model's code that did it, and
  eager mode as the way out;
- ``isinstance``/``super()`` failing on nn.Graph's proxies of the modules;
- a shape problem: only then the advice to check the input shape.
"""
from __future__ import annotations

import os
import re
import traceback
from typing import Any, Optional

__all__ = ["model_frame", "eager_advice", "graph_advice"]

_NO_KERNEL = re.compile(r"Cannot find the kernel matching", re.I)
_OP_TYPE = re.compile(r"op_type_name:\s*(\w+)")
_DEVICE = re.compile(r"DeviceType_Name:\s*k?(\w+)")
_UNTRACEABLE = (
    ("Only eager scalar tensor support GetItem", "a tensor read as a Python number (.item(), "
     "int(), float() or a tensor used as an index)"),
    ("only valid in eager mode", "an operation OneFlow allows only in eager mode (such as "
     "indexing with a boolean mask)"),
    ("numpy() is not", "a tensor converted to numpy"),
    ("Boolean value of Tensor", "a tensor used as a Python bool (data-dependent control flow)"),
)
_PROXY = re.compile(r"super\(type, obj\): obj must be an instance|isinstance", re.I)
_SHAPE = re.compile(r"shape|dimension|size mismatch|sizes|doesn't match|broadcast|channels|"
                    r"\(\d+ vs\.? \d+\)|Infer\w*(TensorDesc|Shape)", re.I)
#: Errors that say something about the values or the code, never about the input shape.
_NOT_SHAPE = (AttributeError, TypeError, NameError, ImportError, KeyError)


def _shape_problem(err: BaseException) -> bool:
    return not isinstance(err, _NOT_SHAPE) and bool(_SHAPE.search(str(err)))


def model_frame(err: BaseException) -> Optional[str]:
    """``file:line in function`` of the innermost frame of the traceback that is the model's
    code (not OneFlow's, flowflops' or Python's own)."""
    frames = traceback.extract_tb(err.__traceback__) if err.__traceback__ else []
    skip = (os.sep + "oneflow" + os.sep, os.sep + "flowflops" + os.sep, os.sep + "contextlib.py")
    for fr in reversed(frames):
        if not any(s in fr.filename for s in skip):
            return f"{fr.filename}:{fr.lineno} in {fr.name}"
    return None


def _backbone_hint(model: Any) -> str:
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        return ""
    return (f" The {type(backbone).__name__} backbone runs on its own: count it with "
            "profile(model.backbone, input_res).")


def eager_advice(err: BaseException, model: Any, half_on_cpu: bool = False, shape_hint: str = "") -> str:
    """The sentence(s) after an eager failure's message: the cause and what to do
    (``shape_hint``: more on the input shape, said only when the shape is the problem)."""
    text = str(err)
    if _NO_KERNEL.search(text):
        op = _OP_TYPE.search(text)
        device = _DEVICE.search(text)
        where = device.group(1) if device else "this device"
        name = op.group(1) if op else "one of the model's ops"
        return (f" OneFlow 0.9 has no {where} kernel for the op '{name}', so the model cannot run "
                f"eagerly here: count it with mode='graph' (compiles without running) or run it "
                f"where '{name}' has a kernel." + _backbone_hint(model))
    if half_on_cpu:
        return (" The model is float16/bfloat16 on the CPU, where oneflow has no kernels: "
                "count it with mode='graph', which compiles without running.")
    frame = model_frame(err)
    at = f" (at {frame})" if frame else ""
    if _shape_problem(err):
        return f"{at}. Check that the shape, batch included, is one the model accepts{shape_hint}."
    return f"{at}. The model's forward raised this itself; fix the call or the model."


def graph_advice(err: BaseException, model: Any = None) -> str:
    """The sentence(s) after a graph-compile failure's message: the cause and what to do."""
    text = str(err)
    frame = model_frame(err)
    at = f" at {frame}" if frame else ""
    for needle, what in _UNTRACEABLE:
        if needle in text:
            return (f". nn.Graph cannot trace {what}{at}: OneFlow 0.9 cannot compile this model; "
                    "count it with mode='eager' instead." + (_backbone_hint(model) if model is not None else ""))
    if _PROXY.search(text):
        return (f". nn.Graph runs the forward on proxies of the modules and a type check on one "
                f"failed{at}; count it with mode='eager' instead.")
    if _shape_problem(err):
        return (f"{' (' + frame + ')' if frame else ''}. Check that the shape, batch included, is "
                "one the model accepts; or count with mode='eager'.")
    return ". Graph mode needs a model nn.Graph can trace; count it with mode='eager' instead."
