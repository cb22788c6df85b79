"""``flowflops.eager.layers.op_record``: the record an eager forward keeps, made without the
frozen dataclass's ``__init__``, must be the very record ``OpRecord(...)`` makes."""
import dataclasses
import pickle

import pytest

from flowflops.eager.layers import op_record, record
from flowflops.records import OpRecord


def test_same_record_as_the_dataclass_makes():
    args = ("conv2d", "features.0.0", ((1, 3, 224, 224), (16, 3, 3, 3)), ((1, 16, 112, 112),),
            {"groups": 1}, "n")
    fast, slow = op_record(*args), OpRecord(*args)
    assert type(fast) is OpRecord
    assert fast == slow and repr(fast) == repr(slow)
    assert list(vars(fast).items()) == list(vars(slow).items())  # the same fields, in the same order
    assert dataclasses.astuple(fast) == dataclasses.astuple(slow)
    assert pickle.loads(pickle.dumps(fast)) == slow
    assert dataclasses.replace(fast, module="x") == OpRecord(*args[:1], "x", *args[2:])
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.module = "other"  # type: ignore[misc]


def test_record_keeps_its_fields():
    rec = record("relu", [[1, 8]], [(1, 8)], inplace=False)
    assert rec == OpRecord("relu", "", ([1, 8],), ((1, 8),), {"inplace": False}, "")
    assert type(rec.inputs) is tuple and type(rec.inputs[0]) is list  # tuple() of the list given, as before
