"""The ``flowflops`` command.

    flowflops MODEL [--input-shape 1,3,224,224] [--mode eager|graph|both] [--depth N]
                    [--format text|json|csv|markdown|latex|html] [--output FILE] [--count-functional]
                    [--top K] [--plot FILE.png] [--plot-metric macs|flops|params|bytes|time]
                    [--plot-by-phase] [--kwargs JSON] [--device NAME] [--dtype fp16]
                    [--measure] [--symbolic [--domain H=32,W=32]] [--debug]
    flowflops zoo [--models a,b,c] [--mode eager|graph|both] [--format ...] [--raw] [--count-functional]
    flowflops graph-text FILE [--format ...]
    flowflops diff A.json B.json [--format text|markdown|latex|html|json] [--depth N] [--all]
    flowflops compare A.json B.json [C.json ...] [--names a,b,c] [--depth N] [--format ...]
    flowflops explain MODEL [PATH] ...       (how a number was computed; see flowflops.cli.explain)
    flowflops check MODEL --baseline FILE.json [--max-growth 0.5%] [--metric macs,params,bytes]
    flowflops sweep MODEL --seq-lens 128,256,512 [--batch-sizes 1,2] [--generate P,N] ...
                    (language models; see flowflops.cli_llm)

User errors print one line and exit 2; other failures print one line and exit 1 (with the
traceback under ``--debug``).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, TextIO, Tuple

from ..conventions import NAMES
from ..errors import InputError
from .common import (CliError, _build_model, _count, _factory, _write, check_output_path, load_model,
                     parse_kwargs, parse_shape)
from ..render.export import (both_text, convention_table, module_tree_text, progress_line, totals_text,
                     zoo_flat, zoo_text)

if TYPE_CHECKING:  # pragma: no cover
    from ..result import Report

__all__ = ["FORMATS", "ARTICLE_MODELS", "SUBCOMMANDS", "zoo_rows", "run", "main"]

FORMATS = ("text", "json", "csv", "markdown", "latex", "html")
# The article's table: model -> input side (alexnet at 227 as in the original's script).
ARTICLE_MODELS = {
    "alexnet": 227, "vgg11": 224, "vgg11_bn": 224, "squeezenet1_0": 224, "squeezenet1_1": 224,
    "resnet18": 224, "resnet50": 224, "resnext50_32x4d": 224, "shufflenet_v2_x0_5": 224,
    "regnet_x_16gf": 224, "efficientnet_b0": 224, "densenet121": 224,
}


def _render(report: "Report", fmt: str, depth: Optional[int], fold: bool = False) -> str:
    if fmt == "json":
        return report.to_json()
    if fmt == "csv":
        return report.to_csv()
    if fmt == "markdown":
        return report.to_markdown(depth if depth is not None else 2)
    if fmt == "latex":
        return report.to_latex(depth if depth is not None else 2)
    if fmt == "html":
        return report.to_html()
    if fold:  # identical sibling blocks as one row (see flowflops.analysis.rollup)
        body = report.table(depth, fold_repeats=True) if depth is not None else report.printout(fold_repeats=True)
    else:
        body = report.table(depth) if depth is not None else module_tree_text(report)
    return body + "\n" + totals_text(report)


def _plot(report: "Report", args: argparse.Namespace) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CliError("--plot needs matplotlib: pip install 'flowflops[plot]' (or pip install matplotlib)")
    from ..render.plot import plot

    roofline = report.roofline(args.device, args.dtype) if args.device else None
    plot(report, args.plot, args.top or 15, args.plot_metric, args.plot_by_phase, roofline)


#: The subcommands besides ``flowflops MODEL``: name -> what it does (listed by ``--help``;
#: :func:`run` dispatches exactly these).
SUBCOMMANDS = {
    "zoo": "a model table like the article's (flowvision names)",
    "graph-text": "price a printed nn.Graph (its repr, or a log of OPERATOR lines)",
    "diff": "what changed from report A.json to B.json, module by module",
    "compare": "several reports side by side, the first the baseline (an ablation table)",
    "sweep": "a language model over sequence lengths and batch sizes, exact polynomial fits",
    "explain": "how a number was computed: a module's ops, formulas, arithmetic and sum",
    "check": "a cost gate for CI: exit 1 when a cost grew past a baseline report, naming what grew",
}


def _model_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    p = argparse.ArgumentParser(
        prog="flowflops", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Count the MACs, FLOPs and parameters of a OneFlow model.",
        epilog="other commands (each has its own --help):\n" + "\n".join(
            f"  flowflops {name:<11} {what}" for name, what in SUBCOMMANDS.items()))
    p.add_argument("--version", action="version", version=f"flowflops {__version__}")
    p.add_argument("model", help="flowvision model name (resnet50), package.module:factory, "
                   "timm:<name> or hf:<model_type> (torch-models extra)")
    p.add_argument("--input-shape", default=None, help="input shape, batch included (default 1,3,224,224; "
                   "timm: the model's own; hf: the model's main input, sized from its config)")
    p.add_argument("--mode", choices=("eager", "graph", "both", "train"), default="eager",
                   help="train: one training step (cross-entropy on random labels, SGD)")
    p.add_argument("--depth", type=_count, default=None, help="show the module table to this depth")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--output", default=None, help="write to FILE instead of stdout")
    p.add_argument("--count-functional", action="store_true", help="eager: also price functional calls")
    p.add_argument("--top", type=_count, default=None, metavar="K", help="list the K most expensive modules")
    p.add_argument("--fold-repeats", action="store_true", help="identical sibling blocks (blocks.0-11) as one "
                   "row in the printout, --depth table and --top list: their sum and one copy's")
    p.add_argument("--by-type", action="store_true", help="also MACs by module type and the top types per depth")
    p.add_argument("--verify", action="store_true", help="also count in the other engine (eager+functional, "
                   "graph) and list every module and op type where they differ; exit status 1 if any")
    p.add_argument("--convention", choices=NAMES, default="flowflops",
                   help="whose rules price the ops: " + ", ".join(NAMES) + " (default flowflops)")
    p.add_argument("--conventions", default=None, metavar="all|A,B",
                   help="also every (or the named) convention's MACs and FLOPs from the same count")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="bar chart of the top modules (needs matplotlib)")
    p.add_argument("--plot-metric", default="macs", choices=("macs", "flops", "params", "bytes", "time"),
                   help="what --plot ranks and draws (time: predicted, needs --device)")
    p.add_argument("--plot-by-phase", action="store_true",
                   help="--plot with bars stacked by forward/backward/optimizer (--mode train)")
    p.add_argument("--kwargs", "--config", dest="kwargs", default=None,
                   help="JSON keyword arguments for the model factory (hf: config fields)")
    p.add_argument("--device", default=None, help="roofline on this device (A100-80GB, H100, cpu, ...): "
                   "bytes, bound and predicted time per module; with --mode graph/train also memory")
    p.add_argument("--measure", action="store_true", help="also run the model (warm-up, then timed, "
                   "synchronised) and print time, achieved FLOP/s and share of peak per module "
                   "(on --device, default the measured local cpu; --mode train times training steps)")
    p.add_argument("--dtype", default="fp32", help="dtype for --device (fp32, tf32, fp16, bf16; default fp32)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    from .symbolic import add_arguments

    add_arguments(p)  # --symbolic, --domain, --split
    return p


def _device_text(report: "Report", device: str, dtype: str, depth: Optional[int]) -> str:
    from ..render.export import device_text

    try:
        pred = report.roofline(device, dtype)
        mem, fit = (report.memory(), report.fits(device)) if report.mode in ("graph", "train") else (None, None)
        return device_text(pred, mem, fit, depth if depth is not None else 2)
    except ValueError as err:
        raise CliError(str(err))


def _zoo_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowflops zoo", description="A model table like the article's.")
    p.add_argument("--models", default=None, help="comma-separated flowvision names (default: the article's 12)")
    p.add_argument("--input-shape", default=None,
                   help="input shape for every model (default: 1,3,224,224; alexnet 227)")
    p.add_argument("--mode", choices=("eager", "graph", "both"), default="both")
    p.add_argument("--train", action="store_true", help="add a training-step column")
    p.add_argument("--format", choices=FORMATS[:-1], default="text")
    p.add_argument("--raw", action="store_true",
                   help="markdown/latex: exact integers instead of the article's 11.69 M / 1.82 GMac "
                        "(json and csv always hold the integers)")
    p.add_argument("--output", default=None)
    p.add_argument("--count-functional", action="store_true")
    p.add_argument("--debug", action="store_true")
    return p


def _graph_text_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowflops graph-text", description="Price a printed nn.Graph (repr or log).")
    p.add_argument("file")
    p.add_argument("--depth", type=_count, default=None)
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--output", default=None)
    p.add_argument("--debug", action="store_true")
    return p


def _cmd_model(args: argparse.Namespace) -> int:
    from ..torch_models import is_torch_model_name

    if is_torch_model_name(args.model):
        from ..torch_models import mocked_torch

        with mocked_torch():  # timm / transformers are imported, built and counted inside
            _count_model(args)
    else:
        _count_model(args)
    return 1 if getattr(args, "disagree", False) else 0  # --verify found a difference


def _count_model(args: argparse.Namespace) -> None:
    from ..api import profile

    check_output_path(args.output, "--output")
    check_output_path(args.plot, "--plot")
    if args.count_functional and args.mode not in ("eager", "both"):
        raise CliError(f"--count-functional prices eager mode's functional calls; --mode {args.mode} "
                       "compiles the model and sees every op already: drop it, or use --mode eager")
    kwargs = parse_kwargs(args.kwargs)
    from .symbolic import check_symbolic_flags

    check_symbolic_flags(args)  # --domain / --split without --symbolic
    if args.symbolic:
        from .symbolic import cmd_symbolic

        no_shape = argparse.Namespace(**{**vars(args), "input_shape": None})
        return cmd_symbolic(args, lambda: _build_model(no_shape, kwargs))
    if args.device:
        from ..analysis.hardware import check_device

        try:
            check_device(args.device, args.dtype)
        except ValueError as err:
            raise CliError(str(err))
    if args.plot:
        from ..render.plot import check_plot_args

        try:
            check_plot_args(args.plot_metric, args.plot_by_phase, args.mode, args.device)
        except ValueError as err:
            raise CliError(str(err))
    model, ctor, shape = _build_model(args, kwargs)
    cfg = {"count_functional": True} if args.count_functional else {}
    conv = args.convention
    if args.mode == "both":
        eager = profile(model, shape, input_constructor=ctor, mode="eager", backend_specific_config=cfg,
                        convention=conv)
        graph = profile(model, shape, input_constructor=ctor, mode="graph", convention=conv)
        if args.format == "text":
            text = both_text(eager, graph, args.depth if args.depth is not None else 2)
        elif args.format == "html":  # one page, the two engines side by side, every module
            text = _engines_page(eager, graph, args.depth)
        elif args.format == "json":
            text = json.dumps({"eager": eager.to_dict(), "graph": graph.to_dict()}, indent=2)
        else:
            text = _render(eager, args.format, args.depth) + _render(graph, args.format, args.depth)
        reports = [eager, graph]
    else:
        report = profile(model, shape, input_constructor=ctor, mode=args.mode,
                         backend_specific_config=cfg if args.mode == "eager" else {},
                         convention=conv)
        if args.device and args.format == "html":
            report.roofline(args.device, args.dtype)  # the page can then size by predicted time
        text = _render(report, args.format, args.depth, args.fold_repeats and args.format == "text")
        if args.device and args.format != "html":
            text += _device_text(report, args.device, args.dtype, args.depth)
        elif args.mode == "train" and args.format == "text":
            from ..render.export import memory_section

            text += memory_section(report.memory())
        if args.measure:
            from ..tools.measure import measure

            mode = "train" if args.mode == "train" else "eager"
            m = measure(model, shape, mode=mode, device=args.device or "cpu", dtype=args.dtype,
                        report=report if mode == "train" or args.count_functional else None)
            text += "\n" + m.table(args.depth if args.depth is not None else 1)
        reports = [report]
    if args.conventions and args.format != "html":
        # the peers see functional calls: their totals come from an eager count that prices
        # them (a second count when the headline's did not), the headline stays as asked
        pair = None
        if reports[0].mode == "eager" and not args.count_functional:
            from ..conventions import CONVENTIONS

            priced = CONVENTIONS[conv].count_functional  # the headline count's default
            other = profile(model, shape, input_constructor=ctor, mode="eager",
                            backend_specific_config={"count_functional": not priced}, convention=conv)
            pair = (other, reports[0]) if priced else (reports[0], other)
        text = _with_conventions(text, reports, args.conventions, args.format, pair)
    if args.top:
        text += "".join(r.top_text(args.top, fold_repeats=args.fold_repeats) for r in reports)
    if args.verify:  # eager+functional against graph: every difference, with both numbers
        if args.mode not in ("eager", "graph"):
            raise CliError(f"--verify compares an eager and a graph count: use --mode eager or graph, not {args.mode}")
        agreement = profile(model, shape, input_constructor=ctor, mode="graph", verify=True).verification
        assert agreement is not None
        text += "\n" + agreement.to_text()
        args.disagree = not agreement.agree
    if args.by_type and args.format == "text":
        text += "".join("\n" + r.type_table() for r in reports)
    _write(text, args.output)
    if args.plot:
        _plot(reports[-1], args)


def _with_conventions(text: str, reports: List[Any], which: str, fmt: str, pair: Any = None) -> str:
    """``text`` with every (``all``) or the named conventions' totals of each report: a table
    (text formats) or a ``by_convention`` field (JSON). ``pair``: the eager count without and
    with functional calls priced, each convention's total from its own default (see
    ``export.convention_totals``)."""
    from ..render.export import convention_totals

    def args_of(r: Any) -> Tuple[Any, Any]:
        return pair if pair is not None and r.mode == "eager" else (r, None)

    names = list(NAMES) if which == "all" else [n.strip() for n in which.split(",") if n.strip()]
    for n in names:
        if n not in NAMES:
            raise CliError(f"unknown convention {n!r} in --conventions: the known conventions are "
                           f"{', '.join(NAMES)} (or all)")
    if fmt == "json" and len(reports) == 1:
        data = json.loads(text)
        data["by_convention"] = {k: {"macs": c.macs, "flops": c.flops}
                                 for k, c in convention_totals(args_of(reports[0])[0], names,
                                                               args_of(reports[0])[1]).items()}
        return json.dumps(data, indent=2)
    return text + "".join("\n" + convention_table(args_of(r)[0], names=names, functional=args_of(r)[1]) + "\n"
                          for r in reports)


def zoo_rows(names: Sequence[str], modes: Sequence[str], shape: Optional[tuple], count_functional: bool,
             progress: Optional[TextIO] = None) -> List[Dict[str, Any]]:
    """One row per model: name, params, and MACs per mode."""
    from ..api import profile

    rows = []
    for i, name in enumerate(names, 1):
        if progress is not None:
            progress.write(progress_line(i - 1, len(names), name))
            progress.flush()
        model = load_model(name)
        s = shape or (1, 3, ARTICLE_MODELS.get(name, 224), ARTICLE_MODELS.get(name, 224))
        row: Dict[str, Any] = {"model": name, "input_shape": list(s)}
        for mode in modes:
            cfg = {"count_functional": True} if (count_functional and mode == "eager") else {}
            r = profile(model, s, mode=mode, backend_specific_config=cfg)
            row["params"] = r.trainable_params
            row[f"{mode}_macs"] = r.macs
        rows.append(row)
    if progress is not None:
        progress.write(progress_line(len(names), len(names)))
    return rows


def _cmd_zoo(args: argparse.Namespace) -> None:
    names = args.models.split(",") if args.models else list(ARTICLE_MODELS)
    modes = ["eager", "graph"] if args.mode == "both" else [args.mode]
    if args.train:
        modes.append("train")
    shape = parse_shape(args.input_shape) if args.input_shape else None
    check_output_path(args.output, "--output")
    if args.count_functional and "eager" not in modes:
        raise CliError("--count-functional prices eager mode's functional calls: use it with "
                       "--mode eager or both")
    for name in names:  # every name is checked before the first model is counted
        _factory(name)
    progress = sys.stderr if sys.stderr.isatty() else None
    rows = zoo_rows(names, modes, shape, args.count_functional, progress)
    text = zoo_text(rows, modes) if args.format == "text" else zoo_flat(rows, modes, args.format, args.raw)
    _write(text, args.output)


def _cmd_graph_text(args: argparse.Namespace) -> None:
    from ..api import count_graph_text

    try:
        with open(args.file, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as err:
        raise CliError(f"cannot read {args.file!r}: {err.strerror}")
    report = count_graph_text(text)
    if args.format == "text":
        _write((report.table(args.depth if args.depth is not None else 3)) + "\n" + totals_text(report), args.output)
    else:
        _write(_render(report, args.format, args.depth), args.output)


def _diff_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowflops diff", description=(
        "What changed from report A to report B (JSON files from --format json): totals, modules "
        "matched by path (renamed, added, removed), op types. FILE.json:eager picks one report of "
        "a --mode both file."))
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--format", choices=("text", "markdown", "latex", "html", "json"), default="text")
    p.add_argument("--depth", type=_count, default=None, help="show modules to this depth only")
    p.add_argument("--all", action="store_true", help="also list modules and op types that did not change")
    p.add_argument("--names", default=None, help="two names for the reports, comma-separated")
    p.add_argument("--output", default=None)
    p.add_argument("--debug", action="store_true")
    return p


def _compare_parser() -> argparse.ArgumentParser:
    from ..render.diff import COMPARE_FORMATS

    p = argparse.ArgumentParser(prog="flowflops compare", description=(
        "An ablation table: several reports (JSON files) side by side, the first the baseline."))
    p.add_argument("reports", nargs="+")
    p.add_argument("--format", choices=COMPARE_FORMATS, default="text")
    p.add_argument("--depth", type=_count, default=None, help="also one row per module to this depth")
    p.add_argument("--names", default=None, help="names for the reports, comma-separated (default: file names)")
    p.add_argument("--output", default=None)
    p.add_argument("--debug", action="store_true")
    return p


def _warned(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(...)``, its warnings printed to stderr as one line each (a diff's mismatch warning
    is also in its output)."""
    import warnings

    from ..errors import ReportFileError

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fn(*args, **kwargs)
    except ReportFileError as err:
        raise CliError(str(err))
    for w in caught:
        print(f"flowflops: warning: {w.message}", file=sys.stderr)
    return result


