"""The CPU random generator and counts (issue 29): what a count keeps of the user's stream, and
the OneFlow 0.9 limit that bounds it (its state holds the seed and the Mersenne Twister's 624
words but not its position among them)."""
import oneflow as flow
import oneflow.nn as nn

import flowflops


def _draws(n=3):
    return flow.rand(n).numpy().tolist()


class RandomForward(nn.Module):
    """Draws from the default generator in forward, in every mode."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x) + flow.randn(*x.shape) * 0


def test_a_seeded_generator_draws_the_same_after_a_count_of_a_random_forward():
    model = RandomForward()  # built first: its initialisation draws from the generator too
    flow.manual_seed(11)
    expected = _draws()
    flow.manual_seed(11)
    flowflops.profile(model, (2, 4))
    assert _draws() == expected


def test_dropout_draws_nothing_in_a_count_even_after_the_generator_drew():
    """Seed, build, draw, count a model with dropout (in training mode), draw again: the same
    numbers as without the count (the count runs the forward in eval mode)."""
    def run(count):
        flow.manual_seed(5)
        model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)).train()
        first = _draws()
        if count:
            flowflops.profile(model, (8, 4))
        return first, _draws(), model.training

    assert run(True) == run(False)
    assert run(True)[2] is True


def test_oneflow_cannot_put_back_a_generator_that_has_drawn():
    """Why the README promises no more: without flowflops, a state read after 3 draws and set
    back continues at the start of the next 624-word block, not at draw 4."""
    g = flow.default_generator
    flow.manual_seed(3)
    _draws(3)
    state = g.get_state()
    assert tuple(state.shape) == (5000,)  # 8 bytes of seed + 624 words of 8 bytes, no position
    truth = _draws(3)          # draws 4-6 of the seeded stream
    g.set_state(state)
    again = _draws(3)
    flow.manual_seed(3)
    _draws(624)
    next_block = _draws(3)     # draws 625-627
    assert again != truth
    assert again == next_block


def test_one_generator_per_process_so_another_threads_draws_during_a_count_are_undone():
    """docs/guarantees.md: no private generator for the counting thread (OneFlow 0.9 has one
    default CPU generator for all threads); an eager forward that draws gets the generator's
    state set back afterwards, whatever another thread drew meanwhile. Real threads: the
    forward lets the other thread draw 700 numbers (past one 624-word block, so the state's
    bytes change) before drawing itself."""
    import threading

    import numpy as np

    go, done = threading.Event(), threading.Event()

    class Meeting(RandomForward):
        def forward(self, x):
            go.set()
            assert done.wait(30)
            return super().forward(x)

    model = Meeting()
    flow.manual_seed(3)
    _draws(700)
    before = flow.get_rng_state().numpy().copy()

    def other():
        assert go.wait(30)
        seen.append(flow.rand(700).numpy())
        done.set()

    seen = []
    t = threading.Thread(target=other)
    t.start()
    try:
        flowflops.profile(model, (1, 4))
    finally:
        done.set()
        t.join(30)
    assert len(seen) == 1
    assert np.array_equal(flow.get_rng_state().numpy(), before)  # the other thread's draws too
