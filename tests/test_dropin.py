"""Drop-in for ptflops and thop users (issue #12): ptflops' argument order and backends,
ptflops/thop-style hooks, op-level rules, module rules in graph mode, formatting, the missing
batch dimension, and one-line errors naming the bad value."""
import inspect
import io
import os
import subprocess
import sys

import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops import FLOPS_BACKEND, CountError, CustomHookError, get_model_complexity_info
from flowflops.thop import clever_format
from flowflops.thop import profile as thop_profile

# Conv2d(3, 2, 3) + ReLU on (1, 3, 224, 224): output (1, 2, 222, 222), 98,568 elements.
OUT = 2 * 222 * 222
CONV = 3 * 3 * 3 * OUT  # 2,661,336 multiply-accumulates
CONV_RELU_PARAMS = 3 * 3 * 3 * 2 + 2


def conv_relu() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())


def macs(model, shape=(1, 3, 224, 224), **kwargs) -> int:
    return get_model_complexity_info(model, shape, as_strings=False, print_per_layer_stat=False, **kwargs)[0]


# -- ptflops' signature ------------------------------------------------------------------------

PTFLOPS_0_7_5_ORDER = [
    "model", "input_res", "print_per_layer_stat", "as_strings", "input_constructor", "ost", "verbose",
    "ignore_modules", "custom_modules_hooks", "backend", "flops_units", "param_units", "output_precision",
    "backend_specific_config",
]


