"""ptflops' module path: ``from ptflops.flops_counter import FLOPS_BACKEND`` becomes
``from flowflops.flops_counter import FLOPS_BACKEND``."""
from .api import get_model_complexity_info
from .backends import FLOPS_BACKEND

__all__ = ["get_model_complexity_info", "FLOPS_BACKEND"]
