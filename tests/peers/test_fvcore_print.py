"""flowflops.fvcore's printouts (flop_count_table, flop_count_str, parameter_count_table)
against fvcore's own, printed by fvcore 0.1.5.post20221221 with torch 2.14.1 and tabulate 0.10.0
on the torch twins of the same models (benchmarks/fvcore_printouts.py, 2026-12-07 12:52 UTC; the
files in tests/peers/golden/ name the tool, version and date in their first line). Both sides
are the same model code (tests/peers/twin_models.py, tests/peers/fvcore_print_models.py) with
the import swapped."""
import os
import re
import sys

import oneflow
import pytest

from flowflops import fvcore
from flowflops.render.fvcore_text import format_size

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fvcore_print_models import print_models  # noqa: E402
from twin_models import small_models  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benchmarks"))
from fvcore_printouts import CASES, file_name  # noqa: E402

# flop_count_str prints each module's own repr (extra_repr), and OneFlow 0.9's differ from
# torch 2.14's for some layers: BatchNorm2d (torch adds "bias=True"), MaxPool2d (OneFlow prints
# tuples and no ceil_mode), ELU, AdaptiveAvgPool2d. For models with such layers only the
# statistics lines and the module names/types are compared; the others are compared whole.
OWN_REPRS = {"small_cnn"}

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def golden(name):
    with open(os.path.join(GOLDEN, name)) as f:
        head, sep, text = f.read().partition("\n---\n")
    assert sep and head.startswith("fvcore 0.1.5"), name
    return text


@pytest.fixture(scope="module")
def models():
    return dict(small_models(oneflow), **print_models(oneflow))


@pytest.mark.parametrize("name,printout,kwargs", CASES, ids=[file_name(*c)[7:-4] for c in CASES])
def test_as_fvcore_prints(models, name, printout, kwargs):
    model, shape = models[name]
    model.eval()
    if printout == "parameter_count_table":
        text = fvcore.parameter_count_table(model, **kwargs)
    else:
        analysis = fvcore.FlopCountAnalysis(model, oneflow.randn(*shape))
        text = getattr(fvcore, printout)(analysis, **kwargs)
    expected = golden(file_name(name, printout, kwargs))
    if printout == "flop_count_str" and name in OWN_REPRS:
        text, expected = skeleton(text), skeleton(expected)
        assert len(text) > 10
    assert text == expected


def skeleton(text):
    """What of a flop_count_str does not come from extra_repr: each module's '(key): Type(' head
    (with its indentation) and each statistics text ('#params: 16, #flops: 16.38K'), in order.
    (A module whose extra_repr is empty prints its statistics on its head line.)"""
    out = []
    for line in text.split("\n"):
        head = re.match(r"^(\s*(\(\w+\): )?\w+\()", line)
        if head:
            out.append(head.group(1))
        stats = re.search(r"#params: [^)]*", line)
        if stats:
            out.append(stats.group(0))
    return out


def test_format_size():
    # fvcore's _format_size: thresholds 1e2, 1e5, 1e8 ...; 3 decimals, trailing zeros dropped
    assert format_size(100) == "100"           # not above 1e2
    assert format_size(101) == "0.101K"        # 101 / 1e3
    assert format_size(16384) == "16.384K"     # 16384 / 1e3
    assert format_size(100001) == "0.1M"       # 0.100001 -> "0.100" -> "0.1"
    assert format_size(4111512576) == "4.112G"  # 4.111512576 rounded to 3 decimals
    assert format_size(11363, 2) == "11.36K"   # flop_count_str keeps 2 decimals
    assert format_size(0, hide_zero=True) == ""


def test_bad_arguments(models):
    with pytest.raises(TypeError, match="FlopCountAnalysis"):
        fvcore.flop_count_table(models["tiny"][0])
    with pytest.raises(TypeError, match="oneflow.nn.Module"):
        fvcore.parameter_count_table("resnet18")


def test_model_left_as_it_was(models):
    # the printouts read the analysis; the model's mode and parameters are unchanged
    model, shape = models["nested"]
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fvcore.flop_count_table(fvcore.FlopCountAnalysis(model, oneflow.randn(*shape)))
    assert model.training
    assert all(oneflow.equal(before[k], v) for k, v in model.state_dict().items())
