"""flowflops: MACs, FLOPs and parameters of OneFlow models, eager or compiled.

One stream: an engine turns a model into op records, the registry prices each record, the
aggregate sums them over the module tree, the Report adds analyses and renderings::

    model + inputs -> eager/ | graph/ -> OpRecord -> registry + formulas/ -> Cost
                   -> report.Aggregate -> result.Report -> render/ (every string)

The folders, top to bottom; a module imports its own folder and those below it, never one
above (``tests/test_layout.py`` reads the imports: no circle but registry <-> formulas)::

    cli/        the ``flowflops`` command: command, llm (sweep), symbolic, common
    tools/      workflows that count or time several times: measure, calibrate, llm, symbolic
    api.py      the face: checks, inputs once, engine, rules, pricing, the Report
    result.py   the one Report users get (aggregate + analyses + renderings, JSON round trip)
    render/     every string: printout, tables, analysis text, diff, llm, html, plot, units
    analysis/   results without strings: roofline, memory, ranks, diff, hardware, llm fits
    report.py   the aggregate: totals and views, nothing above the registry
    rules/      records -> records before pricing: users' ignore/custom rules, sparsity, peers' marks
    registry.py formulas/  op type -> formula -> Cost (formulas/peers/: other tools' rules;
                formulas/derivation.py: a formula's arithmetic as data)
    eager/ graph/          engines: model -> records; they import only what is below them
    runtime/    around a count: inputs, module tree, state guard, Ctrl-C, quiet stderr, limits,
                calling users' module hooks
    records.py conventions.py errors.py
    models.py thop/ flops_counter.py torch_models/  documented and drop-in paths

The public names are ``__all__`` below (pinned by ``tests/test_public_names.py``); every other
module lists its own in ``__all__``.
"""
import sys

from .runtime.quiet import quiet_command_line

quiet_command_line()  # before oneflow is imported: only for the `flowflops` command itself

try:
    import oneflow  # noqa: F401
except ImportError as _err:  # name the fix when oneflow's CUDA wheel misses its libraries
    if "libcudnn" in str(_err) or "libcublas" in str(_err):
        raise ImportError(
            f"oneflow cannot load a CUDA library its PyPI wheel links against ({_err}). Install "
            "them with: pip install nvidia-cudnn-cu11==8.5.0.96 nvidia-cublas-cu11==11.10.3.66 "
            "(`pip install flowflops` brings them on Linux x86_64)"
        ) from _err
    raise
from .api import count_graph_text, get_model_complexity_info, profile
from .tools.symbolic import symbolic
from .backends import FLOPS_BACKEND
from .flop_counter import FlopCounterMode
from .tools.calibrate import calibrate
from .errors import CountError, CustomHookError, FormulaError, InputError, ParseError
from .result import Report, compare, diff
from .analysis.hardware import Device, get_device
from .tools.measure import MFUMeter, measure
from .records import Cost, OpRecord
from .registry import register
from .render.units import flops_to_string, params_to_string
from . import torch_models  # timm:/hf: models through oneflow.mock_torch (imports neither)
from .analysis import hardware
from .render import export
from .tools import llm
from .formulas import derivation

# documented module paths from before the role folders, kept for one release: the same modules
sys.modules.update({f"{__name__}.export": export, f"{__name__}.hardware": hardware, f"{__name__}.llm": llm,
                    f"{__name__}.derivation": derivation})

from ._version import __version__

__all__ = [
    "get_model_complexity_info", "profile", "FLOPS_BACKEND", "Report", "Cost", "OpRecord", "register",
    "flops_to_string", "params_to_string", "CountError", "CustomHookError", "FormulaError", "InputError", "ParseError",
    "count_graph_text", "measure", "MFUMeter", "calibrate", "Device", "get_device", "diff", "compare",
    "torch_models", "symbolic", "FlopCounterMode", "__version__",
]

