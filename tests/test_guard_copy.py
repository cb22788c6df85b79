"""A model being counted can be copied and pickled by another thread (a checkpoint thread, an
EMA copy), and the copy carries none of the count's hooks (issue 29). OneFlow 0.9's
Module.__getstate__ drops every hook of a copy (with a warning), the user's too, so this holds
by OneFlow's rule; and the count's hooks and eval flags are set on the count's own view of the
model, never on the user's modules, so a copy has the user's flags. Real threads."""
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
        # mid-count: the module's hook dicts are the user's (the count's are on its view)
        assert list(model.fc._forward_hooks) == own_keys
        assert model.training and model.fc.training  # the user's flags, not the count's eval
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
        assert other.training and other.fc.training  # the user's flags (a new module's: True)
        for m in other.modules():
            assert len(m._forward_hooks) == 0 and len(m._forward_pre_hooks) == 0
        out = other.fc(flow.ones(2, 4))  # the copy runs, uncounted
        assert tuple(out.shape) == (2, 4)
