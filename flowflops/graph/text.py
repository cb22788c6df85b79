"""Printed graph -> op records: ``repr`` of a compiled ``nn.Graph``, or any log holding its
``(OPERATOR: ...)`` lines (OneFlow's ``nn/graph/util.py::operators_repr``), priced from the
shapes printed there (the text carries no attributes).

One line is one operator::

    (OPERATOR: <op name>(<inputs>) -> (<outputs>), placement=(<placement>)[, location=(<text>)])

(older OneFlow writes ``):placement=(`` for ``), placement=(``). An input or output is
``<tensor name>:(sbp=(B), size=(1, 64), dtype=(oneflow.float32))`` (variables and graph
inputs/outputs print it without the outer parentheses), a list argument is ``[a, b]``, and an
op OneFlow does not detail prints ``...``. Each OPERATOR line is parsed by a small cursor
parser (linear in the line, no backtracking), so a malformed line is a :class:`ParseError`
naming its line, never another exception.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..errors import ParseError
from ..records import IN_SBP, OUT_SBP, PLACEMENT, ModuleInfo, OpRecord, Shape, Trace, ancestors
from .naming import module_paths, relative_path, split_op_name

__all__ = ["TensorArg", "OperatorLine", "parse_operator_entries", "parse_operator_lines", "trace_graph_text"]

_OPERATOR = "(OPERATOR:"
_NAME = re.compile(r'[^()\[\]:,="\s]+')  # names run up to a delimiter or whitespace
_DIGITS = re.compile(r"[0-9]+")
_GRAPH = re.compile(r"\(GRAPH:([^:\s]+):")
_MAX_DIM = 2 ** 63 - 1  # OneFlow dimensions are int64
_MAX_DIGITS = 19
_MAX_NESTING = 8  # placement rank lists: [[0, 1], [2, 3]] is depth 2
_MAX_DEPTH = 256  # module nesting; real models stay far below
_MAX_ODD_PATH = 256  # the longest module path with odd characters looked for in names


@dataclass(frozen=True)
class TensorArg:
    """One printed tensor: its (logical blob) name, nd-sbp, shape and dtype."""

    name: str
    sbp: Tuple[str, ...]
    size: Shape
    dtype: str


@dataclass(frozen=True)
class OperatorLine:
    """One parsed ``(OPERATOR: ...)`` line. ``inputs``/``outputs`` are ``None`` when the op
    printed ``...`` (OneFlow does not detail it); a list argument is flattened in order."""

    name: str
    inputs: Optional[Tuple[TensorArg, ...]]
    outputs: Optional[Tuple[TensorArg, ...]]
    placement: Optional[Dict[str, Any]] = None
    location: Optional[str] = None
    line: int = 0


class _Cursor:
    """A position in one line; every failure is a ParseError naming the line and column."""

    def __init__(self, text: str, pos: int, line: int, odd: "Optional[_OddPaths]" = None) -> None:
        self.text, self.pos, self.line = text, pos, line
        self.odd = odd

    def fail(self, message: str) -> ParseError:
        near = self.text[self.pos:self.pos + 30]
        where = f"column {self.pos + 1}, near {near!r}" if near else "end of line"
        return ParseError(f"bad OPERATOR line: {message} (at {where})", line=self.line)

    def skip_ws(self) -> None:
        while self.text.startswith((" ", "\t"), self.pos):
            self.pos += 1

    def accept(self, literal: str) -> bool:
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.accept(literal):
            raise self.fail(f"expected {literal!r}")

    def comma(self) -> bool:
        """Accept ``,`` and the spaces after it."""
        if self.accept(","):
            self.skip_ws()
            return True
        return False

    def name(self, what: str) -> str:
        """A run of characters that are neither whitespace nor delimiters, after a module path
        of the graph that holds such characters (a space, quote, comma...) when the name starts
        with one (``m.a b-matmul-0``)."""
        start = self.pos
        pos = self.odd.prefix(self.text, start) if self.odd else start
        m = _NAME.match(self.text, pos)
        if m is None:
            raise self.fail(f"expected {what}")
        self.pos = m.end()
        return self.text[start:self.pos]

    def integer(self) -> int:
        m = _DIGITS.match(self.text, self.pos)
        if m is None:
            raise self.fail("expected a number")
        digits = m.group()
        if len(digits) > _MAX_DIGITS or int(digits) > _MAX_DIM:
            raise self.fail("number out of range for a tensor dimension")
        self.pos = m.end()
        return int(digits)


#: what a name cut at an odd character needs
_ODD_HINT = ("; a module name holding a space, quote, comma, bracket or '=' is read only from the "
             "graph's whole repr, whose (MODULE: ...) lines name the module")


class _OddPaths:
    """The module paths of a printed graph that hold characters a name otherwise stops at
    (``add_module("a b", ...)``), from its ``(MODULE:<path>:<Type>(...)): (`` lines; OneFlow
    refuses ':' in a module name, so the path ends at the first ':'. A name is tried against
    each distinct length of such paths (at most :data:`_MAX_ODD_PATH`), so a line stays cheap."""

    def __init__(self, text: str) -> None:
        self.paths: Dict[int, set] = {}
        for line in text.split("\n"):
            if _OPERATOR in line:
                continue
            body = _paren_body(line, "(MODULE:")
            if body is None or ":" not in body:
                continue
            path = body.split(":", 1)[0]
            if path and len(path) <= _MAX_ODD_PATH and _NAME.fullmatch(path) is None:
                self.paths.setdefault(len(path), set()).add(path)
        self.lengths = sorted(self.paths, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.paths)

    def prefix(self, text: str, pos: int) -> int:
        """Past the longest such path that starts a name at ``pos`` (the name goes on after it
        with '-', '.' or '/'), else ``pos``."""
        for n in self.lengths:
            if text[pos + n:pos + n + 1] in ("-", ".", "/") and text[pos:pos + n] in self.paths[n]:
                return pos + n
        return pos


# -- one OPERATOR line -------------------------------------------------------------------------

def _sbp(c: _Cursor) -> Tuple[str, ...]:
    """``sbp=(S(0), B)`` -> ``("S(0)", "B")``."""
    c.expect("sbp=(")
    out: List[str] = []
    if c.accept(")"):
        return ()
    while True:
        if c.accept("B"):
            out.append("B")
        elif c.accept("P"):
            out.append("P")
        elif c.accept("S("):
            axis = c.integer()
            c.expect(")")
            out.append(f"S({axis})")
        else:
            raise c.fail("expected an sbp (B, P or S(axis))")
        if c.accept(")"):
            return tuple(out)
        if not c.comma():
            raise c.fail("expected ',' or ')' in sbp")


def _size(c: _Cursor) -> Shape:
    """``size=(1, 64)`` -> ``(1, 64)``; ``size=(64)`` and ``size=(64,)`` are 1-d, ``size=()`` a
    scalar."""
    c.expect("size=(")
    dims: List[int] = []
    while not c.accept(")"):
        dims.append(c.integer())
        if c.accept(")"):
            break
        if not c.comma():
            raise c.fail("expected ',' or ')' in size")
    return tuple(dims)


def _dtype(c: _Cursor) -> str:
    c.expect("dtype=(")
    dtype = c.name("a dtype")
    c.expect(")")
    return dtype


def _tensor(c: _Cursor) -> TensorArg:
    """``name:(sbp=(..), size=(..), dtype=(..))`` or the same without the outer parentheses."""
    name = c.name("a tensor name")
    if not c.accept(":"):
        raise c.fail("expected ':' after a tensor name" + ("" if c.odd else _ODD_HINT))
    wrapped = c.accept("(")
    sbp = _sbp(c)
    if not c.comma():
        raise c.fail("expected ', size=('")
    size = _size(c)
    if not c.comma():
        raise c.fail("expected ', dtype=('")
    dtype = _dtype(c)
    if wrapped:
        c.expect(")")
    return TensorArg(name, sbp, size, dtype)


def _args(c: _Cursor) -> Optional[Tuple[TensorArg, ...]]:
    """The inside of an argument list, up to and including its closing ``)``; ``None`` for
    ``...``. A list argument ``[a, b]`` is flattened."""
    if c.accept("...)"):
        return None
    out: List[TensorArg] = []
    if c.accept(")"):
        return ()
    while True:
        if c.accept("["):
            while True:
                out.append(_tensor(c))
                if c.accept("]"):
                    break
                if not c.comma():
                    raise c.fail("expected ',' or ']' in a list argument")
        else:
            out.append(_tensor(c))
        if c.accept(")"):
            return tuple(out)
        if not c.comma():
            raise c.fail("expected ',' or ')' between arguments")


def _value(c: _Cursor, depth: int = 0) -> Any:
    """A placement keyword's value: ``"cpu"``, a number, or a list of them as a tuple:
    ``[0, 1] -> (0, 1)``, ``[[0, 1], [2, 3]] -> ((0, 1), (2, 3))``."""
    if c.accept('"'):
        end = c.text.find('"', c.pos)
        if end < 0:
            raise c.fail("unterminated string")
        s, c.pos = c.text[c.pos:end], end + 1
        return s
    if c.accept("["):
        if depth >= _MAX_NESTING:
            raise c.fail("lists nested too deep")
        items: List[Any] = []
        while not c.accept("]"):
            items.append(_value(c, depth + 1))
            if c.accept("]"):
                break
            if not c.comma():
                raise c.fail("expected ',' or ']'")
        return tuple(items)
    return c.integer()


def _placement(c: _Cursor) -> Optional[Dict[str, Any]]:
    """``oneflow.placement(type="cpu", ranks=[0, 1])`` -> ``{"type": "cpu", "ranks": (0, 1)}``;
    ``None`` -> ``None``. Consumes the closing ``)`` of ``placement=(``."""
    if c.accept("None)"):
        return None
    c.expect("oneflow.placement(")
    out: Dict[str, Any] = {}
    while not c.accept(")"):
        key = c.name("a placement keyword")
        c.expect("=")
        out[key] = _value(c)
        if c.accept(")"):
            break
        if not c.comma():
            raise c.fail("expected ',' or ')' in placement")
    c.expect(")")
    return out


def _operator(text: str, start: int, line: int, odd: Optional[_OddPaths] = None) -> OperatorLine:
    """Parse the OPERATOR entry of ``text`` starting at ``start`` (its ``(OPERATOR:``)."""
    c = _Cursor(text, start + len(_OPERATOR), line, odd)
    c.skip_ws()
    name = c.name("an op name")
    if not c.accept("("):
        raise c.fail("expected '(' after the op name" + ("" if c.odd else _ODD_HINT))
    inputs = _args(c)
    c.skip_ws()
    c.expect("->")
    c.skip_ws()
    c.expect("(")
    outputs = _args(c)
    placement = location = None
    if c.accept(", placement=(") or c.accept(":placement=("):
        placement = _placement(c)
    if c.accept(", location=("):
        # Free text (Python stack frames, which may hold any bracket): the rest of the line.
        rest = text.rstrip()
        if not rest.endswith("))") or len(rest) - 2 < c.pos:
            raise c.fail("expected the location to end the line with '))'")
        location, c.pos = rest[c.pos:-2], len(rest) - 1
    c.expect(")")
    if text[c.pos:].strip():
        raise c.fail("unexpected text after the operator")
    return OperatorLine(name, inputs, outputs, placement, location, line)


def parse_operator_entries(text: str) -> List[OperatorLine]:
    """Every ``(OPERATOR: ...)`` line of ``text`` (anything before ``(OPERATOR:`` on a line, such
    as a log prefix, is ignored), parsed and validated, in text order.

    Raises :class:`ParseError` (with the 1-based line) for a malformed line, or when there is
    no OPERATOR line at all."""
    entries = []
    odd = _OddPaths(text)
    for number, line in enumerate(text.split("\n"), 1):
        start = line.find(_OPERATOR)
        if start >= 0:
            entries.append(_operator(line, start, number, odd))
    if not entries:
        raise ParseError("no (OPERATOR: ...) line found: expected the repr of a compiled "
                         "nn.Graph or a log holding its OPERATOR lines", line=1)
    return entries


# -- OPERATOR lines -> records -------------------------------------------------------------------

def _gamma_index(n_inputs: int) -> Optional[int]:
    """Position of ``gamma`` among a ``normalization`` op's inputs: ``x, moving_mean,
    moving_variance, gamma, beta[, _add_to_output]`` or, without running statistics,
    ``x, gamma, beta[, _add_to_output]``."""
    if n_inputs >= 5:
        return 3
    if n_inputs >= 3:
        return 1
    return None


def _valid_scope(scope: str) -> bool:
    """A module scope: ``""`` (the graph itself) or dot-separated non-empty names, nested no
    deeper than any real model (paths are walked ancestor by ancestor)."""
    return not scope or (scope.count(".") < _MAX_DEPTH and all(scope.split(".")))


def _user_ops(entries: List[OperatorLine]) -> List[Tuple[OperatorLine, str, str]]:
    """``(entry, scope, op type)`` of every user op (an op named ``<scope>-<type>-<n>`` with its
    arguments printed), each op name once: a log holding the same graph twice counts it once,
    but one name printed with two different signatures is an error."""
    seen: Dict[str, OperatorLine] = {}
    out = []
    for e in entries:
        parts = split_op_name(e.name)
        if parts is None or e.inputs is None or e.outputs is None:
            continue
        if not _valid_scope(parts[0]):
            raise ParseError(f"op {e.name!r}: {parts[0][:60]!r} is not a module path", line=e.line)
        first = seen.get(e.name)
        if first is not None:
            if (first.inputs, first.outputs) != (e.inputs, e.outputs):
                raise ParseError(f"op {e.name!r} printed twice with different arguments "
                                 f"(first on line {first.line})", line=e.line)
            continue
        seen[e.name] = e
        out.append((e, parts[0], parts[1]))
    return out


def _record(e: OperatorLine, module: str, op_type: str) -> OpRecord:
    inputs, outputs = e.inputs or (), e.outputs or ()
    attrs: Dict[str, Any] = {
        IN_SBP: tuple(t.sbp for t in inputs),
        OUT_SBP: tuple(t.sbp for t in outputs),
    }
    if e.placement is not None:
        attrs[PLACEMENT] = e.placement
    if op_type == "normalization":
        i = _gamma_index(len(inputs))
        if i is not None:
            producer = split_op_name(inputs[i].name.split("/", 1)[0])
            attrs["affine"] = not (producer is not None and producer[1] == "constant")
    return OpRecord(op_type, module, tuple(t.size for t in inputs),
                    tuple(t.size for t in outputs), attrs, e.name)


def _graph_name(text: str) -> str:
    """The graph's name, from its ``(GRAPH:<name>:<class>): (`` line (``""`` in a bare log)."""
    m = _GRAPH.search(text)
    return m.group(1) if m else ""


def _records_and_root(text: str) -> Tuple[List[OpRecord], List[int], str]:
    """Records, the line of each, and the scope they were made relative to. Ops in the graph's
    own scope (a training graph's bookkeeping) belong to the root, as in ``job_records``."""
    ops = _user_ops(parse_operator_entries(text))
    paths, root = module_paths({e.name: scope for e, scope, _ in ops}, _graph_name(text))
    records = [_record(e, paths[e.name], t) for e, _, t in ops]
    return records, [e.line for e, _, _ in ops], root


def parse_operator_lines(text: str) -> List[OpRecord]:
    """One :class:`OpRecord` per user op of a printed graph, in text order, as
    :func:`flowflops.graph.job.job_records` makes them from the job: op type and module from the
    op name (``"model.layer1.0-conv2d-3"``), module paths relative to the graph's single model
    attribute when there is one, shapes in argument order (list arguments flattened).

    Variables, graph inputs/outputs and ops printed as ``(...)`` are parsed and validated but
    give no record. ``attrs`` holds ``_in_sbp``/``_out_sbp`` (one tuple of sbp strings per
    tensor), ``_placement`` (``{"type": "cpu", "ranks": (0, 1)}``, when printed) and, for
    ``normalization``, ``affine`` (False when ``gamma`` comes from a ``constant`` op).

    Raises :class:`ParseError` naming the line of a malformed OPERATOR line, or when there is
    none."""
    return _records_and_root(text)[0]


# -- module tree -------------------------------------------------------------------------------

@dataclass
class _Tree:
    types: "OrderedDict[str, Tuple[str, str]]" = field(default_factory=OrderedDict)  # full path -> (type, extra)
    params: List[Tuple[str, int, bool]] = field(default_factory=list)  # (full module, numel, trainable)
    graph_type: str = ""


def _paren_body(line: str, tag: str) -> Optional[str]:
    """``"  (MODULE:a.b:Conv2d(3, 4)): ("`` with tag ``"(MODULE:"`` -> ``"a.b:Conv2d(3, 4)"``."""
    start = line.find(tag)
    if start < 0:
        return None
    body = line[start + len(tag):].rstrip()
    for end in ("): (", "): ()", ")"):
        if body.endswith(end):
            return body[: -len(end)]
    return None


def _param_numel(text: str) -> Optional[int]:
    """Elements of the first ``size=(...)`` of a printed tensor; ``None`` when unreadable."""
    start = text.find("size=(")
    end = text.find(")", start + 6) if start >= 0 else -1
    if end < 0:
        return None
    n = 1
    for d in text[start + 6:end].split(","):
        d = d.strip()
        if not d:
            continue
        if not (d.isascii() and d.isdigit()) or len(d) > _MAX_DIGITS:
            return None
        n *= int(d)
    return n


def _read_tree(text: str) -> _Tree:
    """Best effort, never failing: module types from ``(MODULE:path:Type(extra)): (`` lines and
    parameter sizes from ``(PARAMETER:name:tensor(..., size=(...), ...)): ()`` entries (which
    may wrap onto following lines; trainable when a ``grad_fn`` is printed)."""
    tree = _Tree()
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if "(OPERATOR:" in line:
            continue
        body = _paren_body(line, "(MODULE:")
        if body is not None and ":" in body:
            path, rest = body.split(":", 1)
            type_name, _, extra = rest.partition("(")
            if path and path not in tree.types:
                tree.types[path] = (type_name, extra[:-1] if extra.endswith(")") else extra)
            continue
        graph = _paren_body(line, "(GRAPH:")
        if graph is not None and not tree.graph_type:
            tree.graph_type = graph.rpartition(":")[2]
            continue
        start = line.find("(PARAMETER:")
        if start >= 0:
            entry = line[start:]
            for _ in range(4):  # a wrapped tensor repr continues on the next lines
                if entry.rstrip().endswith("): ()") or i >= len(lines):
                    break
                entry += " " + lines[i].strip()
                i += 1
            name = entry[len("(PARAMETER:"):].split(":", 1)[0]
            n = _param_numel(entry)
            if "." in name and n is not None:
                tree.params.append((name.rsplit(".", 1)[0], n, "grad_fn=" in entry))
    return tree


def _module_tree(text: str, records: List[OpRecord], root: str) -> "OrderedDict[str, ModuleInfo]":
    """Path -> ModuleInfo: every printed module (relative to ``root``), every module a record
    names, and their ancestors; parameters summed into each module and its ancestors."""
    printed = _read_tree(text)
    modules: "OrderedDict[str, ModuleInfo]" = OrderedDict()

    def add(path: str, type_name: str = "?", extra: str = "") -> ModuleInfo:
        for p in ancestors(path):  # parents first, so each can take its children
            if p not in modules:
                modules[p] = ModuleInfo("?")
                if p:
                    parent, _, attr = p.rpartition(".")
                    modules[parent].children.append((attr, p))
        info = modules[path]
        if info.type_name == "?" and type_name != "?":
            info.type_name, info.extra_repr = type_name, extra
        return info

    root_type = printed.types.get(root, ("", ""))[0] if root else printed.graph_type
    add("", root_type or "?")
    for full, (type_name, extra) in printed.types.items():
        if _valid_scope(full):
            add(relative_path(full, root), type_name, extra)
    for rec in records:
        add(rec.module)
    for full, n, trainable in printed.params:
        if not _valid_scope(full):
            continue
        path = relative_path(full, root)
        add(path)
        for p in ancestors(path):
            info = modules[p]
            info.params += n
            info.trainable_params += n if trainable else 0
    return modules


# -- the count ---------------------------------------------------------------------------------

def trace_graph_text(text: str) -> Tuple[Trace, Dict[str, int]]:
    """The records of a printed graph (``repr`` of a compiled ``nn.Graph`` or any log holding
    its ``(OPERATOR: ...)`` lines), as :func:`parse_operator_lines` makes them, with the module
    tree from the ``(MODULE: ...)`` lines when the text has them (parameters from its
    ``(PARAMETER: ...)`` lines), else from the op scopes alone; and op name -> its line.

    Raises :class:`ParseError` for a malformed OPERATOR line, or when there is none."""
    if not isinstance(text, str):
        raise TypeError(f"count_graph_text expects the printed graph as str, not {type(text).__name__}")
    records, lines, root = _records_and_root(text)
    trace = Trace(records, _module_tree(text, records, root), "graph-text")
    return trace, {rec.name: line for rec, line in zip(records, lines)}
