"""Users' own pricing: custom module hooks (in flowflops', ptflops' and thop's styles) and the
op-level rules (``ignore_modules`` / ``custom_modules_hooks`` keyed by OneFlow op type name).

A module hook ``fn(module, inputs, output)`` is called by the engines while they trace
(:func:`flowflops.runtime.module_hooks.call_module_hook`, which says what it may return); its
names are re-exported here.

An op-level hook ``fn(inputs, outputs)`` (ptflops' aten style) gets the op's input and output
tensors as :class:`TensorShape` objects (``.shape``, ``.numel()``, ``.dim()``) and returns the
op call's MACs. Op type names are OneFlow's (``conv2d``, ``matmul``, ``broadcast_matmul``,
``relu``...: the names ``report.by_operator()`` shows); an unknown name is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..errors import CustomHookError
from ..records import GIVEN_COST, Cost, OpRecord, Shape, numel
from ..runtime.module_hooks import ACCUMULATORS, call_module_hook, hook_cost, hook_name, matching_type

__all__ = [
    "ACCUMULATORS", "matching_type", "call_module_hook", "TensorShape", "check_op_type", "OpRules", "split_rules"
]

# -- op-level rules ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TensorShape:
    """What an op-level hook gets for each input and output tensor: its shape."""

    shape: Shape

    def numel(self) -> int:
        return numel(self.shape)

    def dim(self) -> int:
        return len(self.shape)

    def size(self, d: Optional[int] = None) -> Any:
        return self.shape if d is None else self.shape[d]


@lru_cache(maxsize=None)
def _oneflow_has_op(op_type: str) -> bool:
    """Whether OneFlow 0.9 registers a user op of this type (building its op expression
    checks the name against OneFlow's op registry; nothing is run or kept)."""
    import oneflow as flow

    try:
        flow._oneflow_internal.one.OpBuilder(op_type, f"flowflops_probe_{op_type}").build()
        return True
    except Exception:
        return False


def check_op_type(op_type: str, arg: str) -> str:
    """``op_type`` if OneFlow (or flowflops' registry) knows it; a ``ValueError`` naming it
    otherwise."""
    from ..registry import lookup

    if lookup(op_type) is not None or op_type == "boxing" or _oneflow_has_op(op_type):
        return op_type
    raise ValueError(
        f"{arg} names the op type {op_type!r}, which OneFlow does not have: use OneFlow's op "
        "type names as report.by_operator() shows them (e.g. 'conv2d', 'matmul', 'relu')"
    )


@dataclass(frozen=True)
class OpRules:
    """The op-level part of ``ignore_modules`` / ``custom_modules_hooks``: records of an
    ignored op type are dropped (they cost 0 and are not reported as unsupported); a record
    of a custom op type is priced by its hook instead of the registry."""

    ignore: FrozenSet[str] = frozenset()
    custom: Tuple[Tuple[str, Callable], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.ignore or self.custom)

    def apply(self, records: Iterable[OpRecord]) -> List[OpRecord]:
        """``records`` without the ignored op types; a custom op type's records carry the
        cost its hook gives (``attrs[GIVEN_COST]``, which the registry returns as is)."""
        if not self:
            return list(records)
        custom = dict(self.custom)
        out = []
        for rec in records:
            if rec.op_type in self.ignore:
                continue
            fn = custom.get(rec.op_type)
            if fn is not None:
                rec = replace(rec, attrs={**rec.attrs, GIVEN_COST: self._call(fn, rec)})
            out.append(rec)
        return out

    @staticmethod
    def _call(fn: Callable, rec: OpRecord) -> Cost:
        ins = tuple(TensorShape(tuple(s)) for s in rec.inputs)
        outs = tuple(TensorShape(tuple(s)) for s in rec.outputs)
        where = f"op {rec.op_type} (module '{rec.module}')"
        try:
            value = fn(ins, outs)
        except Exception as err:
            raise CustomHookError(
                f"the custom hook {hook_name(fn)!r} for {where} raised {type(err).__name__}: {err}"
            ) from err
        return hook_cost(value, f"{where} ({hook_name(fn)!r})")


def split_rules(
    ignore_modules: Sequence[Any], custom_modules_hooks: Optional[Mapping[Any, Callable]]
) -> Tuple[Tuple[type, ...], Dict[type, Callable], OpRules]:
    """Split the user's ``ignore_modules`` / ``custom_modules_hooks`` into module types (for
    the engines) and op type names (an :class:`OpRules`). Anything else is refused with an
    error naming it."""
    types: List[type] = []
    ops: List[str] = []
    for item in list(ignore_modules or ()):
        if isinstance(item, type):
            types.append(item)
        elif isinstance(item, str):
            ops.append(check_op_type(item, "ignore_modules"))
        else:
            raise TypeError(
                f"ignore_modules must hold module classes (e.g. nn.ReLU) or OneFlow op type "
                f"names (e.g. 'matmul'), got {item!r}"
            )
    custom_types: Dict[type, Callable] = {}
    custom_ops: List[Tuple[str, Callable]] = []
    for key, fn in dict(custom_modules_hooks or {}).items():
        if not callable(fn):
            raise TypeError(f"custom_modules_hooks[{key!r}] must be a function, got {fn!r}")
        if isinstance(key, type):
            custom_types[key] = fn
        elif isinstance(key, str):
            custom_ops.append((check_op_type(key, "custom_modules_hooks"), fn))
        else:
            raise TypeError(
                f"custom_modules_hooks keys must be module classes (e.g. nn.Conv2d) or OneFlow "
                f"op type names (e.g. 'conv2d'), got {key!r}"
            )
    return tuple(types), custom_types, OpRules(frozenset(ops), tuple(custom_ops))
