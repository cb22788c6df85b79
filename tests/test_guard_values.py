"""The state guard's tensor values (flowflops/runtime/guard.py ``_Values``): an eager count
copies the buffers and tensor attributes of the user's modules in flat chunks (one per dtype
and device, 0-d tensors apart) and writes back exactly those the forward changed: in place,
through ``.data`` with another shape or dtype, in a chunk of their own or packed with others."""
import numpy as np
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.runtime import guard


class Writes(nn.Module):
    """Buffers and tensor attributes of every kind the guard packs, and a forward that changes
    some of them (each write below is undone by the count)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.bn = nn.BatchNorm1d(4)
        self.register_buffer("step", flow.tensor(3, dtype=flow.int64))        # 0-d int64
        self.register_buffer("scale", flow.tensor(0.5))                       # 0-d float32
        self.register_buffer("cache", flow.arange(6, dtype=flow.float32).reshape(2, 3))
        self.register_buffer("nan", flow.tensor([float("nan"), 1.0, 2.0]))
        self.register_buffer("empty", flow.zeros(0))
        self.register_buffer("wide", flow.arange(5, dtype=flow.float64))
        self.register_buffer("shaped", flow.ones(2, 2))
        self.register_buffer("typed", flow.tensor(7, dtype=flow.int64))
        self.table = flow.arange(12, dtype=flow.float32)                      # a tensor attribute

    def forward(self, x):
        self.step.add_(1)
        self.cache[1, 2] = 100.0
        self.nan[0] = 5.0                       # NaN -> 5
        self.wide.mul_(2)
        self.table[3] = -1.0
        self.shaped.data = flow.zeros(3)        # another shape, through .data
        self.typed.data = flow.tensor(1.5)      # another dtype, through .data
        return self.bn(self.fc(x)) * self.scale


def _values(model):
    out = {k: v.numpy().copy() for k, v in model.named_buffers()}
    out["table"] = model.table.numpy().copy()
    return out


def _check_untouched(model, before, ids):
    after = _values(model)
    assert sorted(after) == sorted(before)
    for k, v in before.items():
        assert after[k].dtype == v.dtype and after[k].shape == v.shape, k
        assert np.array_equal(after[k], v, equal_nan=True), (k, after[k], v)
    # the same tensor objects, not new ones bound in their place
    assert {k: id(t) for k, t in model.named_buffers()} == ids


@pytest.mark.parametrize("chunk", [None, 5, 1])
def test_every_write_of_an_eager_forward_is_undone(monkeypatch, chunk):
    """``chunk`` None: the default size (everything of one dtype in one chunk); 5 elements: the
    float32 tensors split over several chunks and ``cache`` (6), ``table`` (12) and the
    BatchNorm buffers bigger than a chunk, each saved alone; 1: every tensor alone."""
    if chunk is not None:
        monkeypatch.setattr(guard, "_CHUNK", chunk)
    model = Writes()
    before = _values(model)
    ids = {k: id(t) for k, t in model.named_buffers()}
    # the hand-made reference: what the forward alone does to them (run on a copy of the state)
    assert before["step"] == 3 and before["cache"][1, 2] == 5.0 and np.isnan(before["nan"][0])
    flowflops.profile(model, (2, 4))
    _check_untouched(model, before, ids)
    flowflops.profile(model, (2, 4))  # and again: nothing accumulates
    _check_untouched(model, before, ids)


def test_the_forward_really_writes_them():
    """The test above could not fail if the forward wrote nothing: run it bare."""
    model = Writes().eval()
    with flow.no_grad():
        model(flow.ones(2, 4))
    assert model.step.numpy() == 4                      # 3 + 1
    assert model.cache.numpy()[1, 2] == 100.0
    assert model.nan.numpy()[0] == 5.0
    assert model.wide.numpy().tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]  # 2 * arange(5)
    assert model.table.numpy()[3] == -1.0
    assert tuple(model.shaped.shape) == (3,)
    assert model.typed.dtype == flow.float32


def _put_back(values):
    """What the guard's restore does with them: check, read the flags, write back."""
    values.put_back([bool(f.numpy()[0]) for f in values.check()])


def test_values_put_back_only_what_changed(monkeypatch):
    """``_Values`` directly: a NaN that stays NaN is no change, and only the changed tensor is
    written back (its copy_ is the only one called)."""
    a = flow.tensor([1.0, 2.0])
    b = flow.tensor([3.0, float("nan")])
    c = flow.tensor(4, dtype=flow.int64)
    values = guard._Values([a, b, c])
    assert [len(ch[0]) for ch in values.chunks] == [2, 1]  # float32 [a, b]; 0-d int64 [c]
    a[0] = 10.0
    written = []
    copy = flow.Tensor.copy_

    def spy(self, other):
        written.append(id(self))
        return copy(self, other)

    monkeypatch.setattr(flow.Tensor, "copy_", spy)
    _put_back(values)
    assert written == [id(a)]
    assert a.numpy().tolist() == [1.0, 2.0]
    assert b.numpy()[0] == 3.0 and np.isnan(b.numpy()[1])
    assert c.numpy() == 4
    written.clear()
    _put_back(values)  # nothing changed since
    assert written == []