def _quiet_diff(a: Any, b: Any, names: Optional[Sequence[str]] = None) -> Any:
    from ..result import diff

    return _warned(diff, a, b, names=names)


def _engines_page(eager: Any, graph: Any, depth: Optional[int]) -> str:
    """``--mode both --format html``: eager and graph side by side, module by module (all
    modules, B - A = what the compiled job sees that the module hooks do not). Two modes are
    what this page compares, so their difference is no warning; a convention mismatch still is."""
    import warnings

    from ..result import diff

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = diff(eager, graph, names=["eager (module hooks)", "graph (compiled job)"])
    result.mismatches = [m for m in result.mismatches if m[0] != "mode"]
    return result.to_html(depth, True)


def _names(text: Optional[str], n: int) -> Optional[List[str]]:
    if text is None:
        return None
    names = [x.strip() for x in text.split(",")]
    if len(names) != n:
        raise CliError(f"--names gives {len(names)} names for {n} reports: give one per report, comma-separated")
    return names


def _cmd_diff(args: argparse.Namespace) -> None:
    from .symbolic import cmd_symbolic_diff

    if cmd_symbolic_diff(args, _names(args.names, 2)):  # two files of formulas (--symbolic)
        return
    result = _quiet_diff(args.a, args.b, _names(args.names, 2))
    if args.format == "json":
        text = json.dumps(result.to_dict(), indent=2)
    else:
        text = getattr(result, f"to_{args.format}")(args.depth, args.all)
    _write(text, args.output)


