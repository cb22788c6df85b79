"""flowflops' one wrapper of ``Tensor.backward`` / ``oneflow.autograd.backward`` /
``oneflow.autograd.grad`` (flowflops/runtime/backward_calls.py), through which
``FlopCounterMode`` counts a backward pass. Each FlopCounterMode used to save and put back the
functions itself: two of them overlapping in two threads, the first to leave put OneFlow's
functions back under the second (a backward in its body was no longer seen) and the second put
back the first one's wrapper, which stayed installed for good (both seen on 129ff6a). Real
threads, meeting at fixed points (no timing)."""
import threading
import warnings

import oneflow as flow
import pytest

from flowflops import FlopCounterMode
from process_state import assert_process_clean, default_sigint  # noqa: F401 (a fixture)

# each test starts with Python's own SIGINT handler, which assert_process_clean checks is back
# (see process_state.default_sigint: a runner in the background hands pytest SIGINT ignored)
pytestmark = pytest.mark.usefixtures("default_sigint")

# nn.Linear(2, 2, bias=False) on (2, 2): forward aten.mm 2*2*2*2 = 16; backward (x needs no
# gradient) the weight's aten.mm, 16 (torch/utils/flop_counter.py mm_flop)
FORWARD = {"Global": {"aten.mm": 16}, "Linear": {"aten.mm": 16}}
FORWARD_AND_BACKWARD = {"Global": {"aten.mm": 32}, "Linear": {"aten.mm": 32}}


def _backward():
    layer = flow.nn.Linear(2, 2, bias=False)
    layer(flow.ones(2, 2)).sum().backward()
    return layer.weight.grad


@pytest.mark.parametrize("first_leaves_first", [True, False])
def test_two_flop_counter_modes_overlapping_in_two_threads(first_leaves_first):
    """Thread A enters, thread B enters, then one leaves while the other still runs a backward
    in its body: that backward is counted (by B or A), and once both have left OneFlow's own
    functions are back."""
    before = (flow.Tensor.backward, flow.autograd.backward)
    entered, left, done = threading.Event(), threading.Event(), threading.Event()
    modes = {"a": FlopCounterMode(display=False), "b": FlopCounterMode(display=False)}
    grads = {}

    def second():  # B: enters after A, runs a backward after the first one left
        with modes["b"]:
            entered.set()
            assert left.wait(30)
            if not first_leaves_first:
                return  # B leaves first: A runs its backward afterwards
            grads["b"] = _backward()
        done.set()

    thread = threading.Thread(target=second)
    with warnings.catch_warnings(record=True) as seen:  # (process-wide: B's warnings too)
        warnings.simplefilter("always")
        with modes["a"]:
            thread.start()
            assert entered.wait(30)
            if not first_leaves_first:
                left.set()
                thread.join(30)
                grads["a"] = _backward()
        if first_leaves_first:
            left.set()
            assert done.wait(30)
        thread.join(30)
    assert not thread.is_alive()

    still = "b" if first_leaves_first else "a"  # the mode still in its body at the backward
    # d(sum(x W^T))/dW = column sums of x = 2 everywhere: the backward itself ran as usual
    assert grads[still].numpy().tolist() == [[2.0, 2.0], [2.0, 2.0]]
    # counted by the mode still in its body, though the other mode had left
    assert modes[still].get_flop_counts() == FORWARD_AND_BACKWARD
    other = modes["a" if still == "b" else "b"]
    assert other.get_flop_counts() == {}
    assert [str(w.message) for w in seen if "counted nothing" not in str(w.message)] == []
    assert (flow.Tensor.backward, flow.autograd.backward) == before  # nothing left installed
    assert_process_clean()


def test_a_backward_in_another_thread_is_not_counted():
    """A mode counts only a backward run in the thread that entered it (its module calls too)."""
    layer = flow.nn.Linear(2, 2, bias=False)
    with FlopCounterMode(display=False) as fc:
        loss = layer(flow.ones(2, 2)).sum()
        thread = threading.Thread(target=loss.backward)
        thread.start()
        thread.join(30)
    assert not thread.is_alive() and layer.weight.grad is not None  # the backward ran, in the other thread
    assert fc.get_flop_counts() == FORWARD
    assert_process_clean()
