"""Errors a count raises on purpose."""
from typing import Any

__all__ = ["CountError", "ParseError", "CustomHookError", "FormulaError", "InputError", "ReportFileError"]


class CountError(RuntimeError):
    """The model could not be run (eager) or compiled (graph) on the inputs given.
    The message names the model class, the input shape tried and the underlying error,
    which is chained as ``__cause__``."""


class ParseError(ValueError):
    """A printed graph could not be parsed; the message names the line."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


class CustomHookError(RuntimeError):
    """A function of ``custom_modules_hooks`` raised; the message names it, the module type and
    path, and the original error is chained."""


class FormulaError(CountError):
    """A formula failed on a record: it raised (the error is chained as ``__cause__``) or
    returned something other than a :class:`flowflops.Cost`. The message names the op type,
    the module path, the shapes and the formula; ``record`` is the record it failed on."""

    def __init__(self, record: Any, formula: Any, problem: str) -> None:
        where = f"module '{record.module}'" if record.module else "the model itself"
        name = f"{getattr(formula, '__module__', '?')}.{getattr(formula, '__qualname__', formula)}"
        super().__init__(
            f"the formula for op {record.op_type!r} ({name}) {problem}, on the record of "
            f"{where} with inputs {_shapes(record.inputs)} and outputs {_shapes(record.outputs)}"
            f"{f' (op {record.name!r})' if record.name else ''}: fix the formula, or register "
            "one that fits with flowflops.register(op_type, override=True)"
        )
        self.record = record


def _shapes(shapes: Any) -> str:
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"


class InputError(ValueError):
    """An input shape that cannot be made: more elements than int64 holds, or more bytes than
    the memory available (checked before anything is allocated)."""


class ReportFileError(ValueError):
    """A report file that cannot be read: the message is one line naming the file and the fix."""