def _cmd_compare(args: argparse.Namespace) -> None:
    from ..result import compare

    if len(args.reports) < 2:
        raise CliError("compare needs at least two report files")
    result = _warned(compare, args.reports, names=_names(args.names, len(args.reports)), depth=args.depth)
    _write(result.render(args.format), args.output)


def run(argv: Sequence[str]) -> int:
    """Run the command with ``argv`` (without the program name); returns the exit status."""
    argv = list(argv)
    cmd: Any
    if argv and argv[0] == "zoo":
        args, cmd = _zoo_parser().parse_args(argv[1:]), _cmd_zoo
    elif argv and argv[0] == "graph-text":
        args, cmd = _graph_text_parser().parse_args(argv[1:]), _cmd_graph_text
    elif argv and argv[0] == "diff":
        args, cmd = _diff_parser().parse_args(argv[1:]), _cmd_diff
    elif argv and argv[0] == "compare":
        args, cmd = _compare_parser().parse_args(argv[1:]), _cmd_compare
    elif argv and argv[0] in ("explain", "check"):  # see flowflops.cli.explain
        from .explain import check_parser, cmd_check, cmd_explain, explain_parser

        if argv[0] == "explain":
            args, cmd = explain_parser().parse_intermixed_args(argv[1:]), cmd_explain  # MODEL --mode graph PATH
        else:
            args, cmd = check_parser().parse_args(argv[1:]), cmd_check
    elif argv and argv[0] == "sweep":
        from .llm import cmd_sweep, sweep_parser

        args, cmd = sweep_parser().parse_args(argv[1:]), cmd_sweep
    else:
        args, cmd = _model_parser().parse_args(argv), _cmd_model
    try:
        status = cmd(args)
        return status if isinstance(status, int) else 0
    except (CliError, InputError) as err:
        if args.debug:
            raise
        print(f"flowflops: error: {_plain(str(err))}", file=sys.stderr)
        return 2
    except Exception as err:
        if args.debug:
            raise
        first = _plain(str(err)).strip().splitlines()[0] if _plain(str(err)).strip() else ""
        print(f"flowflops: error: {type(err).__name__}: {first} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1


def _plain(text: str) -> str:
    """``text`` without terminal control sequences (OneFlow colours its errors: ``\x1b[1m``)."""
    import re

    return re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]", "", text)


def main() -> None:
    sys.exit(run(sys.argv[1:]))
