"""flowflops' one wrapper of ``nn.Module.__call__`` (flowflops/runtime/module_calls.py), shared
by an eager count (calls reached through a closure go to the count's view) and
``FlopCounterMode`` (each top-level module call counted). Each used to save and put back the
class attribute itself: a FlopCounterMode entered before an eager count in another thread and
left while it ran put OneFlow's method back under the count, whose closure call then ran on the
user's module uncounted (0 MACs instead of 30, seen on the previous main). Real threads,
meeting at fixed points (no timing)."""
import threading

import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops import FlopCounterMode
from process_state import assert_process_clean, default_sigint  # noqa: F401 (a fixture)

# each test starts with Python's own SIGINT handler, which assert_process_clean checks is back
# (see process_state.default_sigint: a runner in the background hands pytest SIGINT ignored)
pytestmark = pytest.mark.usefixtures("default_sigint")


class _ThroughAClosure(nn.Module):
    """Linear(4, 3) reached through a closure (so only the module-call wrapper sends it to the
    count's view); the counting thread waits at ``paused`` until ``go`` is set."""

    def __init__(self, paused, go):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.fn = lambda x: self.fc(x)
        self.paused, self.go = paused, go

    def forward(self, x):
        self.paused.set()
        assert self.go.wait(30)
        return self.fn(x)


@pytest.mark.parametrize("fcm_leaves_first", [True, False])
def test_a_flop_counter_mode_and_an_eager_count_overlapping_in_two_threads(fcm_leaves_first):
    paused, go = threading.Event(), threading.Event()
    model = _ThroughAClosure(paused, go)
    out = {}

    def count():
        out["macs"] = flowflops.profile(model, (2, 4), mode="eager").macs

    lin = nn.Linear(4, 3)
    worker = threading.Thread(target=count)
    if fcm_leaves_first:  # the count enters first, FlopCounterMode leaves first
        worker.start()
        assert paused.wait(30)
        with FlopCounterMode(display=False) as fc:
            lin(flow.ones(2, 4))
        go.set()
    else:  # FlopCounterMode enters first, the count leaves last
        with FlopCounterMode(display=False) as fc:
            worker.start()
            assert paused.wait(30)
            lin(flow.ones(2, 4))
        go.set()
    worker.join(60)
    # Linear(4, 3) on (2, 4): 2*4*3 = 24 multiply-adds and 2*3 = 6 bias adds
    assert out["macs"] == 24 + 6
    assert fc.get_flop_counts() == {"Linear": {"aten.addmm": 2 * 24}, "Global": {"aten.addmm": 2 * 24}}
    assert_process_clean()  # nn.Module.__call__ is OneFlow's own again, nothing installed
