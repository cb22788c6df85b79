"""The eager engine: forward hooks on the model's modules turn each call into op records."""
