"""ptflops-shaped API: arguments, printing, and clear errors on bad input."""
import io

import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops import get_model_complexity_info


def tiny() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU())


# Linear(4 -> 3) on (2, 4): 2*3*4 MACs + 2*3 bias adds; ReLU 2*3.
TINY_MACS = 2 * 3 * 4 + 2 * 3 + 2 * 3
TINY_PARAMS = 4 * 3 + 3


def test_returns_ints_and_strings():
    got = get_model_complexity_info(tiny(), (2, 4), as_strings=False, print_per_layer_stat=False)
    assert got == (TINY_MACS, TINY_PARAMS)
    macs, params = get_model_complexity_info(tiny(), (2, 4), print_per_layer_stat=False)
    assert (macs, params) == (f"{TINY_MACS} Mac", str(TINY_PARAMS))


def test_per_layer_stat_prints_the_tree_to_ost():
    buf = io.StringIO()
    get_model_complexity_info(tiny(), (2, 4), ost=buf, as_strings=False)
    text = buf.getvalue()
    assert text.startswith("Sequential(")
    # Linear: 15 of 15 params, 30 of 36 MACs (2*3*4 + 2*3 of 2*3*4 + 2*3 + 2*3): 83.333%
    # parameters as ptflops 0.7.5 prints them with param_units=None: 15 is below a thousand
    assert "(0): Linear(15, 100.000% Params, 30 Mac, 83.333% MACs, in_features=4, out_features=3, bias=True)" in text
    assert "(1): ReLU(0, 0.000% Params, 6 Mac, 16.667% MACs" in text


def test_per_layer_stat_in_graph_mode_includes_forward_ops():
    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4, bias=False)

        def forward(self, x):
            return self.fc(x) + x

    buf = io.StringIO()
    get_model_complexity_info(Res(), (1, 4), ost=buf, mode="graph")
    # the root holds fc (1*4*4) and the residual add (4): 20 MACs
    assert buf.getvalue().startswith("Res(\n  16, 100.000% Params, 20 Mac, 100.000% MACs")


def test_input_constructor_tuple_and_dict():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 2), nn.Linear(6, 2)

        def forward(self, x, y):
            return self.a(x), self.b(y)

    # a: 3*2*4 + 3*2 ; b: 3*2*6 + 3*2
    expected = 3 * 2 * 4 + 3 * 2 + 3 * 2 * 6 + 3 * 2
    for make in (lambda r: (flow.ones(3, 4), flow.ones(3, 6)), lambda r: {"x": flow.ones(3, 4), "y": flow.ones(3, 6)}):
        for mode in ("eager", "graph"):
            r = flowflops.profile(Two(), None, input_constructor=make, mode=mode)
            assert r.macs == expected, mode


@pytest.mark.parametrize("bad, exc", [
    ([1, 0, 4], ValueError), ((1, -2), ValueError), ((1, 2.5), TypeError), ("1,4", TypeError),
    (4, TypeError), ((), ValueError), ((1, True), TypeError),
])
def test_bad_input_res(bad, exc):
    with pytest.raises(exc, match="input_res"):
        flowflops.profile(tiny(), bad)


def test_input_res_as_list_is_accepted():
    assert flowflops.profile(tiny(), [2, 4]).macs == TINY_MACS


def test_not_a_module():
    with pytest.raises(TypeError, match="nn.Module"):
        get_model_complexity_info(lambda x: x, (1, 4))


def test_forward_failing_on_the_shape_names_model_shape_and_cause():
    with pytest.raises(flowflops.CountError) as info:
        flowflops.profile(tiny(), (2, 5))
    msg = str(info.value)
    assert "Sequential" in msg and "(2, 5)" in msg
    assert info.value.__cause__ is not None


def test_graph_mode_failure_suggests_eager():
    with pytest.raises(flowflops.CountError, match="eager"):
        flowflops.profile(tiny(), (2, 5), mode="graph")


def test_unknown_mode_and_config():
    with pytest.raises(ValueError, match="mode"):
        flowflops.profile(tiny(), (2, 4), mode="jit")
    with pytest.raises(ValueError, match="backend_specific_config"):
        flowflops.profile(tiny(), (2, 4), backend_specific_config={"nope": 1})


def test_input_constructor_that_raises():
    def bad(res):
        raise KeyError("no")

    with pytest.raises(ValueError, match="input_constructor raised KeyError"):
        flowflops.profile(tiny(), (2, 4), input_constructor=bad)


def test_custom_hook_that_raises_names_the_hook():
    def my_hook(m, i, o):
        raise ZeroDivisionError("x")

    with pytest.raises(RuntimeError, match="my_hook.*Linear"):
        flowflops.profile(tiny(), (2, 4), custom_modules_hooks={nn.Linear: my_hook})


def test_frozen_parameters_reported_separately():
    model = tiny()
    model[0].weight.requires_grad = False
    r = flowflops.profile(model, (2, 4))
    assert (r.params, r.trainable_params) == (TINY_PARAMS, 3)
    # ptflops returns trainable parameters
    assert get_model_complexity_info(model, (2, 4), as_strings=False, print_per_layer_stat=False)[1] == 3


def test_verbose_prints_zero_counted_modules_to_ost():
    model = nn.Sequential(nn.Linear(4, 4), nn.Softsign() if hasattr(nn, "Softsign") else nn.Tanh())
    buf = io.StringIO()
    get_model_complexity_info(model, (1, 4), verbose=True, print_per_layer_stat=False, ost=buf)
    # ptflops 0.7.5's words, once per module type
    name = type(model[1]).__name__
    assert buf.getvalue() == f"Warning: module {name} is treated as a zero-op.\n"


def test_model_without_parameters():
    got = get_model_complexity_info(nn.Sequential(nn.ReLU()), (2, 5), as_strings=False, print_per_layer_stat=False)
    assert got == (10, 0)
