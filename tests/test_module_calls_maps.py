"""``intercepting(handler, maps=...)``: a handler that only replaces the module it is called
with is folded into the chain's last frame (flowflops/runtime/module_calls.py ``_chain``). The
calls must go where the handler itself sends them: alone, under another handler, and when a
second replacing handler is entered in the same thread (an eager count's view redirect within
another's), where the chain runs the handlers themselves again."""
import oneflow.nn as nn

from flowflops.runtime.module_calls import intercepting, installed_count
from flowflops.runtime.view import calls_to_view


class _Seen(nn.Module):
    def __init__(self, log, tag):
        super().__init__()
        self.log, self.tag = log, tag

    def forward(self, x):
        self.log.append(self.tag)
        return x


def _pair(log, tag):
    user, view = _Seen(log, tag), _Seen(log, tag + "'")
    return user, {id(user): view}


def test_one_redirect_alone_and_under_another_handler():
    log = []
    a, memo_a = _pair(log, "a")
    other = _Seen(log, "other")
    seen = []

    def watch(call_next, module, args, kwargs):
        seen.append(module.tag)  # the module as the outer handler gets it: before the redirect
        return call_next(module, args, kwargs)

    call = nn.Module.__call__
    with calls_to_view(memo_a, [a]):
        a(1)
        other(1)
        with intercepting(watch):
            a(1)
        a(1)
    a(1)
    assert log == ["a'", "other", "a'", "a'", "a"]
    assert seen == ["a"]
    assert nn.Module.__call__ is call and installed_count() == 0


def test_a_redirect_within_another_redirect_in_the_same_thread():
    # while the inner one runs, the thread's redirect is the inner one's alone (as before the
    # fold: both handlers read the thread's current map), then the outer one's again
    log = []
    a, memo_a = _pair(log, "a")
    b, memo_b = _pair(log, "b")
    with calls_to_view(memo_a, [a]):
        a(1)
        with calls_to_view(memo_b, [b]):
            a(1)
            b(1)
        a(1)
        b(1)
    assert log == ["a'", "a", "b'", "a'", "b"]
    assert installed_count() == 0
