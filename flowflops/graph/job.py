"""Compiled job (``graph._full_job_proto``) -> op records. Ops and shapes come from the same
(optimised) job; module scopes from ``job.module_name2module_conf``."""
from __future__ import annotations

from typing import Any, Dict, List

from ..records import AT, IN_ITEMSIZES, IN_TENSORS, OUT_ITEMSIZES, OUT_TENSORS, PARAMS, OpRecord
from .naming import module_paths, split_op_name
from .parallel import JobParallel

__all__ = ["attr_value", "tensor_attrs", "job_records"]


def attr_value(v: Any) -> Any:
    """A python value for one ``AttrValue`` of a user op."""
    which = v.WhichOneof("value")
    if which is None:
        return None
    x = getattr(v, which)
    if which == "at_shape":
        return tuple(int(d) for d in x.dim)
    if which.startswith("at_list_"):
        return tuple(x.val)
    return x


def tensor_attrs(ins: tuple, outs: tuple, op_types: Dict[str, str], parallel: JobParallel) -> Dict[str, Any]:
    """The record attrs the bytes and memory rules read: ``_in_tensors`` / ``_out_tensors``
    (blob names, for tensor lifetimes), ``_in_itemsizes`` / ``_out_itemsizes`` (bytes per
    element of each tensor) and ``_params`` (indices of the inputs a ``variable`` op holds:
    parameters, buffers, optimizer state)."""
    params = tuple(i for i, lbn in enumerate(ins) if op_types.get(lbn.split("/", 1)[0]) == "variable_conf")
    attrs: Dict[str, Any] = {
        IN_TENSORS: ins, OUT_TENSORS: outs,
        IN_ITEMSIZES: tuple(parallel.itemsize(lbn) for lbn in ins),
        OUT_ITEMSIZES: tuple(parallel.itemsize(lbn) for lbn in outs),
    }
    if params:
        attrs[PARAMS] = params
    return attrs


def _dead_shapes(job: Any, user_ops: List[Any], scopes: Dict[str, str], shapes: Any, op2module: Dict[str, str],
                 descs: Any) -> Dict[str, set]:
    """Per module scope, the output shapes of its user ops whose outputs nothing reads (no
    user op, no graph output). OneFlow 0.9's ``F.batch_norm`` drops ``weight`` when ``bias``
    is None (and ``bias`` when ``weight`` is): it normalises with a constant gamma of ones,
    and the dropped per-channel tensor is left in the job unread. A ``normalization`` record
    with a constant gamma is marked ``gamma_given`` when its scope has such a tensor of shape
    ``(C,)`` (an unread op output, or an unread parameter of that scope): fvcore prices a
    call by its arguments (``weight`` given: affine). A dropped ``bias`` alone, or an unused
    parameter of shape ``(C,)`` in the module, reads the same (the job keeps nothing that
    tells them apart)."""
    read = {lbn for op in user_ops for arg in op.user_conf.input.values() for lbn in arg.s}
    for op in job.net.op:
        if op.HasField("output_conf"):
            read.add(getattr(op.output_conf, "in"))
    dead: Dict[str, set] = {}
    for op in user_ops:  # ops none of whose outputs is read (not a training norm's unread statistics)
        out = op.user_conf.output
        if out and not any(lbn in read for bn in out for lbn in out[bn].s):
            dead.setdefault(scopes[op.name], set()).update(shapes(out, list(out)))
    for op in job.net.op:  # a parameter passed as the weight itself
        if op.HasField("variable_conf") and op.name in op2module:
            lbn = f"{op.name}/{op.variable_conf.out}"
            if lbn not in read and lbn in descs:
                dead.setdefault(op2module[op.name], set()).add(tuple(int(d) for d in descs[lbn].shape.dim))
    return dead


def job_records(job: Any) -> List[OpRecord]:
    """One record per user op of the job, in job order. Scopes are made relative to the
    graph's single model attribute when there is one (so they match ``named_modules()``).

    Each record's attrs also hold its tensors' SBP and its placement (``_in_sbp``,
    ``_out_sbp``, ``_placement``); in a job over several ranks, a ``"boxing"`` record precedes
    each op that reads a tensor with another SBP or placement than it was written with (see
    :mod:`flowflops.graph.parallel`), and graph outputs' boxing comes last."""
    op2module: Dict[str, str] = {}
    for module_name, conf in job.module_name2module_conf.items():
        for op_name in conf.ops:
            op2module[op_name] = module_name
    descs = job.helper.lbn2logical_blob_desc
    op_types: Dict[str, str] = {}
    user_ops = []
    for op in job.net.op:
        if op.HasField("user_conf"):
            op_types[op.name] = op.user_conf.op_type_name
            user_ops.append(op)
        else:
            op_types[op.name] = op.WhichOneof("op_type")

    shape_of: Dict[str, tuple] = {}  # blob name -> its shape (each read from the job once)

    def shape(lbn: str) -> tuple:
        got = shape_of.get(lbn)
        if got is None:
            got = shape_of[lbn] = tuple(int(d) for d in descs[lbn].shape.dim)
        return got

    def shapes(arg_map: Any, order: Any) -> tuple:
        return tuple(shape(lbn) for bn in order for lbn in arg_map[bn].s)

    def tensors(arg_map: Any, order: Any) -> tuple:
        return tuple(lbn for bn in order for lbn in arg_map[bn].s)

    scopes = {}
    for op in user_ops:
        scope = op2module.get(op.name)
        if scope is None:
            parts = split_op_name(op.name)
            scope = parts[0] if parts else ""
        scopes[op.name] = scope
    paths, _ = module_paths(scopes, job.job_conf.job_name)
    dead = _dead_shapes(job, user_ops, scopes, shapes, op2module, descs)

    parallel = JobParallel(job)
    boxed: set = set()
    records = []
    for op in user_ops:
        u = op.user_conf
        attrs = {k: attr_value(v) for k, v in u.attr.items()}
        if u.op_type_name == "normalization" and "gamma" in u.input:
            producer = u.input["gamma"].s[0].split("/", 1)[0]
            attrs["affine"] = op_types.get(producer) != "constant"
            if not attrs["affine"]:
                x = descs[u.input["x"].s[0]].shape.dim if "x" in u.input else ()
                axis = int(attrs.get("axis", 1))
                channels = (int(x[axis]),) if len(x) > axis else None
                attrs["gamma_given"] = channels is not None and channels in dead.get(scopes[op.name], ())
        attrs.update(parallel.user_op_attrs(op))
        ins, outs = tensors(u.input, u.input_order), tensors(u.output, u.output_order)
        attrs.update(tensor_attrs(ins, outs, op_types, parallel))
        if op.loc:  # OneFlow's own record of the Python lines that made the op
            attrs[AT] = op.loc
        module = paths[op.name]
        records.extend(parallel.boxing_records(op, module, boxed))
        records.append(OpRecord(
            u.op_type_name, module, tuple(shape(lbn) for lbn in ins), tuple(shape(lbn) for lbn in outs), attrs,
            op.name,
        ))
    for op in job.net.op:
        if op.HasField("output_conf"):
            records.extend(parallel.boxing_records(op, "", boxed))
    return records
