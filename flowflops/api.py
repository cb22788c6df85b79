"""The public entry points: :func:`profile` (a :class:`Report`),
:func:`get_model_complexity_info` (ptflops' tuple) and :func:`count_graph_text`.

This is the face: it checks the arguments, builds the counted call's inputs once, hands them
to an engine (``eager/``, ``graph/``), which returns a :class:`~flowflops.records.Trace` of op
records, prices the records with the registry and builds the :class:`Report`."""
from __future__ import annotations

import sys
import threading
import warnings
from typing import Any, Callable, Dict, Optional, Sequence, TextIO, Tuple, Union

import oneflow as flow
import oneflow.nn as nn

from .conventions import check_convention
from .errors import CountError, CustomHookError, FormulaError, ParseError
from .backends import FLOPS_BACKEND
from .backends import resolve as resolve_backend
from .render.export import print_report, zero_op_warnings, zero_share_warning
from .graph.scopes import GraphRules
from .rules.custom import split_rules
from .runtime.guard import counting_view
from .runtime.inputs import batch_hint, call_inputs, check_model, describe_inputs, half_on_cpu
from .runtime.interrupts import from_signal, guarded
from .runtime.modules import tree_and_named
from .records import ZERO, Trace
from .registry import DEFAULT_CONVENTION, price, price_records
from .result import Agreement, Report, _with_renderings
from .render.units import flops_to_string, params_to_string

__all__ = ["MODES", "profile", "count_graph_text", "get_model_complexity_info"]

MODES = ("eager", "graph", "train")
#: ``keep_training``: an eager count with the model's own training flags and grad mode (fvcore
#: traces a model as it is; flowflops.fvcore sets it), not in eval mode
_BACKEND_KEYS = {"count_functional", "keep_training"}


