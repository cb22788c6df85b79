"""Training-step records from the compiled training graph.

:func:`trace_train` wraps the model in an ``nn.Graph`` whose ``build`` runs the forward, the
loss and ``loss.backward()``, with ``add_optimizer(optimizer)``; compiles it with
``build_graph`` (nothing is executed: no parameter, buffer or optimizer state changes) and
reads every op of the compiled job, like the graph engine does (the face prices them).

Phases
------
Every op record of a training job gets ``attrs[PHASE]`` (``"_phase"``), one of ``"forward"``,
``"backward"``, ``"optimizer"`` (read by :meth:`flowflops.Report.by_phase`). The rule uses
what the compiled job declares in ``job.job_conf.train_conf`` and the job's data flow (an op
is *downstream* of a tensor when it reads it, directly or through other ops; *upstream* when
the tensor is computed from the op's output):

- the *loss-gradient seeds*, ``train_conf.loss_grad_lbn``: the ``ones_like(loss)`` that
  ``loss.backward()`` creates;
- the *parameter gradients*, ``train_conf.optimizer_conf[*].variable_grad_lbns``: what
  autograd hands the optimizer, one tensor per parameter;
- the *gradient path*: the ops that are (or are downstream of) a seed's producer and are (or
  are upstream of) a parameter gradient's producer, i.e. every op on a path from the loss
  gradient to a parameter gradient.

1. **optimizer**: the parameter-update ops (user ops with a ``model_diff`` input, the
   signature all of OneFlow's update ops share: ``sgd_update``, ``momentum_update``,
   ``adam_update``, ...), and every op *not on the gradient path* that is downstream of a
   parameter gradient (gradient regularisation such as SGD's weight decay, clipping), of the
   train step ``train_conf.train_step_lbn`` (the step counter, learning-rate schedule, Adam's
   bias-correction factors) or of an update op. (A parameter gradient can also feed the rest
   of the backward pass: ViT's position-embedding gradient is the gradient flowing on to the
   patch embedding. Those ops are on the gradient path, hence backward.)
2. **backward**: the other ops that are, or are downstream of, a seed's producer: every op
   autograd generated (``*_grad`` ops, the data- and weight-gradient ``matmul``s,
   ``reduce_sum_like`` bias gradients, gradient reshapes and broadcasts, ...).
3. **forward**: everything else: the model's forward, the loss, and anything computed from
   them alone.

Op names and module scopes are not used: OneFlow gives an autograd op the module scope and
the ``<scope>-<type>-<n>`` name of a forward op (``model.2-matmul-24`` is a weight gradient).
A job without a loss (an inference graph) gets no phases.
"""
from __future__ import annotations

import contextlib
import warnings
from collections import defaultdict, deque
from dataclasses import replace
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Set

import oneflow as flow
import oneflow.nn as nn

from ..runtime.guard import counting_view
from ..runtime.view import optimizer_view
from ..runtime.inputs import describe_inputs
from ..runtime.modules import module_tree
from ..records import PHASE, OpRecord, Trace
from .compile import compile_job, stand_ins
from .building import CountGraphMixin
from .job import job_records

__all__ = [
    "DEFAULT_LR", "op_phases", "assign_phases", "default_labels", "detached_grads", "trained_tensors",
    "check_train_args", "trace_train"
]

DEFAULT_LR = 0.1


# -- the phase rule -------------------------------------------------------------------------
def _strings(msg: Any) -> Iterator[str]:
    """Every string value in a protobuf message, nested messages and maps included."""
    for field, value in msg.ListFields():
        repeated = field.label == field.LABEL_REPEATED
        if field.type == field.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                items: Iterable[Any] = value.values()
            else:
                items = value if repeated else [value]
            for item in items:
                if hasattr(item, "ListFields"):
                    yield from _strings(item)
                elif isinstance(item, str):
                    yield item
        elif field.type == field.TYPE_STRING:
            yield from (value if repeated else [value])


