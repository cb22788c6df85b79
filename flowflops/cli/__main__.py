"""``python -m flowflops.cli``: the command line."""
from .command import main

__all__: list = []  # run as `python -m`, it exports nothing

main()
