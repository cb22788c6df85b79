"""A model being counted can be copied and pickled by another thread (a checkpoint thread, an
EMA copy), and the copy carries none of the count's hooks (issue 29). OneFlow 0.9's
Module.__getstate__ drops every hook of a copy (with a warning), the user's too, so this holds
by OneFlow's rule; what a copy does carry is the count's eval flags (not fixed). Real threads."""
import warnings
import copy
import pickle
import threading

import oneflow as flow
import oneflow.nn as nn

import flowflops


def _user_hook(module, args, out):
    return None


class Paused(nn.Module):
    """Linear(4, 4) whose forward, in the counting thread, waits while another thread copies."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.fc.register_forward_hook(_user_hook)

    def forward(self, x):
        inside.set()
        go.wait(30)
        return self.fc(x)


inside, go = threading.Event(), threading.Event()


def test_deepcopy_and_pickle_mid_count_carry_nothing_of_the_count():
    inside.clear()
    go.clear()
    model = Paused()
    own_keys = list(model.fc._forward_hooks)
    result = {}

    def count():
        flow.ones(1).numpy()
        result["macs"] = flowflops.profile(model, (2, 4)).macs

    t = threading.Thread(target=count)
    t.start()
    try:
        assert inside.wait(60)
        # mid-count: the module's hook dicts hold the count's hooks too
        assert len(model.fc._forward_hooks) == len(own_keys) + 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # OneFlow: "The module hooks will not be remained"
            twin = copy.deepcopy(model)
            blob = pickle.dumps(model)
    finally:
        go.set()
        t.join(60)
    # Linear(4, 4) on (2, 4): matmul 2*4*4 = 32 + bias 2*4 = 8
    assert result["macs"] == 40
    loaded = pickle.loads(blob)
    assert [h.__name__ for h in model.fc._forward_hooks.values()] == ["_user_hook"]
    for other in (twin, loaded):
        for m in other.modules():
            assert len(m._forward_hooks) == 0 and len(m._forward_pre_hooks) == 0
        out = other.fc(flow.ones(2, 4))  # the copy runs, uncounted
        assert tuple(out.shape) == (2, 4)
