"""Workflows that count or time several times: measure, calibrate, llm, symbolic."""

__all__: list = []  # the modules of this folder are imported by name
