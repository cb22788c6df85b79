"""The value types every engine and printer shares: an op record, its cost, the module tree
and what an engine returns (a :class:`Trace`)."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = [
    "Shape", "PHASE", "IN_SBP", "OUT_SBP", "PLACEMENT", "SRC_PLACEMENT", "ITEM_BYTES", "TENSOR", "PARAMS",
    "IN_ITEMSIZES", "OUT_ITEMSIZES", "IN_TENSORS", "OUT_TENSORS", "COMM_OP_TYPES", "is_comm_op", "KEEP", "AT",
    "GIVEN_COST", "TWIN", "twin_of", "flat_ranks", "numel", "OpRecord", "Cost", "ZERO", "mac", "elementwise",
    "Traffic", "NO_TRAFFIC",
    "ITEMSIZE", "itemsizes", "ModuleInfo", "ancestors", "Trace"
]

Shape = Tuple[int, ...]

# -- the attrs keys engines set for other modules to read (OneFlow's own attrs have no "_") ----
#: ``"forward"``, ``"backward"`` or ``"optimizer"`` (training graphs; see flowflops.graph.train).
PHASE = "_phase"
#: One tuple of SBP strings (``"S(0)"``, ``"B"``, ``"P"``) per input / output tensor.
IN_SBP = "_in_sbp"
OUT_SBP = "_out_sbp"
#: ``{"type": "cpu", "ranks": (0, 1)}`` (ranks nested for a multi-dimensional hierarchy).
PLACEMENT = "_placement"
#: Where a ``"boxing"`` record's tensor was written (same form as ``PLACEMENT``).
SRC_PLACEMENT = "_src_placement"
#: Bytes per element of the tensor a communication record moves.
ITEM_BYTES = "_itemsize"
#: The logical blob name a ``"boxing"`` record moves.
TENSOR = "_tensor"
#: Indices of the inputs that are parameters, buffers or optimizer state (the rest: activations).
PARAMS = "_params"
#: Bytes per element of each input / output tensor (graph records: every tensor's own dtype).
IN_ITEMSIZES = "_in_itemsizes"
OUT_ITEMSIZES = "_out_itemsizes"
#: Blob names of each input / output tensor (graph records; for tensor lifetimes).
IN_TENSORS = "_in_tensors"
OUT_TENSORS = "_out_tensors"
#: Communication op types: ``"boxing"`` (a compiled job reading a tensor with another SBP or
#: placement than it was written with; see flowflops.graph.parallel) and OneFlow's NCCL-logical and
#: eager collective ops. They move data and cost no arithmetic (flowflops.formulas.comm).
COMM_OP_TYPES = (
    "boxing",
    "_nccl_logical_all_reduce", "_nccl_logical_reduce_scatter", "_nccl_logical_all_gather",
    "_nccl_logical_all_gather_noncontinuous", "_nccl_logical_reduce_scatter_noncontinuous",
    "_nccl_logical_s2s", "_nccl_logical_send_recv", "_nccl_logical_2D_same_dim0_all_reduce",
    "_nccl_logical_2D_same_dim1_all_reduce", "_nccl_logical_2D_same_dim0_all_gather",
    "_nccl_logical_2D_same_dim0_all_gather_noncontinuous", "_nccl_logical_2D_same_dim0_all2all",
    "eager_nccl_all_reduce", "eager_nccl_all_gather", "eager_nccl_reduce_scatter",
    "eager_nccl_broadcast", "eager_nccl_reduce", "eager_nccl_s2s", "eager_nccl_touch",
    "eager_ccl_all_reduce", "eager_ccl_all_gather", "eager_ccl_reduce_scatter",
    "eager_ccl_broadcast", "eager_ccl_reduce",
    "eager_b_to_s", "eager_s_to_b", "eager_p_to_b", "eager_p_to_s", "eager_s_to_p",
    "eager_naive_s_to_s", "eager_symmetric_s_to_p",
)
_COMM = frozenset(COMM_OP_TYPES)
_COMM_PREFIXES = ("_nccl_logical", "eager_nccl_", "eager_ccl_")


def is_comm_op(op_type: str) -> bool:
    """True for a communication record: ``"boxing"`` or one of OneFlow's communication op types."""
    return op_type in _COMM or op_type.startswith(_COMM_PREFIXES)


#: ``(kept, of)``: the share of the op a specialised kernel runs (see flowflops.rules.sparsity).
KEEP = "_keep"
#: ``"file:line"`` of the user's code that made the op: a functional call's calling line (eager),
#: OneFlow's own op location (``OperatorConf.loc``, graph).
AT = "_at"
#: A :class:`Cost` given by the user (``custom_modules_hooks``): the registry returns it as is.
GIVEN_COST = "_cost"


def flat_ranks(ranks: Any) -> List[int]:
    """A placement's ranks, flattened: ``((0, 1), (2, 3)) -> [0, 1, 2, 3]``."""
    if isinstance(ranks, (tuple, list)):
        out: List[int] = []
        for r in ranks:
            out.extend(flat_ranks(r))
        return out
    return [int(ranks)]


def numel(shape: Shape) -> int:
    """Number of elements of a tensor of this shape (1 for a scalar)."""
    n = 1
    for d in shape:
        n *= int(d)
    return n


