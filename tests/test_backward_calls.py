"""flowflops' one wrapper of ``Tensor.backward`` / ``oneflow.autograd.backward``
(flowflops/runtime/backward_calls.py), through which ``FlopCounterMode`` warns that it does not
count a backward pass. Each FlopCounterMode used to save and put back the two functions itself:
two of them overlapping in two threads, the first to leave put OneFlow's functions back under
the second (a backward in its body no longer warned) and the second put back the first one's
wrapper, which stayed installed for good (both seen on the previous main). Real threads,
meeting at fixed points (no timing)."""
import threading
import warnings

import oneflow as flow
import pytest

from flowflops import FlopCounterMode
from process_state import assert_process_clean

BACKWARD = "does not count the backward pass"


def _backward():
    x = flow.ones(2, 2, requires_grad=True)
    (x * 3).sum().backward()
    return x.grad


@pytest.mark.parametrize("first_leaves_first", [True, False])
def test_two_flop_counter_modes_overlapping_in_two_threads(first_leaves_first):
    """Thread A enters, thread B enters, then one leaves while the other still runs a backward
    in its body: that backward is noticed (B's or A's warning), and once both have left
    OneFlow's own functions are back."""
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
    # d(sum(3x))/dx = 3 everywhere: the backward itself ran as usual
    assert grads[still].numpy().tolist() == [[3.0, 3.0], [3.0, 3.0]]
    # noticed once (by the mode still in its body), though the other mode had left
    assert sum(BACKWARD in str(w.message) for w in seen) == 1
    assert (flow.Tensor.backward, flow.autograd.backward) == before  # nothing left installed
    assert_process_clean()


def test_a_backward_in_another_thread_is_not_noticed():
    """A mode warns only for a backward run in the thread that entered it."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with FlopCounterMode(display=False):
            thread = threading.Thread(target=_backward)
            thread.start()
            thread.join(30)
    assert not any(BACKWARD in str(w.message) for w in seen)
    assert_process_clean()
