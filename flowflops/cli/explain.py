"""``flowflops explain`` and ``flowflops check`` (the cost gate).

    flowflops explain MODEL [PATH] [--input-shape ...] [--mode eager|graph|train]
                      [--convention NAME] [--count-functional] [--kwargs JSON] [--methods]
    flowflops check MODEL --baseline FILE.json [--max-growth 0.5%] [--metric macs,params,bytes]
                    [--input-shape ...] [--mode ...] [--convention ...] [--count-functional]

``explain`` prints the chain behind a number (:meth:`flowflops.Report.explain`): PATH a module
path (``layer1.0.conv1``), an op type (``conv2d``) or nothing for the total; MODEL may also be
a report written with ``--format json``.

``check`` counts MODEL (or reads a report file) the way the baseline was counted (its input
shape, mode and convention unless given) and exits 0 when no total, module or op type grew by
more than ``--max-growth``, 1 naming each one that did, 2 on bad input (a baseline that is not
a report, a bad limit or metric, a model that cannot be built or counted).
"""
from __future__ import annotations

import argparse
import os
from typing import Any, Optional

from ..conventions import NAMES

__all__ = ["explain_parser", "check_parser", "cmd_explain", "cmd_check"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-shape", default=None, help="input shape, batch included (default 1,3,224,224)")
    p.add_argument("--mode", choices=("eager", "graph", "train"), default=None, help="default eager")
    p.add_argument("--convention", choices=NAMES, default=None, help="default flowflops")
    p.add_argument("--count-functional", action="store_true", help="eager: also price functional calls")
    p.add_argument("--kwargs", "--config", dest="kwargs", default=None, help="JSON keyword arguments for the factory")
    p.add_argument("--output", default=None, help="write to FILE instead of stdout")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def explain_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowflops explain", description=(
        "How a number was computed: a module's op records, the formula and arithmetic of each, "
        "the convention, the sum, what was counted zero and where in the code."))
    p.add_argument("model", help="flowvision model name, package.module:factory, timm:/hf: name, "
                   "or a report file (--format json)")
    p.add_argument("path", nargs="?", default=None, help="module path (layer1.0.conv1), op type (conv2d "
                   "or op:conv2d); default: the total")
    p.add_argument("--methods", action="store_true", help="also print the methods-section sentence")
    _common(p)
    return p


def check_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowflops check", description=(
        "A cost gate for CI: exit 0 when nothing grew past --max-growth against the baseline report, "
        "1 naming each total, module and op type that grew, 2 on bad input."))
    p.add_argument("model", help="flowvision model name, package.module:factory, timm:/hf: name, "
                   "or a report file (--format json)")
    p.add_argument("--baseline", required=True, help="the report to compare with (flowflops MODEL --format json)")
    p.add_argument("--max-growth", default="0%", help="allowed growth: a percentage (0.5%%) or a fraction (default 0)")
    p.add_argument("--metric", default="macs,params", help="comma-separated: macs, flops, params, bytes "
                   "(default macs,params)")
    _common(p)
    return p


def _is_report_file(name: str) -> bool:
    return name.endswith(".json") or (":" in name and name.rsplit(":", 1)[0].endswith(".json"))


def _report(args: argparse.Namespace, like: Any = None) -> Any:
    """The report of ``args.model``: read from a JSON file, or counted (with the baseline's
    input shape, mode and convention where the options leave them open)."""
    from ..api import profile
    from .common import CliError, _build_model, parse_kwargs
    from ..errors import ReportFileError
    from ..result import load_report

    if _is_report_file(args.model):
        try:
            return load_report(args.model)[0]
        except ReportFileError as err:
            raise CliError(str(err))
    if args.input_shape is None and like is not None and like.inputs and isinstance(like.inputs[0], list) \
            and len(like.inputs) == 1 and all(isinstance(d, int) for d in like.inputs[0]):
        args.input_shape = ",".join(str(d) for d in like.inputs[0])
    mode = args.mode or (like.mode if like is not None and like.mode in ("eager", "graph", "train") else "eager")
    convention = args.convention or (like.convention if like is not None else "flowflops")
    if args.count_functional and mode != "eager":
        raise CliError(f"--count-functional prices eager mode's functional calls; --mode {mode} sees every op already")
    model, ctor, shape = _build_model(args, parse_kwargs(args.kwargs))
    cfg = {"count_functional": True} if args.count_functional else {}
    if like is not None and mode == "eager" and not args.count_functional:
        from ..conventions import FUNCTION_ATTR

        if any(FUNCTION_ATTR in r.attrs for r, _ in like.entries):  # the baseline priced them
            cfg = {"count_functional": True}
    return profile(model, shape, input_constructor=ctor, mode=mode, convention=convention,
                   backend_specific_config=cfg if mode == "eager" else {})


def _write(text: str, output: Optional[str]) -> None:
    from .common import _write as write

    write(text, output)


def cmd_explain(args: argparse.Namespace) -> None:
    from .common import CliError, check_output_path
    from ..torch_models import is_torch_model_name, mocked_torch

    check_output_path(args.output, "--output")
    if is_torch_model_name(args.model):
        with mocked_torch():
            report = _report(args)
    else:
        report = _report(args)
    try:
        text = report.explain(args.path).to_text()
    except ValueError as err:
        raise CliError(str(err))
    if args.methods:
        text += "\n" + report.methods_text() + "\n"
    _write(text, args.output)


def cmd_check(args: argparse.Namespace) -> int:
    """Returns the exit status: 0 passed, 1 grew (2 comes from a CliError)."""
    from ..analysis.gate import parse_growth, parse_metrics
    from .common import CliError, check_output_path
    from ..errors import CountError, ReportFileError
    from ..result import check, load_report
    from ..torch_models import is_torch_model_name, mocked_torch

    check_output_path(args.output, "--output")
    try:
        limit = parse_growth(args.max_growth)
        metrics = parse_metrics(args.metric)
    except ValueError as err:
        raise CliError(str(err))
    if not os.path.exists(args.baseline) and not _is_report_file(args.baseline):
        raise CliError(f"--baseline {args.baseline!r}: no such file; write one with "
                       f"`flowflops MODEL --format json --output {args.baseline}`")
    try:
        baseline = load_report(args.baseline)[0]
    except ReportFileError as err:
        raise CliError(f"--baseline: {err}")
    try:
        if is_torch_model_name(args.model):
            with mocked_torch():
                current = _report(args, baseline)
        else:
            current = _report(args, baseline)
    except (CountError, ValueError, TypeError) as err:
        if args.debug:
            raise
        raise CliError(f"cannot count {args.model!r}: {type(err).__name__}: {str(err).strip().splitlines()[0]}")
    result = check(baseline, current, max_growth=limit, metrics=metrics)
    _write(result.to_text(), args.output)
    return 0 if result.passed else 1
