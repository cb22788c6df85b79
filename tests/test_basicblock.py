"""The article's BasicBlock, worked by hand (seed_numbers.md), and where the original differs."""
import flowflops
from models import BasicBlock

SHAPE = (1, 32, 64, 64)
OUT = 1 * 64 * 64 * 64  # elements of every (1, 64, 64, 64) activation: 262,144

CONV = 3 * 3 * 32 * OUT          # 75,497,472: kernel * in_channels per output element
CONV_BIAS = OUT                  # 262,144
BN = 2 * OUT                     # 524,288: affine BatchNorm, 2 per element
RELU = 2 * OUT                   # the ReLU module is called twice
LINEAR = 64 * 64 * 64 * 64       # 16,777,216: (1, 64, 64) rows x 64 in x 64 out
LINEAR_BIAS = OUT                # once per output element, not once (the original's bug)
EAGER = CONV + CONV_BIAS + BN + RELU + LINEAR + LINEAR_BIAS
ADD = OUT                        # out += cat([x, x]): add_n of two tensors, (2 - 1) per element
PARAMS = 64 * 32 * 3 * 3 + 64 + 2 * 64 + 64 * 64 + 64


def test_eager_by_hand():
    assert EAGER == 93_847_552  # seed_numbers.md
    r = flowflops.profile(BasicBlock(), SHAPE, mode="eager")
    assert (r.macs, r.params) == (EAGER, PARAMS) == (93_847_552, 22_784)
    assert r.by_module()["fc"].macs == LINEAR + LINEAR_BIAS


def test_graph_is_eager_plus_the_residual_add():
    r = flowflops.profile(BasicBlock(), SHAPE, mode="graph")
    assert r.macs == EAGER + ADD
    assert r.by_operator()["add_n"].macs == ADD
    # the add is written in BasicBlock.forward, so it belongs to the root module ""
    assert r.by_module()[""].macs - sum(r.by_module()[m].macs for m in ("conv1", "bn1", "relu", "fc")) == ADD


def test_difference_from_the_original_is_the_linear_bias():
    """The original counts the Linear bias once (64) instead of per output row: its eager
    93,585,472 and graph 93,847,616 are ours minus 262,144 - 64."""
    bias_bug = LINEAR_BIAS - 64
    assert EAGER - bias_bug == 93_585_472
    assert EAGER + ADD - bias_bug == 93_847_616


def test_flops_are_two_per_mac_and_one_per_elementwise():
    r = flowflops.profile(BasicBlock(), SHAPE, mode="graph")
    assert r.flops == 2 * (CONV + LINEAR) + (CONV_BIAS + BN + RELU + LINEAR_BIAS + ADD)
