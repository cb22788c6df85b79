"""What the ``flowflops`` subcommands share: the user error (:class:`CliError`: one line, exit
status 2), reading shapes, ``--kwargs`` and models by name, checking and writing ``--output``."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any, Dict, Optional, Tuple

__all__ = ["CliError", "parse_shape", "parse_kwargs", "load_model", "check_output_path"]


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def parse_shape(text: str) -> tuple:
    """``"1,3,224,224" -> (1, 3, 224, 224)``."""
    try:
        shape = tuple(int(p) for p in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise CliError(f"bad --input-shape {text!r}: give comma-separated positive ints, e.g. 1,3,224,224")
    return shape


def parse_kwargs(text: Optional[str]) -> Dict[str, Any]:
    """``--kwargs``: a JSON object of keyword arguments for the model factory (``{}`` when not
    given)."""
    try:
        kwargs = json.loads(text) if text else {}
    except json.JSONDecodeError as err:
        raise CliError(f"bad --kwargs: not JSON ({err})")
    if not isinstance(kwargs, dict):
        raise CliError("bad --kwargs: give a JSON object, e.g. '{\"num_classes\": 10}'")
    return kwargs


def _factory(name: str) -> Any:
    """The factory a model name stands for (a flowvision name, or ``package.module:factory``)."""
    if ":" in name and name.split(":", 1)[0] in ("timm", "hf"):
        raise CliError(f"{name!r} is a PyTorch-ecosystem model: count it with `flowflops {name}`")
    if ":" in name:
        mod_name, _, attr = name.partition(":")
        _cwd_on_path()
        try:
            return getattr(importlib.import_module(mod_name), attr)
        except Exception as err:  # ImportError, AttributeError, and the module's own SyntaxError/NameError
            raise CliError(f"cannot load {name!r}: {type(err).__name__}: {_first_line(err)}")
    import flowvision.models as zoo

    factory = getattr(zoo, name, None)
    if factory is None or not callable(factory) or name.startswith("_") or isinstance(factory, type(zoo)):
        raise CliError(
            f"unknown model {name!r}: give a flowvision model name (e.g. resnet50) or "
            "package.module:factory for your own code"
        )
    return factory


def _cwd_on_path() -> None:
    """Let ``package.module:factory`` import from the current directory, as ``python -m`` does
    (an installed console script's ``sys.path`` starts at its own ``bin/`` folder instead)."""
    cwd = os.getcwd()
    if cwd not in [os.path.abspath(p or os.curdir) for p in sys.path]:
        sys.path.insert(0, cwd)


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else ""


def load_model(name: str, kwargs: Optional[dict] = None) -> Any:
    """A flowvision model by name (``resnet50``), or ``package.module:factory``. Keyword
    arguments the factory does not take are a ``--kwargs`` error; an error raised inside the
    factory is named as the factory's, in one line."""
    import inspect

    kwargs = kwargs or {}
    factory = _factory(name)
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as err:
        raise CliError(f"cannot build {name!r} with --kwargs {kwargs}: {err}")
    except ValueError:  # no signature to check (a builtin): the call will tell
        pass
    try:
        return factory(**kwargs)
    except Exception as err:
        raise CliError(f"the model factory {name!r} raised {type(err).__name__}: {_first_line(err)} "
                       "(an error inside the factory; rerun with --debug for the traceback)") from err


def check_output_path(path: Optional[str], option: str) -> None:
    """Refuse, before any work, a file to write whose folder does not exist, or that is a
    folder itself (``-`` for ``--output`` is standard output)."""
    if path and not (path == "-" and option == "--output"):
        if os.path.isdir(path):
            raise CliError(f"{option} {path!r} is a folder: give a file name in it")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise CliError(f"{option} {path!r}: the folder {folder!r} does not exist; create it first")


def _count(text: str) -> int:
    """argparse type: a whole number >= 0 (``--depth``, ``--top``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: give 0 or more")
    return value


def _write(text: str, output: Optional[str]) -> None:
    if output and output != "-":
        with open(output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _build_model(args: argparse.Namespace, kwargs: dict) -> Tuple[Any, Any, tuple]:
    """``(model, input_constructor, input shape)`` for the command's model name."""
    from ..torch_models import build, is_torch_model_name

    if is_torch_model_name(args.model):
        try:
            built = build(args.model, kwargs)
        except ImportError as err:
            raise CliError(f"{args.model} needs the torch-models extra ({err}): pip install "
                           "'flowflops[torch-models]' and pip install --no-deps timm==0.6.12")
        except ValueError as err:
            raise CliError(str(err))
        shape = parse_shape(args.input_shape) if args.input_shape else built.default_input_res
        return built.model, built.input_constructor, shape
    shape = parse_shape(args.input_shape or "1,3,224,224")
    model = load_model(args.model, kwargs)
    import oneflow.nn as nn

    if not isinstance(model, (nn.Module, nn.Graph)):
        raise CliError(f"the model factory {args.model!r} returned {type(model).__name__}, not a "
                       "model: return an oneflow.nn.Module (or nn.Graph)")
    return model, None, shape
