"""Named counting conventions: whose number a count reproduces.

A convention is a set of pricing rules over the same op records (see
:func:`flowflops.registry.price`); the rules of each peer live in
:mod:`flowflops.formulas.peers`, each citing the peer's source file and line. Under a peer's
convention ``Cost.macs`` is the peer's own integer (ptflops', fvcore's and thop's "MACs"/"flops",
where one fused multiply-add counts 1; torch's ``FlopCounterMode`` total divided by 2) and
``Cost.flops`` is twice that. The default, ``"flowflops"``, is the seed article's convention.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

__all__ = [
    "MODULE_ATTR", "INSIDE_ATTR", "FUNCTIONAL_ON_ATTR", "FUNCTION_ATTR", "VIA_ATTR", "peer_type_name", "base_type_name",
    "Convention", "CONVENTIONS", "NAMES", "check_convention"
]

#: attribute an eager module hook puts on its records: the module's type, as
#: :func:`peer_type_name` names it
MODULE_ATTR = "_module"
#: attribute an eager functional patch puts on its records: the type of the innermost module
#: running, as :func:`peer_type_name` names it (``LayerNorm`` for the reductions OneFlow's
#: LayerNorm runs in Python)
INSIDE_ATTR = "_in"
#: attribute an eager module hook puts on its records: whether functional calls were counted
#: too (ptflops then counts ReLU, pools... a second time, through its patched functionals)
FUNCTIONAL_ON_ATTR = "_cf"
#: attribute an eager functional patch puts on its records: the function called
#: (``relu``, ``matmul``...; ``Tensor.<name>`` for a tensor method or operator)
FUNCTION_ATTR = "_fn"
#: attribute an eager functional patch puts on a record when the primitive was called straight
#: from one of OneFlow's Python composites that torch runs as one aten op (``F.linear`` is a
#: ``matmul`` and an in-place bias add; ``flow.addmm`` two scalar products, a ``matmul`` and
#: an add): the composite's name (``"linear"``, ``"addmm"``)
VIA_ATTR = "_via"


def peer_type_name(module_type: type) -> str:
    """How the peer rules see a module type: its class name when the type *is* one of
    OneFlow's own classes (``LayerNorm``); otherwise ``~`` and the name of its nearest OneFlow
    base class (``~LayerNorm`` for a subclass of ``nn.LayerNorm``, ``~Module`` for a user's
    own class, whatever it is called). Rules that match exact types (ptflops' and thop's hooks:
    ``type(module) in MODULES_MAPPING``) compare the whole name; rules that match by
    ``isinstance`` strip the ``~`` (:func:`base_type_name`). A user class called ``LayerNorm``
    is never taken for ``nn.LayerNorm``."""
    for cls in module_type.__mro__:
        if cls.__module__.split(".")[0] == "oneflow":
            return cls.__name__ if cls is module_type else "~" + cls.__name__
    return "~Module"


def base_type_name(name: "str | None") -> "str | None":
    """The OneFlow class a :func:`peer_type_name` is an instance of (``~LayerNorm`` ->
    ``LayerNorm``)."""
    return name[1:] if name and name.startswith("~") else name


@dataclass(frozen=True)
class Convention:
    """What a convention reproduces.

    ``peer``: the tool and version whose number it gives; ``counts``: what it counts, in a
    line; ``count_functional``: whether an eager count under it prices functional calls by
    default (the peer sees them, or its rules skip them); ``engine``: the engine that reproduces
    the peer (the module-hook tools need eager mode: only it knows which module made a record).
    """

    name: str
    peer: str
    counts: str
    count_functional: bool
    engine: str


CONVENTIONS: Dict[str, Convention] = {c.name: c for c in (
    Convention("flowflops", "flowflops (the seed article)",
               "MACs of conv/linear, 1 per element for bias, BN (2 with affine), activations, "
               "pooling (input elements) and adds", False, "eager (article) or graph"),
    Convention("ptflops", "ptflops 0.7.5, pytorch backend, count_functional=True",
               "MACs of hooked modules (conv, linear, BN, ReLU, pools...) plus patched "
               "functionals (F.relu, torch.matmul, torch.add...), those inside modules again",
               True, "eager"),
    Convention("ptflops-aten", "ptflops 0.7.5, aten backend",
               "MACs of aten mm/bmm/addmm/convolution, conv and addmm bias included", True,
               "eager (graph: all but the Linear bias)"),
    Convention("fvcore", "fvcore 0.1.5 FlopCountAnalysis",
               "one fused multiply-add = 1: conv, matmul, linear (no bias), BN (eval: 1-2 per "
               "element), norms, upsample, adaptive_avg_pool2d; no activations, adds, pools",
               True, "eager or graph"),
    Convention("thop", "thop 0.1.1 profile",
               "MACs of registered leaf modules: conv and linear without bias, BN 4 per element "
               "(affine), avg pools; ReLU and max pools 0; functionals unseen", True,
               "eager (graph: when every op comes from a hooked module)"),
    Convention("torch", "torch.utils.flop_counter.FlopCounterMode (torch 2.x) / 2",
               "matmul and conv MACs only (no bias, norm, activation); the torchvision model "
               "card's GFLOPS", True, "eager or graph"),
)}

NAMES: Tuple[str, ...] = tuple(CONVENTIONS)  # the default (registry.DEFAULT_CONVENTION) first


def check_convention(name: str) -> Convention:
    """The convention called ``name``; a ``ValueError`` naming the known ones otherwise."""
    if isinstance(name, str) and name in CONVENTIONS:
        return CONVENTIONS[name]
    raise ValueError(
        f"unknown convention {name!r}: the known conventions are {', '.join(NAMES)}"
    )