@dataclass(frozen=True)
class OpRecord:
    """One operator call, as an engine saw it.

    ``op_type`` is OneFlow's graph op type name (``conv2d``, ``matmul``, ``add_n``...).
    ``module`` is the path of the module that ran it, as ``model.named_modules()`` names it
    (``""`` for the root). ``inputs``/``outputs`` are tensor shapes, batch included, in the
    op definition's argument order (a list argument such as ``add_n``'s is flattened).
    ``attrs`` holds the op's attributes where the engine knows them (it may be empty: the
    formulas then work from the shapes alone).
    """

    op_type: str
    module: str
    inputs: Tuple[Shape, ...] = ()
    outputs: Tuple[Shape, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""


#: where a graph count marks a record it copied from a repeated block's template: the key, in
#: the record's ``__dict__`` (not a field: ``==``, ``repr``, ``dataclasses.replace`` and
#: ``asdict`` ignore it, and a record a rule rewrites is a new record without it), of the
#: template's record. Records with the same twin have the same op type, shapes and attributes
#: but for their tensor names (:func:`flowflops.registry.price_records` prices them once).
TWIN = "_twin"


def twin_of(rec: OpRecord) -> Optional[OpRecord]:
    """The template record ``rec`` was copied from (see :data:`TWIN`), or ``None``."""
    return rec.__dict__.get(TWIN)


@dataclass(frozen=True)
class Cost:
    """The cost of some work, for the whole input as given (batch included).

    ``macs`` follows the seed article's (ptflops') convention: a multiply-accumulate counts 1,
    an elementwise op (bias add, activation, normalisation step, pooling read) counts 1.
    ``flops`` counts floating-point operations: a multiply-accumulate is 2, an elementwise op 1.
    """

    macs: int = 0
    flops: int = 0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.macs + other.macs, self.flops + other.flops)

    def __mul__(self, k: int) -> "Cost":
        return Cost(self.macs * k, self.flops * k)

    __rmul__ = __mul__


ZERO = Cost(0, 0)


def mac(n: int) -> Cost:
    """``n`` multiply-accumulates: n MACs, 2n FLOPs."""
    return Cost(int(n), 2 * int(n))


def elementwise(n: int) -> Cost:
    """``n`` elementwise operations: n MACs in the seed's convention, n FLOPs."""
    return Cost(int(n), int(n))


@dataclass(frozen=True)
class Traffic:
    """Bytes an op moves through memory, for the whole input as given (batch included).

    ``param_read``: bytes of parameters and buffers (weights, biases, running statistics,
    optimizer state) it reads; ``act_read``: bytes of activations (inputs, intermediate
    tensors, gradients) it reads; ``written``: bytes of the tensors it writes. Each tensor is
    counted once per op, as if it went through DRAM once (no cache reuse, no fusion).
    """

    param_read: int = 0
    act_read: int = 0
    written: int = 0

    @property
    def bytes_read(self) -> int:
        """All bytes read: parameters and activations."""
        return self.param_read + self.act_read

    @property
    def bytes_written(self) -> int:
        return self.written

    @property
    def total(self) -> int:
        """Bytes read plus bytes written."""
        return self.param_read + self.act_read + self.written

    def __add__(self, other: "Traffic") -> "Traffic":
        return Traffic(self.param_read + other.param_read, self.act_read + other.act_read,
                       self.written + other.written)


NO_TRAFFIC = Traffic()

#: Bytes per element by dtype name (``str(tensor.dtype)`` without the ``oneflow.`` prefix).
ITEMSIZE = {"float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2, "float64": 8,
            "double": 8, "int64": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1,
            "char": 1}


def itemsizes(rec: OpRecord) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """Bytes per element of each input and output of ``rec``: from ``attrs["_in_itemsizes"]``
    / ``["_out_itemsizes"]`` (graph records: every tensor's own dtype), else from
    ``attrs["_itemsize"]`` for all of them (eager records: the dtype of the module's output),
    else 4 (float32)."""
    one = int(rec.attrs.get(ITEM_BYTES, 4) or 4)
    ins = rec.attrs.get(IN_ITEMSIZES) or (one,) * len(rec.inputs)
    outs = rec.attrs.get(OUT_ITEMSIZES) or (one,) * len(rec.outputs)
    return tuple(ins), tuple(outs)


@dataclass
class ModuleInfo:
    """One module of the tree: its type name, its ``extra_repr()``, the parameters of its
    subtree (each shared parameter once) and its children as ``(attribute name, path)``;
    ``source``: ``file:line`` of its class's ``forward``; ``called_at``: ``file:line`` of the
    code that called it first in the counted forward (eager). Neither is saved in JSON."""

    type_name: str
    extra_repr: str = ""
    params: int = 0
    trainable_params: int = 0
    children: List[Tuple[str, str]] = field(default_factory=list)
    source: str = ""
    called_at: str = ""


def ancestors(path: str) -> List[str]:
    """``"a.b.c" -> ["", "a", "a.b", "a.b.c"]``: the module and every module around it."""
    if not path:
        return [""]
    parts = path.split(".")
    return [""] + [".".join(parts[: i + 1]) for i in range(len(parts))]


@dataclass
class Trace:
    """What an engine returns for one count: its op records (unpriced) and the model's module
    tree, plus what it saw along the way. The face (:mod:`flowflops.api`) prices the records
    and builds the :class:`flowflops.Report` from it.

    ``modules``: path -> :class:`ModuleInfo`; ``inputs``: the shapes of the
    counted call's inputs; ``unsupported``: module types (eager) seen without a formula, with
    how many times; ``module_outputs``: module path -> shape of its first output (eager);
    ``unpriced_modules``: path -> type name of each module counted as zero for want of a
    formula (eager).
    """

    records: List[OpRecord]
    modules: "OrderedDict[str, ModuleInfo]"
    mode: str
    inputs: List[Any] = field(default_factory=list)
    unsupported: Dict[str, int] = field(default_factory=dict)
    module_outputs: Dict[str, Shape] = field(default_factory=dict)
    unpriced_modules: Dict[str, str] = field(default_factory=dict)  # path -> type (eager)
