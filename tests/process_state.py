"""What a count must leave as it found in the process, shared by the tests of the guard, the
interrupts and the limits: the SIGINT handler, the functional patches, the module claims, grad
mode and OneFlow's lazy mode (:func:`assert_process_clean`), and the helpers those tests need
(``default_sigint``, a fixture; threads that make their first tensor alone)."""
import signal
import threading

import oneflow as flow
import oneflow.nn as nn
import pytest

from flowflops.eager import functional
from flowflops.graph import values
from flowflops.runtime import backward_calls, guard, interrupts, module_calls

_MODULE_CALL = nn.Module.__call__  # OneFlow's own, as this module is imported
_GRAPH_COMPILE = flow.nn.Graph.__dict__["_compile"]  # likewise (a count's compile wraps it meanwhile)
_BACKWARD = (flow.Tensor.backward, flow.autograd.backward, flow.autograd.grad)  # likewise (FlopCounterMode wraps them)

__all__ = ["default_sigint", "first_tensor_alone", "started_alone", "assert_process_clean"]


@pytest.fixture
def default_sigint():
    """Each test starts with Python's own SIGINT handler, as in a foreground terminal: a runner
    that starts pytest in the background (``cmd &`` without job control, ``nohup``) hands it
    SIGINT ignored, and Ctrl-C could not be tested (flowflops leaves an ignored SIGINT alone)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


_FIRST_TENSOR = threading.Lock()


def first_tensor_alone():
    """Called first in every worker thread: OneFlow 0.9 can deadlock when two threads make
    their first tensors at the same moment (with or without flowflops), which hung these tests
    now and then; each thread makes its first tensor on its own, then the test goes on."""
    with _FIRST_TENSOR:
        flow.ones(1).numpy()


def started_alone(fn):
    """``fn`` run in a worker thread after :func:`first_tensor_alone`."""

    def run(*args):
        first_tensor_alone()
        return fn(*args)

    return run


def assert_process_clean():
    """Nothing global is left from a count: SIGINT handler, functional patches, module claims,
    the eager count's and FlopCounterMode's wrappers of ``nn.Module.__call__`` and of the
    backward functions, the compile's wait in front of ``nn.Graph._compile``, the value reads'
    patches (graph/values.py), grad mode, OneFlow's lazy mode."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert nn.Module.__call__ is _MODULE_CALL and module_calls.installed_count() == 0
    assert flow.nn.Graph.__dict__["_compile"] is _GRAPH_COMPILE
    assert (flow.Tensor.backward, flow.autograd.backward, flow.autograd.grad) == _BACKWARD
    assert backward_calls.installed_count() == 0
    assert not functional.installed()
    assert values._users[0] == 0 and not values._installed  # the value reads' patches are gone
    assert flow.Tensor.item is values._ORIGINAL_ITEM
    assert guard._owners == {}
    assert interrupts._State.depth == 0
    assert flow.is_grad_enabled()
    assert not flow._oneflow_internal.lazy_mode.is_enabled()
