"""Views of a report walk its records a fixed number of times, not once per row: the table,
the operator table and the JSON of a model with many modules read the report's totals once
(each total is a walk of every record; once per row made table() quadratic: 71 s for 10,000
modules)."""
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.report import Aggregate


@pytest.fixture()
def wide_report():
    model = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.ReLU()) for _ in range(60)]).eval()
    return flowflops.profile(model, (1, 4))


@pytest.mark.parametrize("view", ["to_text", "operator_table", "to_json"])
def test_totals_read_a_fixed_number_of_times(wide_report, monkeypatch, view):
    walks = []
    original = Aggregate.cost

    def cost(self):
        walks.append(1)
        return original.fget(self)

    monkeypatch.setattr(Aggregate, "cost", property(cost))
    getattr(wide_report, view)()
    # 60 blocks x (Sequential, Linear, ReLU) = 180 rows below the root at depth 3; a walk per
    # row would be 180 or more
    assert len(walks) <= 4
