"""``flowflops sweep``: counts of a language model over sequence lengths and batch sizes, the
exact polynomial in the length, an optional chart, and optionally a whole generation.

    flowflops sweep MODEL --seq-lens 128,256,512 [--batch-sizes 1,2] [--mode graph|eager]
                    [--attention dense|causal|window:W|auto] [--experts all|active]
                    [--generate P,N] [--plot FILE.png] [--format text|json] [--output FILE]
                    [--kwargs JSON] [--debug]

MODEL is ``gpt2-medium``, ``llama2-70b`` or ``decoder`` (the reference decoder of
:mod:`flowflops.models`, built with untouched parameters, ``--kwargs`` overriding its config),
or ``package.module:factory`` for a model of your own (called ``model(idx=ids)``; give it an
``empty_cache(batch, length)`` and a ``past`` argument for ``--generate``).
"""
from __future__ import annotations

import argparse
import json
from typing import Any, Callable, Dict, List

__all__ = ["PRESETS", "sweep_parser", "cmd_sweep"]

PRESETS = ("gpt2-medium", "llama2-70b", "decoder")


def sweep_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowflops sweep", description=(
        "MACs of a language model's forward over sequence lengths and batch sizes, with the exact "
        "polynomial in the length; --generate P,N adds a whole generation (prefill + decode steps)."))
    p.add_argument("model", help=f"one of {', '.join(PRESETS)}, or package.module:factory")
    p.add_argument("--seq-lens", default="128,256,512,1024", help="comma-separated sequence lengths")
    p.add_argument("--batch-sizes", default="1", help="comma-separated batch sizes")
    p.add_argument("--mode", choices=("graph", "eager"), default="graph")
    p.add_argument("--attention", default="dense", help="dense | causal | window:W | auto")
    p.add_argument("--experts", choices=("all", "active"), default="all")
    p.add_argument("--generate", default=None, metavar="P,N", help="also count a generation: prompt P, N new tokens")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="chart of MACs against length (needs matplotlib)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--output", default=None)
    p.add_argument("--kwargs", default=None, help="JSON: config overrides (presets) or factory arguments")
    p.add_argument("--debug", action="store_true")
    return p


def _ints(text: str, what: str) -> List[int]:
    from .common import CliError

    try:
        vals = [int(x) for x in text.split(",")]
    except ValueError:
        vals = []
    if not vals or min(vals) < 1:
        raise CliError(f"bad {what} {text!r}: give comma-separated positive ints, e.g. 128,256,512")
    return vals


def _model(name: str, kwargs: dict) -> Any:
    from .common import CliError, load_model

    if name not in PRESETS:
        return load_model(name, kwargs)
    from .. import models

    makers: Dict[str, Callable[..., Any]] = {
        "gpt2-medium": models.gpt2_medium, "llama2-70b": models.llama2_70b, "decoder": models.DecoderConfig}
    make = makers[name]
    try:
        cfg = make(**{"lazy": True, **kwargs})
        return models.Decoder(cfg)
    except (TypeError, ValueError) as err:
        raise CliError(f"cannot build {name} with --kwargs {kwargs}: {err}")


def cmd_sweep(args: argparse.Namespace) -> None:
    from ..tools import llm
    from .common import CliError, _write, parse_kwargs
    from ..render.llm import generation_dict, sweep_dict
    from ..rules.sparsity import parse_attention

    try:
        parse_attention(args.attention)
    except ValueError as err:
        raise CliError(str(err))
    kwargs = parse_kwargs(args.kwargs)
    seqs, batches = _ints(args.seq_lens, "--seq-lens"), _ints(args.batch_sizes, "--batch-sizes")
    gen = _ints(args.generate, "--generate") if args.generate else None
    if gen is not None and len(gen) != 2:
        raise CliError(f"bad --generate {args.generate!r}: give P,N (prompt length, new tokens)")
    model = _model(args.model, kwargs)
    opts = dict(mode=args.mode, attention=args.attention, experts=args.experts)
    s = llm.sweep(model, seqs, batches, **opts)
    g = llm.generation(model, gen[0], gen[1], **opts) if gen else None
    if args.format == "json":
        data = {"sweep": sweep_dict(s), "generation": generation_dict(g) if g else None}
        text = json.dumps(data, indent=2)
    else:
        text = s.summary() + (("\n" + g.summary()) if g else "")
    _write(text, args.output)
    if args.plot:
        try:
            s.plot(args.plot)
        except ImportError:
            raise CliError("--plot needs matplotlib: pip install matplotlib")
