"""flowflops: MACs, FLOPs and parameters of OneFlow models, eager or compiled."""
from .api import get_model_complexity_info, profile
from .errors import CountError, CustomHookError, ParseError
from .records import Cost, OpRecord
from .registry import register
from .report import Report
from .units import flops_to_string, params_to_string

__version__ = "0.1.0"

__all__ = [
    "get_model_complexity_info", "profile", "Report", "Cost", "OpRecord", "register",
    "flops_to_string", "params_to_string", "CountError", "CustomHookError", "ParseError", "count_graph_text",
    "__version__",
]


def count_graph_text(text: str) -> Report:
    """Price a printed graph (``repr`` of a compiled ``nn.Graph`` or a log of its OPERATOR
    lines). See :mod:`flowflops.graph.text`."""
    from .graph.text import count_graph_text as _count

    return _count(text)
