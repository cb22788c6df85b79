"""``python -m flowflops``: the command line."""
from .cli import main

__all__: list = []  # run as `python -m`, it exports nothing

main()
