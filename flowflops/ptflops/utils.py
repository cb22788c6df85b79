"""ptflops' ``utils`` module path (``from ptflops.utils import flops_to_string``)."""
from ..render.units import flops_to_string, params_to_string

__all__ = ["flops_to_string", "params_to_string"]
