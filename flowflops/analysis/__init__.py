"""Results without strings: roofline, memory, ranks, diff, hardware, llm (exact polynomial fits).
Nothing here imports render/, cli/, tools/, the api or the Report (tests/test_layout.py)."""

__all__: list = []  # the modules of this folder are imported by name
