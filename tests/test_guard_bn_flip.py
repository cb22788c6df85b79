"""An eager count keeps BatchNorm statistics while another thread flips the model's training
flags (issue 29: a training loop calls model.train() every step; the count's forward then ran
BatchNorm in training mode on the all-ones input and moved its running statistics for good).
Real threads. The count runs on a view of the model whose flags no other thread sets."""
import threading

import numpy as np
import oneflow as flow
import oneflow.nn as nn

import flowflops


class Flip(nn.Module):
    """Conv + BatchNorm; the forward lets another thread call model.train() before BatchNorm."""

    def __init__(self, flipped, go):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.flipped, self.go = flipped, go

    def forward(self, x):
        y = self.conv(x)
        if threading.current_thread() is not threading.main_thread():
            self.go.set()
            self.flipped.wait(30)  # the trainer has called model.train() by now
        return self.bn(y)


def test_bn_statistics_survive_a_train_call_from_another_thread_mid_count():
    flipped, go = threading.Event(), threading.Event()
    model = Flip(flipped, go)
    model.eval()
    model.bn.running_mean.copy_(flow.full((4,), 0.25))
    model.bn.running_var.copy_(flow.full((4,), 2.0))
    before = {k: v.numpy().copy() for k, v in model.bn.state_dict().items()}

    def trainer():
        assert go.wait(30)
        model.train()  # a training loop's step, in its own thread
        flipped.set()

    t = threading.Thread(target=trainer)
    t.start()
    done = []
    def count():
        try:
            done.append(flowflops.profile(model, (2, 3, 6, 6)))
        except flowflops.CountError as err:
            done.append(err)

    c = threading.Thread(target=count)
    c.start()
    c.join(60)
    t.join(60)
    # the count runs on its own view of the model, in eval mode throughout: the trainer's
    # model.train() reaches the user's modules only. Conv2d(3, 4, 3) on (2, 3, 6, 6): output
    # 2*4*4*4 = 128 elements x 3*3*3 = 3456 + bias 128; BatchNorm2d in eval mode, 2 per
    # element (normalise, affine): 256. In all 3456 + 128 + 256 = 3840.
    assert len(done) == 1 and not isinstance(done[0], flowflops.CountError), done
    assert done[0].macs == 3456 + 128 + 256
    assert model.training and model.bn.training and model.conv.training  # the trainer's
    after = {k: v.numpy() for k, v in model.bn.state_dict().items()}
    for k, v in before.items():
        assert np.array_equal(after[k], v), k  # running_mean, running_var, num_batches_tracked
