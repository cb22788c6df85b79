"""``flowflops MODEL --input-shape B,3,H,W --symbolic [--domain H=32,W=32]``: the model's cost
as exact formulas in the named sizes (see :mod:`flowflops.tools.symbolic`), per module down
to ``--depth`` (1 by default), as text, JSON, Markdown or LaTeX."""
from __future__ import annotations

import argparse
from typing import Any, Callable, Dict, Tuple, Union

from .common import CliError, _write

__all__ = ["add_arguments", "check_symbolic_flags", "parse_spec", "parse_domain", "cmd_symbolic"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--symbolic", action="store_true",
                   help="exact formulas in the names of --input-shape (e.g. B,3,H,W), per module to --depth")
    p.add_argument("--domain", default=None, metavar="H=32,T=2..1024",
                   help="--symbolic: the sizes a name covers: NAME=M (multiples of M) or NAME=A..B")
    p.add_argument("--split", default=None, metavar="H=2,W=2",
                   help="--symbolic: one formula per residue class of NAME modulo M (e.g. the parity of H)")


def check_symbolic_flags(args: argparse.Namespace) -> None:
    """``--domain`` and ``--split`` shape the formulas of ``--symbolic``: given without it they
    would be ignored, so they are refused, naming the fix."""
    given = [f for f, v in (("--domain", getattr(args, "domain", None)), ("--split", getattr(args, "split", None)))
             if v is not None]
    if given and not getattr(args, "symbolic", False):
        raise CliError(f"{' and '.join(given)} only go with --symbolic (exact formulas in the names of "
                       "--input-shape): add --symbolic with a shape that names its sizes, e.g. "
                       "--input-shape B,3,H,W --symbolic --domain H=32,W=32; or drop "
                       f"{' and '.join(given)} to count one shape")


def parse_spec(text: Any) -> Tuple[Union[int, str], ...]:
    """``"B,3,H,W" -> ("B", 3, "H", "W")``."""
    if not text:
        raise CliError("--symbolic needs --input-shape with names for the sizes that vary, e.g. B,3,H,W")
    out = []
    for part in text.split(","):
        part = part.strip()
        if part.isdigit() and int(part) > 0:
            out.append(int(part))
        elif part.isidentifier() and not part.startswith("_"):
            out.append(part)
        else:
            raise CliError(f"bad --input-shape {text!r} for --symbolic: give positive ints and names, e.g. B,3,H,W")
    if not any(isinstance(s, str) for s in out):
        raise CliError(f"--input-shape {text!r} names no size: --symbolic needs names, e.g. B,3,H,W")
    return tuple(out)


def parse_domain(text: Any) -> Dict[str, Union[int, range]]:
    """``"H=32,T=2..1024" -> {"H": 32, "T": range(2, 1025)}``."""
    out: Dict[str, Union[int, range]] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        lo, dots, hi = value.partition("..")
        try:
            if not eq:
                raise ValueError
            out[name.strip()] = range(int(lo), int(hi) + 1) if dots else int(value)
        except ValueError:
            raise CliError(f"bad --domain {text!r}: give NAME=M (multiples of M) or NAME=A..B, comma-separated, "
                           "e.g. H=32,W=32 or T=2..1024") from None
    return out


def parse_split(text: Any) -> Dict[str, int]:
    """``"H=2,W=2" -> {"H": 2, "W": 2}``."""
    out: Dict[str, int] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        if not eq or not value.strip().isdigit() or int(value) < 1:
            raise CliError(f"bad --split {text!r}: give NAME=M (M residue classes), comma-separated, e.g. H=2,W=2")
        out[name.strip()] = int(value)
    return out


