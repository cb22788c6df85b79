"""Compiled job (``graph._full_job_proto``) -> op records. Ops and shapes come from the same
(optimised) job; module scopes from ``job.module_name2module_conf``."""
from __future__ import annotations

from typing import Any, Dict, List

from ..records import AT, IN_ITEMSIZES, IN_TENSORS, OUT_ITEMSIZES, OUT_TENSORS, PARAMS, PLACEMENT, OpRecord
from .naming import module_paths, split_op_name
from .parallel import JobParallel

__all__ = ["attr_value", "job_records"]


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

    parallel = JobParallel(job)
    blob = parallel.blob  # blob name -> (shape, bytes per element), each read from the job once

    def shapes(arg_map: Any, order: Any) -> tuple:
        return tuple(blob(lbn)[0] for bn in order for lbn in arg_map[bn].s)

    scopes = {}
    for op in user_ops:
        scope = op2module.get(op.name)
        if scope is None:
            parts = split_op_name(op.name)
            scope = parts[0] if parts else ""
        scopes[op.name] = scope
    paths, _ = module_paths(scopes, job.job_conf.job_name)
    dead: List[Dict[str, set]] = []  # made at the first normalization that needs it

    distributed = parallel.distributed
    placements = parallel.placements
    variables = {name for name, kind in op_types.items() if kind == "variable_conf"}
    boxed: set = set()
    records = []
    for op in user_ops:
        u = op.user_conf
        name = op.name
        op_type = u.op_type_name
        attrs = {k: attr_value(v) for k, v in u.attr.items()}
        if op_type == "normalization" and "gamma" in u.input:
            producer = u.input["gamma"].s[0].split("/", 1)[0]
            attrs["affine"] = op_types.get(producer) != "constant"
            if not attrs["affine"]:
                x = descs[u.input["x"].s[0]].shape.dim if "x" in u.input else ()
                axis = int(attrs.get("axis", 1))
                channels = (int(x[axis]),) if len(x) > axis else None
                if channels is not None and not dead:
                    dead.append(_dead_shapes(job, user_ops, scopes, shapes, op2module, descs))
                attrs["gamma_given"] = channels is not None and channels in dead[0].get(scopes[name], ())
        if distributed:
            attrs.update(parallel.user_op_attrs(op))
        elif name in placements:  # one device: only the placement (as user_op_attrs gives it)
            attrs[PLACEMENT] = placements[name]
        inputs, outputs = u.input, u.output
        ins = tuple(lbn for bn in u.input_order for lbn in inputs[bn].s)
        outs = tuple(lbn for bn in u.output_order for lbn in outputs[bn].s)
        in_blobs = [blob(lbn) for lbn in ins]
        out_blobs = [blob(lbn) for lbn in outs]
        attrs[IN_TENSORS] = ins
        attrs[OUT_TENSORS] = outs
        attrs[IN_ITEMSIZES] = tuple(b[1] for b in in_blobs)
        attrs[OUT_ITEMSIZES] = tuple(b[1] for b in out_blobs)
        if variables:
            params = tuple(i for i, lbn in enumerate(ins) if lbn.split("/", 1)[0] in variables)
            if params:
                attrs[PARAMS] = params
        loc = op.loc
        if loc:  # OneFlow's own record of the Python lines that made the op
            attrs[AT] = loc
        module = paths[name]
        if distributed:
            records.extend(parallel.boxing_records(op, module, boxed))
        records.append(OpRecord(
            op_type, module, tuple(b[0] for b in in_blobs), tuple(b[0] for b in out_blobs), attrs, name,
        ))
    if distributed:
        for op in job.net.op:
            if op.HasField("output_conf"):
                records.extend(parallel.boxing_records(op, "", boxed))
    return records