class _DataFlow:
    """Who reads and who writes each tensor of a job. User ops read their declared inputs;
    other ops (variables, the train-step identity, the learning-rate schedule) read any
    tensor their conf names."""

    def __init__(self, job: Any) -> None:
        tensors = set(job.helper.lbn2logical_blob_desc.keys())
        self.outputs: Dict[str, List[str]] = defaultdict(list)  # op -> tensors it writes
        for lbn in tensors:
            self.outputs[_producer(lbn)].append(lbn)
        self.reads: Dict[str, Set[str]] = {}  # op -> tensors it reads
        self.consumers: Dict[str, List[str]] = defaultdict(list)  # tensor -> ops reading it
        for op in job.net.op:
            if op.HasField("user_conf"):
                reads = {lbn for arg in op.user_conf.input.values() for lbn in arg.s}
            else:
                conf = getattr(op, op.WhichOneof("op_type"))
                reads = {x for x in _strings(conf) if x in tensors and _producer(x) != op.name}
            self.reads[op.name] = reads
            for lbn in reads:
                self.consumers[lbn].append(op.name)

    def downstream(self, tensors: Iterable[str]) -> Set[str]:
        """The ops that read any of ``tensors``, directly or through other ops."""
        seen: Set[str] = set()
        queue = deque(tensors)
        while queue:
            for op_name in self.consumers.get(queue.popleft(), ()):
                if op_name not in seen:
                    seen.add(op_name)
                    queue.extend(self.outputs.get(op_name, ()))
        return seen

    def upstream(self, ops: Iterable[str]) -> Set[str]:
        """``ops`` and every op whose output they are computed from."""
        seen: Set[str] = set()
        queue = deque(ops)
        while queue:
            op_name = queue.popleft()
            if op_name not in seen:
                seen.add(op_name)
                queue.extend(_producer(lbn) for lbn in self.reads.get(op_name, ()))
        return seen


def _producer(lbn: str) -> str:
    """``"model.0-matmul-0/out_0" -> "model.0-matmul-0"``."""
    return lbn.split("/", 1)[0]


def op_phases(job: Any) -> Dict[str, str]:
    """Op name -> phase for every op of a training job (see the module docstring for the
    rule); ``{}`` for a job with no loss."""
    conf = job.job_conf
    if not conf.HasField("train_conf") or not conf.train_conf.loss_grad_lbn:
        return {}
    train = conf.train_conf
    data = _DataFlow(job)
    seeds = list(train.loss_grad_lbn)
    grads = [lbn for opt in train.optimizer_conf for lbn in opt.variable_grad_lbns if lbn]

    after_seeds = {_producer(lbn) for lbn in seeds} | data.downstream(seeds)
    gradient_path = after_seeds & data.upstream(_producer(lbn) for lbn in grads)

    updates = {op.name for op in job.net.op
               if op.HasField("user_conf") and "model_diff" in op.user_conf.input}
    starts = grads + [lbn for name in updates for lbn in data.outputs.get(name, ())]
    if train.train_step_lbn:
        starts.append(train.train_step_lbn)
    optimizer = updates | (data.downstream(starts) - gradient_path)
    backward = after_seeds - optimizer

    return {
        op.name: "optimizer" if op.name in optimizer else
        "backward" if op.name in backward else "forward"
        for op in job.net.op
    }


def assign_phases(job: Any, records: List[OpRecord]) -> List[OpRecord]:
    """``records`` (from :func:`job_records` on ``job``) with ``attrs[PHASE]`` set by
    :func:`op_phases`; returned unchanged when the job has no loss (an inference graph).
    A record that is not an op of the job (the boxing :func:`job_records` puts before the op
    reading a tensor) takes the phase of the op after it; one at the very end (a graph
    output's boxing) is forward."""
    phases = op_phases(job)
    if not phases:
        return list(records)
    out: List[OpRecord] = []
    phase = "forward"
    for rec in reversed(records):
        phase = phases.get(rec.name, phase)
        out.append(replace(rec, attrs={**rec.attrs, PHASE: phase}))
    return out[::-1]


# -- the training graph ---------------------------------------------------------------------
def default_labels(output: Any) -> flow.Tensor:
    """Random class labels ``randint(0, C, (N,))`` for a classifier output of shape ``(N, C)``."""
    n, c = output.shape
    return flow.randint(0, c, (n,), device=output.device)


def _cross_entropy(output: Any, target: Any) -> flow.Tensor:
    """The default loss."""
    if target is None:
        shape = tuple(output.shape) if isinstance(output, flow.Tensor) else type(output).__name__
        raise ValueError(
            "the default loss is cross-entropy, with random labels for a classifier output of "
            f"shape (N, C); the model returned {shape}: pass target, or loss_fn (and target)"
        )
    return flow.nn.functional.cross_entropy(output, target)


class _TrainGraph(CountGraphMixin, flow.nn.Graph):
    """``build``: forward, loss, ``loss.backward()``; the optimizer is added to the graph."""

    def __init__(self, model: nn.Module, loss_fn: Callable[[Any, Any], Any],
                 optimizer: flow.optim.Optimizer, has_target: bool) -> None:
        super().__init__()
        self.model = model
        # kept off the graph's module registry: the loss's ops stay in the graph's own scope
        object.__setattr__(self, "_flowflops_loss", loss_fn)
        object.__setattr__(self, "_flowflops_has_target", has_target)
        self.add_optimizer(optimizer)

    def build(self, *args: Any, **kwargs: Any) -> Any:
        target = None
        if self._flowflops_has_target:
            target, args = args[0], args[1:]
        output = self.model(*args, **kwargs)
        if target is None and isinstance(output, flow.Tensor) and output.ndim == 2:
            target = default_labels(output)
        loss = self._flowflops_loss(output, target)
        loss.backward()
        return loss