def _check_config(backend_specific_config: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    cfg = dict(backend_specific_config or {})
    unknown = set(cfg) - _BACKEND_KEYS
    if unknown:
        raise ValueError(
            f"unknown backend_specific_config keys {sorted(unknown)}: the known keys are "
            f"{sorted(_BACKEND_KEYS)}"
        )
    return cfg


def _check_rules_for_mode(model: Any, mode: str, ignore: Tuple[type, ...], custom: Dict[type, Callable]) -> None:
    """Module-type rules need a model flowflops traces itself, and custom module hooks price a
    forward call: refuse what a mode cannot honour rather than ignore it."""
    if isinstance(model, flow.nn.Graph) and (ignore or custom):
        raise ValueError(
            f"ignore_modules / custom_modules_hooks name module classes, which an nn.Graph of your "
            f"own cannot honour ({type(model).__name__}): pass the nn.Module itself with "
            "mode='graph', or name OneFlow op types (e.g. 'matmul') instead"
        )
    if mode == "train" and custom:
        names = ", ".join(t.__name__ for t in custom)
        raise ValueError(
            f"custom_modules_hooks for module classes ({names}) price a forward call; mode='train' "
            "counts backward and optimizer work too: use mode='eager' or 'graph', or name OneFlow "
            "op types (e.g. 'conv2d') instead"
        )


@guarded
def profile(
    model: Union[nn.Module, flow.nn.Graph],
    input_res: Optional[Sequence[int]] = None,
    *,
    input_constructor: Optional[Callable[[Any], Any]] = None,
    mode: str = "eager",
    backend_specific_config: Optional[Dict[str, Any]] = None,
    ignore_modules: Sequence[Any] = (),
    custom_modules_hooks: Optional[Dict[Any, Callable]] = None,
    loss_fn: Optional[Callable[[Any, Any], Any]] = None,
    optimizer: Optional[Any] = None,
    target: Optional[Any] = None,
    attention: str = "dense",
    experts: str = "all",
    convention: str = "flowflops",
    repeats: str = "once",
    verify: bool = False,
) -> Report:
    """Count one forward call of ``model`` on the input(s) described by ``input_res`` (the full
    input shape, batch included) or made by ``input_constructor(input_res)``.

    ``mode="eager"`` runs the model once under ``no_grad`` in eval mode with module hooks;
    ``mode="graph"`` compiles it to ``nn.Graph`` without running it and prices every op of the
    compiled job (a forward that reads a tensor as a Python number, which a trace cannot, is
    run once eagerly for those numbers and compiled again: :mod:`flowflops.graph.values`). The
    model's hooks, training flags, parameters and buffers are as before afterwards. All counts
    are for the input as given (per batch, not per sample).

    ``ignore_modules`` / ``custom_modules_hooks`` take module classes (ops inside such a module
    cost 0 / the hook prices the module's call, in eager and graph mode; see
    :mod:`flowflops.rules.custom` for the hook styles) and OneFlow op type names (``"matmul"``: every
    op of that type costs 0 / is priced by ``fn(inputs, outputs)``), in every mode.
    ``attention="causal"`` / ``"window:W"`` counts only the attention scores a causal or
    sliding-window kernel computes (``"auto"``: causal where the compiled job builds a causal
    mask); ``experts="active"`` counts a mixture of experts by its ``top_k`` active experts.
    The dense total is then kept in ``report.upper_bounds["dense"]``
    (see :mod:`flowflops.rules.sparsity`).
    ``convention`` names whose rules price the ops (see :mod:`flowflops.conventions`):
    ``"flowflops"`` (the article's, the default), ``"ptflops"``, ``"ptflops-aten"``,
    ``"fvcore"``, ``"thop"`` or ``"torch"``. An eager count under a peer that sees functional
    calls prices them too, unless ``backend_specific_config`` sets ``count_functional``.
    ``repeats="once"`` (graph mode): a block called again on inputs of the same shapes, with
    the same parameter shapes and settings, is traced once and its records reused (same
    records, less time; see :mod:`flowflops.graph.repeats`, which says where it traces
    instead, global tensors among them, and which models the tests compare with the full
    trace); ``"trace"`` traces every call.
    ``verify=True`` also counts the model in the other engine (eager with ``count_functional``
    and graph) and sets ``report.verification``: every total, module and op type whose MACs or
    FLOPs differ between the two, with both numbers (a warning says so when they differ).
    """
    from .graph.repeats import check_repeats
    from .rules.sparsity import check_experts, parse_attention

    parse_attention(attention)
    check_experts(experts)
    report = _profile(model, input_res, input_constructor, mode, backend_specific_config,
                      ignore_modules, custom_modules_hooks, loss_fn, optimizer, target, convention,
                      check_repeats(repeats), sparsity=(attention, experts))
    if verify:
        plain = not ignore_modules and not custom_modules_hooks and attention == "dense" and experts == "all"
        report.verification = _verification(report if plain else None, model, input_res, input_constructor,
                                            mode, backend_specific_config, convention)
        if not report.verification.agree:
            warnings.warn(report.verification.to_text(), stacklevel=_user_stacklevel())
    loud = zero_share_warning(report)
    if loud:  # a large share of the parameters priced as zero: say so (as ptflops' API does)
        warnings.warn(loud, stacklevel=_user_stacklevel())
    return report


def _verification(report: Optional[Report], model: Any, input_res: Any, input_constructor: Any, mode: str,
                  cfg: Any, convention: str) -> Agreement:
    """The eager+functional and graph counts of ``model`` compared (``report``, counted without
    rules, is reused for its engine)."""
    from .analysis.agreement import agreement

    if mode not in ("eager", "graph") or isinstance(model, flow.nn.Graph):
        raise ValueError("verify=True compares an eager and a graph count of a module: give an nn.Module "
                         f"and mode='eager' or 'graph' (got mode={mode!r})")
    count = getattr(profile, "__wrapped__", profile)  # inside this guarded count: not guarded again
    functional = mode == "eager" and bool((cfg or {}).get("count_functional"))
    if functional and report is not None:
        eager = report
    else:
        eager = count(model, input_res, input_constructor=input_constructor, mode="eager",
                      backend_specific_config={"count_functional": True}, convention=convention)
    if mode == "graph" and report is not None:
        graph = report
    else:
        graph = count(model, input_res, input_constructor=input_constructor, mode="graph", convention=convention)
    return _with_renderings(Agreement, agreement(eager, graph))


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside flowflops (a warning at the user's line,
    whichever of profile() or get_model_complexity_info they called)."""
    import os

    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def _profile(model: Any, input_res: Any, input_constructor: Any, mode: str, backend_specific_config: Any,
             ignore_modules: Any, custom_modules_hooks: Any, loss_fn: Any, optimizer: Any,
             target: Any, convention: str = "flowflops", repeats: str = "trace",
             sparsity: Tuple[str, str] = ("dense", "all")) -> Report:
    """One count: check the arguments, build the inputs once, run the engine, apply the rules
    (users', peers', ``sparsity`` = ``(attention, experts)``) to its records, price them."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    conv = check_convention(convention)
    check_model(model)
    cfg = _check_config(backend_specific_config)
    if cfg.get("keep_training") and (mode != "eager" or isinstance(model, flow.nn.Graph)):
        raise ValueError("backend_specific_config={'keep_training': True} is for mode='eager' only")
    ignore, custom, op_rules = split_rules(ignore_modules, custom_modules_hooks)
    _check_rules_for_mode(model, mode, ignore, custom)
    compiled_graph = isinstance(model, flow.nn.Graph) and model._is_compiled
    if input_res is None and input_constructor is None and not compiled_graph:
        raise TypeError("give input_res (the input shape, batch included) or input_constructor")

    train = mode == "train" and not isinstance(model, flow.nn.Graph)
    if train:
        from .graph.train import check_train_args

        check_train_args(loss_fn, optimizer)
    # the counted call's arguments, built once, here, for whichever engine runs it
    # (graph and train modes only read its shape: a huge one costs no memory there)
    materialise = mode == "eager" and not isinstance(model, flow.nn.Graph)
    args, kwargs = ((), {}) if compiled_graph else call_inputs(model, input_res, input_constructor, materialise)

    if train:
        from .graph.train import trace_train

        rules = GraphRules(model, ignore, {})
        with rules.tracing():
            trace = trace_train(model, args, kwargs, loss_fn=loss_fn, optimizer=optimizer, target=target)
        return _report(trace, convention, (rules, op_rules), model, sparsity)
    if isinstance(model, flow.nn.Graph) or mode == "graph":
        from .graph.engine import trace_graph

        rules = GraphRules(None if isinstance(model, flow.nn.Graph) else model, ignore, custom)
        try:
            with rules.tracing():
                trace = trace_graph(model, args, kwargs, "trace" if rules.by_module else repeats)
        except CountError as err:
            hint = batch_hint(input_res, input_constructor)
            if not hint or "Check that the shape" not in str(err):  # only for shape problems
                raise _unless_it_fails_too(err, "eager", model, input_res, input_constructor, cfg)
            raise CountError(f"{err}{hint}") from err
        if convention != DEFAULT_CONVENTION:
            trace = _peer_graph_trace(model, trace, convention, cfg)
        return _report(trace, convention, (rules, op_rules), model, sparsity)

    cfg.setdefault("count_functional", conv.count_functional)
    try:
        trace = _trace_eager(model, args, kwargs, input_res, input_constructor, ignore, custom, cfg, convention)
    except CountError as err:
        raise _unless_it_fails_too(err, "graph", model, input_res, input_constructor, cfg)
    return _report(trace, convention, (op_rules,), model, sparsity)


def _unless_it_fails_too(err: CountError, mode: str, model: Any, input_res: Any,
                         input_constructor: Any, cfg: Dict[str, Any]) -> BaseException:
    """``err``, or where its advice, count with ``mode``, fails on the model too, the error
    without it (:func:`flowflops.runtime.advice.unless_it_fails_too`; one process only: a
    probe under ``oneflow.distributed`` would be a collective the other ranks never join)."""
    from .runtime.advice import unless_it_fails_too

    if isinstance(model, flow.nn.Graph) or flow.env.get_world_size() > 1 or getattr(_probing, "on", False):
        return err
    probe_cfg = {k: v for k, v in cfg.items() if k == "count_functional"} if mode == "eager" else {}

    def probe() -> None:
        _probing.on = True  # the probe's own failure is not probed again
        try:
            _profile(model, input_res, input_constructor, mode, probe_cfg, (), None, None, None, None)
        finally:
            _probing.on = False

    return unless_it_fails_too(err, mode, probe)


_probing = threading.local()


def _peer_graph_trace(model: Any, trace: Trace, convention: str, cfg: Dict[str, Any]) -> Trace:
    """A graph trace marked for a peer's rules; a warning for what the graph cannot reproduce
    (:mod:`flowflops.rules.peer_graph`)."""
    from dataclasses import replace

    from .rules.peer_graph import graph_caveats, mark_graph_records

    records = mark_graph_records(model, trace.records, bool(cfg.get("count_functional", True)))
    for note in graph_caveats(model, records, convention):
        warnings.warn(note, stacklevel=4)
    return replace(trace, records=records)


def _trace_eager(model: nn.Module, args: tuple, kwargs: Dict[str, Any], input_res: Any,
                 input_constructor: Optional[Callable[[Any], Any]], ignore: Tuple[type, ...],
                 custom: Dict[type, Callable], cfg: Dict[str, Any],
                 convention: str = DEFAULT_CONVENTION) -> Trace:
    """Run the eager engine; a failing forward is a :class:`CountError` naming the inputs.
    Under a module-hook peer's convention the peer's own module table and ``ignore_modules``
    semantics apply (:mod:`flowflops.eager.peer_layers`)."""
    from .eager.engine import EagerCounter
    from .eager.peer_layers import table_for

    # the module tree and each module once, at its first path (named_modules()), in one walk;
    # before the forward: the count's forward runs on its view and changes no module of the tree
    tree, named = tree_and_named(model)
    paths = {id(m): p for p, m in named}
    # the forward runs on the count's view of the model (flowflops.runtime.view): its flags,
    # hooks and attributes are the count's own, never set on the user's modules
    with counting_view(model, training=None if cfg.get("keep_training") else False, run=True,
                       modules=[m for _, m in named]) as (view, memo):
        counter = EagerCounter(
            view, {id(memo[i]): p for i, p in paths.items() if i in memo}, ignore, custom,
            table=table_for(convention), count_functional=bool(cfg.get("count_functional", False)),
            ignore_hook_only=convention == "ptflops", modules=[memo[i] for i in paths if i in memo],
        )
        try:
            counter.run(args, kwargs)
        except (CountError, CustomHookError):
            raise
        except Exception as err:
            if from_signal(err):  # the user's signal handler's own exception (a SIGTERM's
                raise             # Preempted, a SIGALRM timeout): never wrapped
            from .runtime.advice import eager_advice, reason_lines

            reason, rest = reason_lines(err)  # the advice on the line of the cause
            raise CountError(
                f"{type(model).__name__} failed on the inputs {describe_inputs(args, kwargs)} "
                f"(from input_res={input_res!r}): {type(err).__name__}: {reason}"
                + eager_advice(err, model, half_on_cpu(model), batch_hint(input_res, input_constructor)) + rest
            ) from err
    for path, at in counter.called_at.items():  # where the user's code called each module
        if path in tree:
            tree[path].called_at = at
    return Trace(counter.records, tree, "eager", describe_inputs(args, kwargs),
                 dict(counter.unsupported), counter.outputs, dict(counter.unpriced))


def _report(trace: Trace, convention: str = DEFAULT_CONVENTION, rules: Sequence[Any] = (), model: Any = None,
            sparsity: Tuple[str, str] = ("dense", "all")) -> Report:
    """Apply the user's ``rules`` in turn (``ignore_modules`` / ``custom_modules_hooks``: a
    :class:`~flowflops.graph.scopes.GraphRules` by module type, then the
    :class:`~flowflops.rules.custom.OpRules` by op type) and
    the sparsity rules (``sparsity`` = ``(attention, experts)``, see
    :func:`flowflops.rules.sparsity.mark_records`) to the trace's records, price them under
    ``convention`` and build the report. With records marked, ``report.upper_bounds["dense"]``
    is the total of the same records unmarked."""
    from .rules.sparsity import mark_records

    records = list(trace.records)
    for rule in rules:
        records = list(rule.apply(records))
    marked, kind = mark_records(records, model, *sparsity)
    entries = price_records(marked, convention, same=True)
    report = Report(entries, trace.modules, mode=trace.mode,
                    inputs=trace.inputs, unsupported=trace.unsupported,
                    module_outputs=trace.module_outputs, convention=convention,
                    unpriced_modules=trace.unpriced_modules)
    report.attention = kind
    if any(new is not old for old, new in zip(records, marked)):
        dense = [price(old, convention) if new is not old else cost
                 for old, (new, cost) in zip(records, entries)]
        total = sum((c for c in dense if c is not None), ZERO)
        if total != report.cost:
            report.upper_bounds["dense"] = total
    return report


def count_graph_text(text: str) -> Report:
    """Price a printed graph: ``repr`` of a compiled ``nn.Graph`` or any log holding its
    ``(OPERATOR: ...)`` lines (see :mod:`flowflops.graph.text`).

    Raises :class:`ParseError` for a malformed OPERATOR line, for shapes an op's formula cannot
    use (naming the line), or when there is no OPERATOR line."""
    from .graph.text import trace_graph_text

    trace, lines = trace_graph_text(text)
    try:
        return _report(trace)
    except FormulaError as err:  # shapes the formula cannot use: the text is at fault
        rec = err.record
        cause = err.__cause__ or err
        raise ParseError(f"the shapes of {rec.name!r} do not fit a {rec.op_type} op: "
                         f"{type(cause).__name__}: {cause}", line=lines.get(rec.name, 0)) from err


def get_model_complexity_info(
    model: nn.Module,
    input_res: Sequence[int],
    print_per_layer_stat: bool = True,
    as_strings: bool = True,
    input_constructor: Optional[Callable[[Any], Any]] = None,
    ost: TextIO = sys.stdout,
    verbose: bool = False,
    ignore_modules: Sequence[Any] = [],
    custom_modules_hooks: Dict[Any, Callable] = {},
    backend: Union[None, str, FLOPS_BACKEND] = None,
    flops_units: Optional[str] = None,
    param_units: Optional[str] = None,
    output_precision: int = 2,
    backend_specific_config: Dict[str, Any] = {},
    *,
    mode: Optional[str] = None,
    convention: Optional[str] = None,
) -> Tuple[Union[int, str], Union[int, str]]:
    """ptflops' API (0.7.5: same names, same positional order): ``(MACs, trainable parameters)``
    of one forward call on an input of shape ``input_res`` (**batch included**, unlike ptflops:
    ``(1, 3, 224, 224)``), as ints or, with ``as_strings``, as ptflops formats them
    (``"4.12 GMac"``, ``"25.56 M"``). MACs follow the seed article's convention (see
    :class:`flowflops.Cost`). ``print_per_layer_stat`` prints the module tree with each
    module's params and MACs to ``ost``; ``verbose`` first prints to ``ost`` what was counted
    as zero, in ptflops' words. ``backend`` (``"pytorch"``, ``"aten"`` or a
    :class:`FLOPS_BACKEND`) picks the engine nearest to ptflops' (see
    :mod:`flowflops.backends`); ``mode`` (keyword only) picks flowflops' engine directly.
    ``convention`` (keyword only) gives another tool's MACs from the same count (see
    :func:`profile`); it overrides the one ``backend`` implies.
    """
    mode, convention = resolve_backend(backend, mode, convention)
    report = profile(  # warns where a large share of the parameters is priced as zero
        model, input_res, input_constructor=input_constructor, mode=mode,
        backend_specific_config=backend_specific_config, ignore_modules=ignore_modules,
        custom_modules_hooks=custom_modules_hooks, convention=convention,
    )
    if convention == "ptflops" and report.mode == "eager" and isinstance(model, nn.Module):
        # ptflops' own words: its zero-op module list, its rows (module hooks only)
        from .analysis.ptflops_view import ptflops_view
        from .render.ptflops_text import ptflops_tree, zero_op_lines

        view = ptflops_view(report, model, 1, ignore_modules, custom_modules_hooks)
        if verbose:
            for line in zero_op_lines(view.zero_op_types):
                print(line, file=ost)
        if print_per_layer_stat:
            print(ptflops_tree(report, view, flops_units, param_units, output_precision), file=ost)
    else:
        if verbose:
            for line in zero_op_warnings(report):
                print(line, file=ost)
        if print_per_layer_stat:
            print_report(report, ost=ost, units=flops_units, precision=output_precision, param_units=param_units)
    macs, params = report.macs, report.trainable_params
    if as_strings:
        return (
            flops_to_string(macs, units=flops_units, precision=output_precision),
            params_to_string(params, units=param_units, precision=output_precision),
        )
    return macs, params
