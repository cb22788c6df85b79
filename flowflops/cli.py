"""The ``flowflops`` command: count a model and print its per-layer statistics and totals."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any, List, Optional, Sequence


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def parse_shape(text: str) -> tuple:
    try:
        shape = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip())
    except ValueError:
        raise CliError(f"bad --input-shape {text!r}: give comma-separated positive ints, e.g. 1,3,224,224")
    if not shape or any(d <= 0 for d in shape):
        raise CliError(f"bad --input-shape {text!r}: give comma-separated positive ints, e.g. 1,3,224,224")
    return shape


def load_model(name: str, kwargs: Optional[dict] = None) -> Any:
    """A flowvision model by name (``resnet50``), or ``package.module:factory``."""
    kwargs = kwargs or {}
    if ":" in name:
        mod_name, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(mod_name), attr)
        except (ImportError, AttributeError) as err:
            raise CliError(f"cannot load {name!r}: {type(err).__name__}: {err}")
        return factory(**kwargs)
    import flowvision.models as zoo

    factory = getattr(zoo, name, None)
    if factory is None or not callable(factory) or name.startswith("_"):
        raise CliError(
            f"unknown model {name!r}: give a flowvision model name (e.g. resnet50) or "
            "package.module:factory for your own code"
        )
    return factory(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flowflops",
        description="Count the MACs, FLOPs and parameters of a OneFlow model.",
    )
    p.add_argument("model", help="flowvision model name (resnet50) or package.module:factory")
    p.add_argument("--input-shape", default="1,3,224,224", help="input shape, batch included (default 1,3,224,224)")
    p.add_argument("--mode", choices=("eager", "graph", "both"), default="eager")
    p.add_argument("--kwargs", default=None, help="JSON keyword arguments for the model factory")
    p.add_argument("--no-per-layer", action="store_true", help="print the totals only")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _totals(report: Any) -> dict:
    return {"mode": report.mode, "macs": report.macs, "flops": report.flops,
            "params": report.params, "trainable_params": report.trainable_params,
            "unsupported": report.unsupported}


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        shape = parse_shape(args.input_shape)
        try:
            kwargs = json.loads(args.kwargs) if args.kwargs else {}
        except json.JSONDecodeError as err:
            raise CliError(f"bad --kwargs: not JSON ({err})")
        model = load_model(args.model, kwargs)
        from . import profile
        from .printing import print_report
        from .units import flops_to_string, params_to_string, real_flops_to_string

        modes: List[str] = ["eager", "graph"] if args.mode == "both" else [args.mode]
        reports = [profile(model, shape, mode=m) for m in modes]
        if args.format == "json":
            print(json.dumps([_totals(r) for r in reports], indent=2))
            return 0
        for r in reports:
            print(f"====== {r.mode} ======")
            if not args.no_per_layer:
                print_report(r)
            print(f"MACs:   {flops_to_string(r.macs)} ({r.macs})")
            print(f"FLOPs:  {real_flops_to_string(r.flops)} ({r.flops})")
            print(f"Params: {params_to_string(r.params)} ({r.params})")
            if r.unsupported:
                print("Counted as zero (no formula): " + ", ".join(f"{k} x{v}" for k, v in r.unsupported.items()))
        return 0
    except CliError as err:
        print(f"flowflops: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        if args.debug:
            raise
        print(f"flowflops: error: {type(err).__name__}: {err} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1


def main() -> None:
    sys.exit(run(sys.argv[1:]))