def cmd_symbolic(args: argparse.Namespace, build: Callable[[], Tuple[Any, Any, tuple]]) -> None:
    from ..tools.symbolic import piecewise, symbolic

    for flag, bad in (("--mode both", args.mode == "both"), ("--plot", args.plot), ("--device", args.device),
                      ("--measure", args.measure), ("--conventions", args.conventions),
                      ("--top", args.top is not None)):
        if bad:
            raise CliError(f"{flag} does not go with --symbolic: count one shape for it, without --symbolic")
    if args.format in ("csv", "html"):
        raise CliError(f"--symbolic writes text, json, markdown or latex, not {args.format}")
    spec = parse_spec(args.input_shape)
    domain = parse_domain(args.domain)
    split = parse_split(getattr(args, "split", None))
    model, ctor, _ = build()
    cfg = {"count_functional": True} if args.count_functional else {}
    kw = dict(domain=domain, input_constructor=ctor, mode=args.mode, convention=args.convention,
              backend_specific_config=cfg)
    depth = 1 if args.depth is None else args.depth
    try:
        sym: Any = piecewise(model, spec, split, **kw) if split else symbolic(model, spec, **kw)
    except (ValueError, TypeError) as err:  # the names, the domain: the user's arguments
        raise CliError(str(err))
    if args.format == "json":
        text = sym.to_json()
    elif args.format == "markdown":
        text = sym.to_markdown(depth)
    elif args.format == "latex":
        text = "\n".join(sym.to_latex(q) for q in ("macs", "flops", "params", "bytes"))
    else:
        text = sym.table(depth)
    _write(text, args.output)


#: what reading a hand-edited or foreign --symbolic file can raise (a field of the wrong type
#: or size): one line, exit 2, never a traceback (issue 29)
_UNREADABLE = (ArithmeticError, AttributeError, IndexError, KeyError, RecursionError, StopIteration,
               TypeError, ValueError)


def _load_symbolic(path: str) -> Any:
    """The :class:`Symbolic` (or, with ``--split``, :class:`PiecewiseSymbolic`) in ``path`` (a
    ``--symbolic --format json`` file), or ``None`` when the file is something else (a report:
    the plain diff reads it)."""
    import json
    import os

    from ..result import MAX_REPORT_BYTES

    if not os.path.isfile(path) or os.path.getsize(path) > MAX_REPORT_BYTES:
        return None  # the report reader refuses it with one line
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    from ..tools.symbolic import PiecewiseSymbolic, Symbolic

    if {"spec", "split", "pieces"} <= set(data):  # --symbolic --split: one formula per residue class
        read: Callable[[Any], Any] = PiecewiseSymbolic.from_dict
    elif {"spec", "dims", "total", "modules", "operators"} <= set(data):
        read = Symbolic.from_dict
    else:
        return None
    try:
        return read(data)
    except _UNREADABLE as err:
        raise CliError(f"{path} looks like a --symbolic JSON file but cannot be read: {err}") from None


def cmd_symbolic_diff(args: argparse.Namespace, names: Any) -> bool:
    """``flowflops diff A.json B.json`` where both files hold formulas (``--symbolic --format
    json``): B - A formula by formula. False (nothing written) when they are not both such files."""
    import json

    a, b = _load_symbolic(args.a), _load_symbolic(args.b)
    if a is None and b is None:
        return False
    if a is None or b is None:
        raise CliError("diff compares two reports or two --symbolic formula files, not one of each: "
                       f"{args.a if a is None else args.b} is not a --symbolic JSON file")
    if args.format not in ("json", "text"):
        raise CliError(f"diff of two --symbolic files writes text or json, not {args.format}")
    try:
        result = a.diff(b, names or (args.a, args.b))
    except ValueError as err:
        raise CliError(str(err))
    except _UNREADABLE as err:  # a field of the right shape for from_dict, but not a formula's
        raise CliError(f"{args.a} and {args.b} look like --symbolic JSON files but cannot be compared: "
                       f"{type(err).__name__}: {err}") from None
    try:
        text = json.dumps(result.to_dict(), indent=2) if args.format == "json" else \
            result.to_text(args.depth, args.all)
    except _UNREADABLE as err:
        raise CliError(f"{args.a} and {args.b} look like --symbolic JSON files but cannot be compared: "
                       f"{type(err).__name__}: {err}") from None
    _write(text, args.output)
    return True
