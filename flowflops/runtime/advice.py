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
- a dtype mismatch (OneFlow does not promote mixed dtypes): never a shape hint for it;
- OneFlow 0.9.0's recurrent cells called without a state (a bug of theirs): pass the state;
- a shape problem: only then the advice to check the input shape;
- advice to count with the other engine only where that engine does not fail on the model
  too (:func:`unless_it_fails_too`: a detector fails eagerly on ``nms`` and in graph mode on
  ``.item()``).
"""
from __future__ import annotations

import os
import re
import traceback
from typing import Any, Optional

from .interrupts import from_signal

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
#: A dtype mismatch (``InferDataType Failed. Expected kInt64, but got kFloat``): the shape is
#: not the problem, whatever the traceback's words
_DTYPE = re.compile(r"InferDataType|Expected k\w+, but got k\w+|expected (scalar type|dtype)|"
                    r"data ?type mismatch|dtype mismatch", re.I)


#: OneFlow's "not implemented" text: the missing name and a request to file an issue
_NOT_IMPLEMENTED = re.compile(r"^\s*(\S+) is not implemented, please submit an issue at\b.*?"
                              r"(?:system information\.|$)", re.S)
_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def reason_lines(err: BaseException) -> "tuple[str, str]":
    """OneFlow's reason as ``(first line, the rest)``: the first non-empty line of ``err``'s
    text (its colour codes taken out), and the lines after it with the newline before them
    (``""`` where there are none). A name OneFlow 0.9 lacks is said in one line, "X is not
    implemented in OneFlow 0.9", without its request to file an issue (which runs over three
    lines). An error that names its cause in its first line is told on one line by the
    command, with the advice after it on the same line."""
    text = _COLOURS.sub("", str(err)).strip()
    missing = _NOT_IMPLEMENTED.match(text)
    if missing:
        rest = text[missing.end():].strip()
        return f"{missing.group(1)} is not implemented in OneFlow 0.9", ("\n" + rest if rest else "")
    first, _, rest = text.partition("\n")
    return first.strip(), ("\n" + rest.strip() if rest.strip() else "")


def _shape_problem(err: BaseException) -> bool:
    return not isinstance(err, _NOT_SHAPE) and not _DTYPE.search(str(err)) and bool(_SHAPE.search(str(err)))


def _dtype_advice(err: BaseException, at: str) -> str:
    return (f"{at}. An op was given a tensor of a dtype it does not take (OneFlow 0.9 does not "
            "promote mixed dtypes as PyTorch does): cast the operands to one dtype in the model's code.")


def model_frame(err: BaseException) -> Optional[str]:
    """``file:line in function`` of the innermost frame of the traceback that is the model's
    code (not OneFlow's, flowflops' or Python's own)."""
    frames = traceback.extract_tb(err.__traceback__) if err.__traceback__ else []
    skip = (os.sep + "oneflow" + os.sep, os.sep + "flowflops" + os.sep, os.sep + "contextlib.py")
    for fr in reversed(frames):
        if not any(s in fr.filename for s in skip):
            return f"{fr.filename}:{fr.lineno} in {fr.name}"
    return None


def _cell_without_state(err: BaseException) -> bool:
    """OneFlow 0.9.0's ``nn.RNNCell``/``GRUCell``/``LSTMCell`` called without a state: their
    forward makes the zero state only after ``input.is_global()``, which calls a bool property
    (oneflow/nn/modules/rnn.py), so they raise ``TypeError: 'bool' object is not callable``."""
    frames = traceback.extract_tb(err.__traceback__) if err.__traceback__ else []
    return (isinstance(err, TypeError) and "'bool' object is not callable" in str(err) and bool(frames)
            and frames[-1].filename.endswith(os.path.join("oneflow", "nn", "modules", "rnn.py")))


def _cell_advice(at: str) -> str:
    return (f"{at}: OneFlow 0.9.0's nn.RNNCell, GRUCell and LSTMCell raise this whenever they are called "
            "without a state (their forward calls the bool `input.is_global` to make the zero state). "
            "Pass the state: cell(x, flow.zeros(batch, cell.hidden_size)), for an LSTMCell a pair (h, c).")


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
    if _cell_without_state(err):
        return _cell_advice(at)
    if _DTYPE.search(text):
        return _dtype_advice(err, at)
    if _shape_problem(err):
        return f"{at}. Check that the shape, batch included, is one the model accepts{shape_hint}."
    if _NOT_IMPLEMENTED.match(_COLOURS.sub("", text).strip()):
        return f"{at}: a gap in OneFlow, not in the model or its inputs."
    return f"{at}. The model's forward raised this itself; fix the call or the model."


def graph_advice(err: BaseException, model: Any = None) -> str:
    """The sentence(s) after a graph-compile failure's message: the cause and what to do."""
    text = str(err)
    frame = model_frame(err)
    at = f" at {frame}" if frame else ""
    if _cell_without_state(err):
        return _cell_advice(f" ({frame})" if frame else "")
    for needle, what in _UNTRACEABLE:
        if needle in text:
            return (f". nn.Graph cannot trace {what}{at}: OneFlow 0.9 cannot compile this model; "
                    "count it with mode='eager' instead." + (_backbone_hint(model) if model is not None else ""))
    if _PROXY.search(text):
        return (f". nn.Graph runs the forward on proxies of the modules and a type check on one "
                f"failed{at}; count it with mode='eager' instead.")
    if _DTYPE.search(text):
        return _dtype_advice(err, f" ({frame})" if frame else "")
    if _shape_problem(err):
        return (f"{' (' + frame + ')' if frame else ''}. Check that the shape, batch included, is "
                "one the model accepts; or count with mode='eager'.")
    return ". Graph mode needs a model nn.Graph can trace; count it with mode='eager' instead."


def _engine_cause(err: BaseException) -> str:
    """One line for why ``err`` stopped an engine: OneFlow's cause where it is one advice
    knows, else the error's type and first line, and where in the model's code."""
    text = str(err)
    frame = model_frame(err)
    at = f" at {frame}" if frame else ""
    if _NO_KERNEL.search(text):
        op = _OP_TYPE.search(text)
        device = _DEVICE.search(text)
        return (f"OneFlow 0.9 has no {device.group(1) if device else ''} kernel for the op "
                f"'{op.group(1) if op else '?'}'").replace("no  kernel", "no kernel")
    for needle, what in _UNTRACEABLE:
        if needle in text:
            return f"nn.Graph cannot trace {what}{at}"
    return f"{type(err).__name__}: {reason_lines(err)[0][:200]}{at}"


#: the advice to count with a mode, in each phrasing advice and the engines give it (the one
#: that leaves another way out, "... or run it where ...", first)
_ADVICE = {
    mode: (re.compile(r"count(?: it)? with mode='" + mode + r"'(?: \([^)]*\))? or (?=run)"),
           re.compile(r"[;,:]? (?:or )?count(?: it)? with mode='" + mode
                      + r"'(?: instead| \([^)]*\)|, which compiles[^.;]*)?"))
    for mode in ("eager", "graph")
}


def _without_advice(text: str, mode: str) -> str:
    for pattern in _ADVICE[mode]:
        text = pattern.sub("", text)
    return text


def unless_it_fails_too(err: BaseException, mode: str, probe: Any) -> BaseException:
    """``err`` (a failed count whose advice is to count with ``mode``), or, where ``probe()``
    (that count) fails too, the same error without that advice and with the other engine's
    cause: advice never sends the user to an engine that fails on the model as well (a
    detector: no CPU kernel for ``nms`` eagerly, ``.item()`` in graph mode)."""
    from ..errors import CountError

    text = str(err)
    if f"mode='{mode}'" not in text:
        return err
    head, newline, rest = text.partition("\n")  # the cause and advice; OneFlow's further lines
    try:
        probe()
    except CountError as other:
        cause = other.__cause__ if other.__cause__ is not None else other
        kept = _without_advice(head, mode).replace(":.", ".").rstrip()
        kept = kept if kept.endswith(".") else kept + "."
        new = CountError(f"{kept} Mode '{mode}' fails on this model too: {_engine_cause(cause)}.{newline}{rest}")
        new.__cause__ = err.__cause__
        return new
    except Exception as probe_err:  # noqa: BLE001 - the probe only refines the advice; it never hides err
        if from_signal(probe_err):  # the user's signal handler's own exception, raised in the probe's forward
            raise
        return err
    kept = _without_advice(head, mode).replace(":.", ".").rstrip()
    new = CountError(f"{kept}{'' if kept.endswith('.') else '.'} Mode '{mode}' counts this model (tried): count it "
                     f"with mode='{mode}' (on the command line: --mode {mode}).{newline}{rest}")
    new.__cause__ = err.__cause__
    return new
