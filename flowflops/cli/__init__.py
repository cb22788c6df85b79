"""The `flowflops` command: `command` (arguments, counts, printouts), `llm` (`flowflops sweep`),
`symbolic` (`--symbolic`), `common` (what they share: user errors, reading models and shapes)."""
from .command import main

__all__ = ["main"]