@contextlib.contextmanager
def detached_grads(tensors: Iterable[flow.Tensor]) -> Iterator[None]:
    """Run the body with ``.grad`` of each of ``tensors`` set to ``None``, and put every
    ``.grad`` back afterwards. Compiling ``loss.backward()`` stores a lazy gradient as the
    parameters' ``.grad`` (which breaks a later eager backward), and a gradient already there
    would be compiled into the job as an accumulation.

    One ``.grad`` cannot be put back: a *lazy* one, which OneFlow's own ``nn.Graph`` training
    leaves on the parameters (OneFlow refuses to assign a lazy tensor as ``.grad``, and
    compiling with it in place fails). It is left ``None``, never pointing at the count's
    tensors; it could not be used eagerly anyway (an eager ``backward()`` fails on it)."""
    saved = [(t, t.grad) for t in tensors]
    try:
        for t, _ in saved:
            t.grad = None
        yield
    finally:
        for t, grad in saved:
            if grad is None or not grad.is_lazy:
                t.grad = grad
            else:
                t.grad = None


def trained_tensors(modules: Iterable[nn.Module], optimizers: Iterable[flow.optim.Optimizer]) -> List[flow.Tensor]:
    """The modules' parameters and every tensor the optimizers update, each once."""
    tensors = {id(p): p for m in modules for p in m.parameters()}
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            for p in group.parameters:
                tensors.setdefault(id(p), p)
    return list(tensors.values())


def _default_optimizer(model: nn.Module) -> flow.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(
            f"{type(model).__name__} has no trainable parameters: a training step needs some "
            "(or pass an optimizer over the tensors to train)"
        )
    return flow.optim.SGD(params, lr=DEFAULT_LR)


def check_train_args(loss_fn: Any, optimizer: Any) -> None:
    """One-line errors for a loss or optimizer a training step cannot take."""
    if optimizer is not None and not isinstance(optimizer, flow.optim.Optimizer):
        raise TypeError(f"optimizer must be a oneflow.optim.Optimizer, got {type(optimizer).__name__}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(output, target), got {loss_fn!r}")


def trace_train(
    model: nn.Module,
    args: tuple,
    kwargs: Dict[str, Any],
    *,
    loss_fn: Optional[Callable[[Any, Any], Any]] = None,
    optimizer: Optional[flow.optim.Optimizer] = None,
    target: Optional[Any] = None,
) -> Trace:
    """The records of one training step of ``model``: forward on ``args``/``kwargs``,
    ``loss_fn(output, target)``, backward, and ``optimizer``'s parameter update, from the
    compiled training graph.

    ``loss_fn`` defaults to cross-entropy; ``target`` to random labels ``randint(0, C, (N,))``
    when the output is ``(N, C)`` (``None`` is passed to a ``loss_fn`` otherwise);
    ``optimizer`` to ``SGD(lr=0.1)`` over the model's trainable parameters. The step is
    compiled in training mode and never run: the model's flags, hooks, parameters and buffers
    and the optimizer's state are as before afterwards. Every record carries its phase
    (``attrs[PHASE]``); the trace's mode is ``"train"``.
    """
    opt = optimizer if optimizer is not None else _default_optimizer(model)
    # compiled on a view of the model with parameters and an optimizer of the count's own
    # (flowflops.runtime.view): the user's flags, .grad and optimizer are never touched, so a
    # thread training the model meanwhile is not disturbed and keeps what it sets
    with counting_view(model, training=True, new_params=True) as (view, memo):
        view_opt = optimizer_view(opt, memo)
        mine = {id(v) for v in memo.values()}
        others = [t for t in trained_tensors([], [view_opt]) if id(t) not in mine]
        with detached_grads(others):
            graph = _TrainGraph(view, loss_fn or _cross_entropy, view_opt, has_target=target is not None)
            graph_args = (target,) + tuple(args) if target is not None else tuple(args)
            with warnings.catch_warnings():
                # the loss function is called in the graph unregistered, on purpose
                warnings.filterwarnings("ignore", message=".*not registered into a nn.Graph")
                # inputs that require grad as stand-ins: compiling backward leaves a lazy
                # gradient on such an input, after which the user's next eager backward()
                # through it fails ("a oneflow bug"); the user's inputs are not touched
                job = compile_job(graph, stand_ins(graph_args), stand_ins(kwargs),
                                  f"a training step of {type(model).__name__}")
    records = assign_phases(job, job_records(job))
    return Trace(records, module_tree(model), "train", describe_inputs(args, kwargs))
