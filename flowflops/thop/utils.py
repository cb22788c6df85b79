"""thop's ``utils`` module path: ``from thop import utils`` becomes
``from flowflops.thop import utils``."""
from ..render.units import clever_format

__all__ = ["clever_format"]
