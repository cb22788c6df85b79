"""The `flowflops` command: `command` (arguments, counts, printouts), `llm` (`flowflops sweep`)."""
from .command import main

__all__ = ["main"]
