"""One sentence for a paper's methods section, read from a report: the number and its unit, the
convention and what it counts, the input shape and batch, the engine and the versions."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

from ..conventions import FUNCTION_ATTR

if TYPE_CHECKING:  # pragma: no cover
    from ..report import Aggregate

__all__ = ["methods_text", "COUNTS"]

#: What each convention counts, in words short enough for a sentence.
COUNTS = {
    "flowflops": "multiply-accumulates of convolutions and matrix products, plus one per element for "
                 "bias adds, normalisation, activations, pooling and adds (the ptflops/seed-article convention)",
    "ptflops": "the ptflops 0.7.5 convention (pytorch backend with functional calls): hooked layers "
               "plus functional calls",
    "ptflops-aten": "the ptflops 0.7.5 aten convention: multiply-adds of matrix products and "
                    "convolutions, their biases included",
    "fvcore": "the fvcore 0.1.5 convention: fused multiply-adds of convolutions, matrix products, "
              "linear layers and normalisation; no activations, adds or pooling",
    "thop": "the thop 0.1.1 convention: convolutions and linear layers without bias, batch norm and "
            "average pooling; no activations",
    "torch": "the torch.utils.flop_counter convention divided by 2: multiply-adds of matrix products "
             "and convolutions only",
}


def _si(n: float, unit: str) -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {prefix}{unit}"
    return f"{int(n)} {unit}"


def _shape(s: Any) -> str:
    if isinstance(s, (list, tuple)) and all(isinstance(d, int) for d in s):
        return "x".join(str(d) for d in s)
    return str(s)


def _engine(report: "Aggregate") -> str:
    if report.mode == "eager":
        functional = any(FUNCTION_ATTR in r.attrs for r, _ in report.entries)
        return "eager engine (module hooks" + (" and functional calls)" if functional else ")")
    if report.mode == "graph":
        return "graph engine (the compiled nn.Graph job)"
    if report.mode == "train":
        return "training-step graph (forward, backward and optimizer)"
    return f"{report.mode} engine"


def methods_text(report: "Aggregate") -> str:
    """E.g. ``ResNet: 1.82 GMACs and 3.64 GFLOPs per forward call (multiply-accumulates of ...;
    1 MAC = 2 FLOPs), 11.69 M parameters; input 1x3x224x224, batch 1; counted with flowflops
    0.1.0 on OneFlow 0.9.0, eager engine (module hooks).`` For a report read from JSON, the
    versions that counted it (the file's ``flowflops_version`` and ``oneflow_version``)."""
    import oneflow

    from .._version import __version__

    # a report read from JSON says which versions counted it
    ours, theirs = getattr(report, "counted_with", None) or (__version__, oneflow.__version__)
    root = report.modules.get("")
    name = root.type_name if root is not None else "The model"
    counts = COUNTS.get(report.convention, f"the {report.convention} convention")
    call = "training step" if report.mode == "train" else "forward call"
    inputs: List[Any] = list(report.inputs or [])
    shapes = " and ".join(_shape(s) for s in inputs) or "unknown"
    first = inputs[0] if inputs else None
    batch = f", batch {first[0]}" if isinstance(first, (list, tuple)) and first and isinstance(first[0], int) else ""
    extra = ""
    if report.attention != "dense":
        extra += f"; attention counted as {report.attention}"
    if report.unsupported:
        names = ", ".join(report.unsupported)
        extra += f"; counted as zero for want of a formula: {names}"
    return (f"{name}: {_si(report.macs, 'MACs')} and {_si(report.flops, 'FLOPs')} per {call} ({counts}; "
            f"1 MAC = 2 FLOPs), {_si(report.params, '').strip()} parameters; "
            f"input {shapes}{batch}; counted with flowflops {ours} on OneFlow {theirs}, "
            f"{_engine(report)}{extra}.")
