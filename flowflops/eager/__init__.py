"""The eager engine: forward hooks on the model's modules turn each call into op records."""

__all__: list = []  # the modules of this folder are imported by name
