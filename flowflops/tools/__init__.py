"""Workflows that count or time several times: measure, calibrate, llm, symbolic."""
