"""flowflops: MACs, FLOPs and parameters of OneFlow models, eager or compiled."""
from .api import count_graph_text, get_model_complexity_info, profile
from .errors import CountError, CustomHookError, FormulaError, ParseError
from .export import Report
from .records import Cost, OpRecord
from .registry import register
from .units import flops_to_string, params_to_string

__version__ = "0.1.0"

__all__ = [
    "get_model_complexity_info", "profile", "Report", "Cost", "OpRecord", "register",
    "flops_to_string", "params_to_string", "CountError", "CustomHookError", "FormulaError", "ParseError",
    "count_graph_text",
    "__version__",
]