def test_positional_order_is_ptflops():
    # ptflops 0.7.5's get_model_complexity_info, parameter for parameter (mode is keyword only)
    params = inspect.signature(get_model_complexity_info).parameters
    positional = [n for n, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == PTFLOPS_0_7_5_ORDER
    assert params["mode"].kind is inspect.Parameter.KEYWORD_ONLY


def test_backend_positional_string_and_enum():
    # the 10th positional argument is ptflops' backend; Linear(3, 2) on (1, 3): 6 + bias 2
    net = nn.Sequential(nn.Linear(3, 2))
    args = (net, (1, 3), False, False, None, sys.stdout, False, [], {})
    assert get_model_complexity_info(*args, "pytorch") == (8, 8)
    assert get_model_complexity_info(*args, "aten") == (8, 8)
    assert get_model_complexity_info(*args, FLOPS_BACKEND.ATEN) == (8, 8)
    assert FLOPS_BACKEND("pytorch") is FLOPS_BACKEND.PYTORCH
    from flowflops.flops_counter import FLOPS_BACKEND as FB

    assert FB is FLOPS_BACKEND


def test_backend_pytorch_counts_functional_calls_by_default():
    # ptflops 0.7.5's pytorch backend patches torch.add (not the + operator) unless
    # count_functional=False: flow.add(x, x) on (1, 4) is 4 elementwise MACs, seen only by the
    # functional patches
    class AddSelf(nn.Module):
        def forward(self, x):
            return flow.add(x, x)

    class PlusSelf(nn.Module):
        def forward(self, x):
            return x + x

    assert macs(AddSelf(), (1, 4)) == 0  # flowflops' default: module hooks only
    assert macs(AddSelf(), (1, 4), backend="pytorch") == 4
    assert macs(PlusSelf(), (1, 4), backend="pytorch") == 0
    assert macs(AddSelf(), (1, 4), backend="pytorch", backend_specific_config={"count_functional": False}) == 0


def test_unknown_backend_is_one_line_naming_it():
    with pytest.raises(ValueError, match=r"unknown backend 'torch'") as e:
        macs(conv_relu(), backend="torch")
    assert "\n" not in str(e.value)


# -- the missing batch dimension ---------------------------------------------------------------

@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_missing_batch_dim_error_names_the_fix(mode):
    with pytest.raises(CountError, match=r"\(3, 224, 224\) is \(1, 3, 224, 224\) here"):
        macs(conv_relu(), (3, 224, 224), mode=mode)


# -- ignore_modules / custom_modules_hooks by module type, in both engines --------------------

@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_ignore_modules_by_type(mode):
    # Conv2d ignored: only the ReLU is left, 1 per output element (the 98,568)
    assert macs(conv_relu(), ignore_modules=[nn.Conv2d], mode=mode) == OUT == 98568


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_ptflops_style_hook(mode):
    # ptflops' style: module.__flops__ += n. The hook replaces the conv and its bias add.
    def hook(module, input, output):
        module.__flops__ += 1000

    model = conv_relu()
    before = dict(model[0].__dict__)
    assert macs(model, custom_modules_hooks={nn.Conv2d: hook}, mode=mode) == 1000 + OUT
    assert model[0].__dict__.keys() == before.keys()  # no __flops__ left behind


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_hook_returning_a_number_sees_shapes(mode):
    # the hook gets the call's input and output (traced tensors in graph mode): 7 per output
    def hook(module, input, output):
        assert tuple(input[0].shape) == (1, 3, 224, 224)
        return 7 * output.numel()

    assert macs(conv_relu(), custom_modules_hooks={nn.Conv2d: hook}, mode=mode) == 7 * OUT + OUT


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_outer_ignored_module_wins(mode):
    # the Sequential holding conv and ReLU is ignored: nothing inside is priced, even with a hook
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = conv_relu()
            self.head = nn.ReLU()

        def forward(self, x):
            return self.head(self.body(x))

    n = macs(Net(), ignore_modules=[nn.Sequential], custom_modules_hooks={nn.Conv2d: lambda m, i, o: 5}, mode=mode)
    assert n == OUT  # the head ReLU only


def test_hook_that_raises_is_one_line_naming_it():
    def my_hook(module, input, output):
        raise ZeroDivisionError("boom")

    for mode in ("eager", "graph"):
        with pytest.raises(CustomHookError, match=r"my_hook.*Conv2d \(module '0'\).*ZeroDivisionError: boom") as e:
            macs(conv_relu(), custom_modules_hooks={nn.Conv2d: my_hook}, mode=mode)
        assert "\n" not in str(e.value)


def test_hook_that_gives_nothing_is_refused():
    with pytest.raises(CustomHookError, match="returned None and added nothing"):
        macs(conv_relu(), custom_modules_hooks={nn.Conv2d: lambda m, i, o: None})


def test_module_rules_refused_where_they_cannot_apply():
    with pytest.raises(ValueError, match="mode='train'"):
        flowflops.profile(nn.Sequential(nn.Linear(4, 3)), (2, 4), mode="train",
                          custom_modules_hooks={nn.Linear: lambda m, i, o: 1})


def test_train_mode_ignores_by_scope_in_every_phase():
    # Linear(4, 3) + ReLU, ReLU ignored: nothing of the ReLU (forward relu, backward relu_grad)
    # is counted
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    r = flowflops.profile(model, (2, 4), mode="train", ignore_modules=[nn.ReLU])
    assert not [rec for rec, _ in r.entries if rec.module == "1"]


# -- op-level rules (ptflops' aten style, by OneFlow op type name) ------------------------------

@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_op_level_ignore_and_custom(mode):
    # the conv2d op ignored: its bias_add (98,568) and the ReLU (98,568) are left
    assert macs(conv_relu(), ignore_modules=["conv2d"], mode=mode) == 2 * OUT
    # priced by fn(inputs, outputs) with shapes: the output's elements, once
    fn = lambda ins, outs: outs[0].numel()  # noqa: E731
    assert macs(conv_relu(), custom_modules_hooks={"conv2d": fn}, mode=mode) == OUT + 2 * OUT


def test_unknown_op_name_is_one_line_naming_it():
    with pytest.raises(ValueError, match=r"'conv2dd', which OneFlow does not have") as e:
        macs(conv_relu(), ignore_modules=["conv2dd"])
    assert "\n" not in str(e.value)
    # a OneFlow op without a flowflops formula is a valid name
    assert macs(conv_relu(), ignore_modules=["fused_bias_add_gelu"]) == CONV + 2 * OUT


def test_op_hook_that_raises_is_one_line_naming_it():
    def op_hook(ins, outs):
        raise KeyError("x")

    with pytest.raises(CustomHookError, match=r"op_hook.*op conv2d.*KeyError") as e:
        macs(conv_relu(), custom_modules_hooks={"conv2d": op_hook}, mode="graph")
    assert "\n" not in str(e.value)


# -- verbose, param_units, formatting ---------------------------------------------------------

def test_verbose_in_graph_mode_names_ops():
    # an op with no formula is printed once, in ptflops' aten words (the first of a few rarely
    # priced ops that has no formula today)
    from flowflops.registry import lookup

    candidates = [("flip", lambda x: flow.flip(x, [1])), ("median", lambda x: flow.median(x)),
                  ("erfinv", lambda x: flow.erfinv(x)), ("searchsorted", lambda x: flow.searchsorted(x, x))]
    op, fn = next((op, fn) for op, fn in candidates if lookup(op) is None)

    class Unpriced(nn.Module):
        def forward(self, x):
            return fn(x)

    buf = io.StringIO()
    get_model_complexity_info(Unpriced(), (1, 4), print_per_layer_stat=False, ost=buf, verbose=True, mode="graph")
    assert buf.getvalue() == f"Warning: {op} operation is treated as a zero-op\n"


def test_param_units_in_the_printout():
    buf = io.StringIO()
    get_model_complexity_info(nn.Sequential(nn.Linear(4, 3)), (2, 4), ost=buf, param_units="K", as_strings=False)
    # 15 params in K: round(15 / 1000, 2) = 0.01 (ptflops divides by 10.**3)
    assert "(0): Linear(0.01 K, 100.000% Params" in buf.getvalue()


@pytest.mark.parametrize("fn,value,kwargs,text", [
    # ptflops 0.7.5 utils: 'B' is billions; any unknown unit gives the bare number
    ("params", 25557032, {"units": "B"}, "0.03 B"),
    ("params", 25557032, {"units": "G"}, "25557032"),
    ("flops", 4121925096, {"units": "TMac"}, "4121925096 Mac"),
    ("flops", 4121925096, {"units": "Mac"}, "4121925096 Mac"),
])
def test_ptflops_units(fn, value, kwargs, text):
    f = flowflops.params_to_string if fn == "params" else flowflops.flops_to_string
    assert f(value, **kwargs) == text


# -- thop ---------------------------------------------------------------------------------------

def test_thop_total_ops_hook_and_layer_info():
    # thop's style: m.total_ops += tensor. Conv2d(3, 2, 3) replaced by 123; ReLU is 0 in thop's
    # convention, which flowflops.thop follows.
    def count_conv(m, x, y):
        m.total_ops += flow.tensor([123.0], dtype=flow.float64)

    x = flow.ones(1, 3, 224, 224)
    total, params, info = thop_profile(conv_relu(), inputs=(x,), custom_ops={nn.Conv2d: count_conv},
                                       verbose=False, ret_layer_info=True)
    assert (total, params) == (123, CONV_RELU_PARAMS)
    assert info == {"0": (123, CONV_RELU_PARAMS, {}), "1": (0, 0, {})}


def test_thop_clever_format():
    # thop 0.1.1: strictly above each power of 1000
    assert clever_format([4.1e9, 2.5e7, 1000, 1001], "%.3f") == ("4.100G", "25.000M", "1000.000B", "1.001K")


def test_thop_inputs_must_be_a_tuple():
    with pytest.raises(TypeError, match="inputs=\\(x,\\)"):
        thop_profile(conv_relu(), inputs=flow.ones(1, 3, 8, 8))


# -- ptflops' README example --------------------------------------------------------------------

@pytest.mark.slow
def test_ptflops_readme_example_runs():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run([sys.executable, os.path.join(root, "examples", "ptflops_readme.py")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("Computational complexity")]
    assert len(lines) == 2 and all(ln.rstrip().endswith("GMac") for ln in lines)


def test_graph_module_hooks_leave_oneflow_as_it_was():
    # graph mode wraps ProxyModule.__call__ while it traces; afterwards (also after a hook
    # raised) OneFlow's method is the same object as before, and the model counts as before
    from oneflow.nn.graph.proxy import ProxyModule

    before = ProxyModule.__call__

    def bad(m, i, o):
        raise ValueError("no")

    with pytest.raises(CustomHookError):
        macs(conv_relu(), custom_modules_hooks={nn.Conv2d: bad}, mode="graph")
    assert ProxyModule.__call__ is before
    assert macs(conv_relu(), custom_modules_hooks={nn.Conv2d: lambda m, i, o: 1}, mode="graph") == 1 + OUT
    assert ProxyModule.__call__ is before
    # no rule: the plain graph count, conv + bias + ReLU
    assert macs(conv_relu(), mode="graph") == CONV + 2 * OUT
