"""Views of a report leave Python's cyclic garbage collector as the user (and the user's other
threads) set it (issue 29): they used to pause it with ``gc.disable()`` and switch it back on
afterwards, which switched it on again for a thread that had switched it off meanwhile. Real
threads, meeting at a fixed point: the first call into ``flowflops/report.py`` the view makes
(its sums), where the other thread flips the collector and the view waits until it has."""
import gc
import os
import sys
import threading

import oneflow.nn as nn
import pytest

import flowflops

REPORT_PY = os.path.join(os.path.dirname(flowflops.__file__), "report.py")
VIEWS = {
    "to_text": lambda r: r.to_text(),
    "to_html": lambda r: r.to_html(),
    "to_json": lambda r: r.to_json(),
    "to_csv": lambda r: r.to_csv(),
    "printout": lambda r: r.printout(),
    "diff": lambda r: flowflops.diff(r, r).to_text(),
}


@pytest.fixture(scope="module")
def report():
    return flowflops.profile(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), (2, 4))


@pytest.fixture
def collector():
    """The test's collector setting; the one before it is set back afterwards."""
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("on", [True, False], ids=["enabled", "disabled"])
def test_a_view_leaves_the_collector_as_set(report, collector, view, on):
    (gc.enable if on else gc.disable)()
    VIEWS[view](report)
    assert gc.isenabled() is on  # alone: as the user set it


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("on", [True, False], ids=["enabled", "disabled"])
def test_a_view_keeps_what_another_thread_sets_meanwhile(report, collector, view, on):
    (gc.enable if on else gc.disable)()
    go, flipped = threading.Event(), threading.Event()

    def other():
        assert go.wait(30)
        (gc.disable if on else gc.enable)()  # the other thread's own choice, mid-view
        flipped.set()

    def meet(frame, event, arg):
        if event == "call" and not go.is_set() and frame.f_code.co_filename == REPORT_PY:
            go.set()
            assert flipped.wait(30)
        return None

    t = threading.Thread(target=other)
    t.start()
    sys.settrace(meet)
    try:
        VIEWS[view](report)
    finally:
        sys.settrace(None)
        go.set()
        t.join(30)
    assert flipped.is_set()  # the view met the thread
    assert gc.isenabled() is (not on)  # what that thread set, kept


def test_the_sums_views_share_follow_new_entries():
    """The per-module sums are made once per report for its views; a report given new lists
    gets new sums. Linear(4, 3) then ReLU on (2, 4): matmul 2*3*4 = 24, bias 2*3 = 6, ReLU 6."""
    rep = flowflops.profile(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), (2, 4))
    assert rep.by_module()[""].macs == 24 + 6 + 6
    assert rep.by_module()["1"].macs == 6
    rep.by_module()["1"] = None  # a caller changing its copy changes nothing
    assert rep.by_module()["1"].macs == 6
    rep.entries = [e for e in rep.entries if e[0].module == "0"]
    assert rep.by_module()[""].macs == 24 + 6
    assert rep.by_module()["1"].macs == 0
