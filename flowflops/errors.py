"""Errors a count raises on purpose."""


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
