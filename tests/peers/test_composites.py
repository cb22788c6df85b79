"""OneFlow's ``F.linear`` and ``flow.addmm`` are Python functions made of primitives
(``F.linear``: a ``matmul``, then ``res += bias``; ``flow.addmm``: ``flow.mul(x, beta) +
flow.mul(flow._C.matmul(mat1, mat2), alpha)``). torch runs each as one aten op, and each peer
prices that one op. Every expected figure below is what the real peer returned for the torch
twin of the same model, measured 2026-12-07 18:20 UTC in /work/peers-venv (torch 2.14.1,
ptflops 0.7.5, fvcore 0.1.5.post20221221, CPU), and each is derived by hand next to it.
Before the ``_via`` mark, flowflops gave (4, 16): ptflops 1,024 for an F.linear (ptflops: 0),
552 for an addmm (520), aten 512 for F.linear with a bias (544); FlopCounterMode ``aten.bmm``
for a 3-d F.linear and ``aten.mm`` for addmm; fvcore ``matmul`` and an ``aten::mul`` for addmm.
"""
import pytest
import oneflow as flow
import oneflow.nn as nn
import oneflow.nn.functional as F

from flowflops import FlopCounterMode
from flowflops.fvcore import FlopCountAnalysis
from flowflops.ptflops import get_model_complexity_info


class Weights(nn.Module):
    def __init__(self, forward):
        super().__init__()
        self.w = nn.Parameter(flow.ones(8, 16))
        self.b = nn.Parameter(flow.ones(8))
        self._forward = forward

    def forward(self, x):
        return self._forward(self, x)


CASES = {
    "linear_bias": lambda s, x: F.linear(x, s.w, s.b),
    "linear": lambda s, x: F.linear(x, s.w),
    "addmm": lambda s, x: flow.addmm(s.b, x.reshape(-1, 16), s.w.t()),
}

# ptflops' input_res (a batch of 1 is prepended): (4, 16) -> x (1, 4, 16); (3, 4, 16) -> (1, 3, 4, 16)
# rows: R = 4 or 12 rows of 16 features, 8 outputs
PTFLOPS = {
    # pytorch backend: F.linear is not patched (pytorch_engine.py:349, commented out) and torch's
    # F.linear calls nothing ptflops patches: 0. torch.addmm's hook: R*16*8 + numel(bias) 8
    ("linear_bias", "pytorch", (4, 16)): 0, ("linear_bias", "pytorch", (3, 4, 16)): 0,
    ("linear", "pytorch", (4, 16)): 0, ("linear", "pytorch", (3, 4, 16)): 0,
    ("addmm", "pytorch", (4, 16)): 4 * 16 * 8 + 8, ("addmm", "pytorch", (3, 4, 16)): 12 * 16 * 8 + 8,
    # aten backend: F.linear with a bias and addmm are aten.addmm: R*16*8 + R*8 (one per output);
    # without the bias aten.mm: R*16*8
    ("linear_bias", "aten", (4, 16)): 4 * 16 * 8 + 4 * 8, ("linear_bias", "aten", (3, 4, 16)): 12 * 16 * 8 + 12 * 8,
    ("linear", "aten", (4, 16)): 4 * 16 * 8, ("linear", "aten", (3, 4, 16)): 12 * 16 * 8,
    ("addmm", "aten", (4, 16)): 4 * 16 * 8 + 4 * 8, ("addmm", "aten", (3, 4, 16)): 12 * 16 * 8 + 12 * 8,
}
MEASURED = {  # ptflops 0.7.5's own return values, same keys
    ("linear_bias", "pytorch", (4, 16)): 0, ("linear_bias", "pytorch", (3, 4, 16)): 0,
    ("linear", "pytorch", (4, 16)): 0, ("linear", "pytorch", (3, 4, 16)): 0,
    ("addmm", "pytorch", (4, 16)): 520, ("addmm", "pytorch", (3, 4, 16)): 1544,
    ("linear_bias", "aten", (4, 16)): 544, ("linear_bias", "aten", (3, 4, 16)): 1632,
    ("linear", "aten", (4, 16)): 512, ("linear", "aten", (3, 4, 16)): 1536,
    ("addmm", "aten", (4, 16)): 544, ("addmm", "aten", (3, 4, 16)): 1632,
}


def test_the_hand_derivations_are_ptflops_figures():
    assert PTFLOPS == MEASURED


@pytest.mark.parametrize("case, backend, res", sorted(PTFLOPS))
def test_ptflops_prices_one_aten_op(case, backend, res):
    macs, params = get_model_complexity_info(Weights(CASES[case]), res, as_strings=False,
                                             print_per_layer_stat=False, backend=backend)
    assert macs == PTFLOPS[case, backend, res]
    assert params == 8 * 16 + 8


def test_flop_counter_mode_names_them_as_torch():
    """torch's FlopCounterMode on the twin: {'M': {'aten.addmm': 3072, 'aten.mm': 1536},
    'Global': {'aten.addmm': 6144, 'aten.mm': 3072}}. x is (2, 3, 16): 6 rows, 2 x 6*16*8 =
    1,536 FLOPs per product; inside the module F.linear with a bias and addmm are aten.addmm,
    F.linear without one aten.mm; the same three calls again at the top level."""
    product = 2 * 6 * 16 * 8

    def three(s, x):
        return (F.linear(x, s.w, s.b) + F.linear(x, s.w)
                + flow.addmm(s.b, x.reshape(-1, 16), s.w.t()).reshape(2, 3, 8))

    model, x = Weights(three), flow.ones(2, 3, 16)
    with FlopCounterMode(display=False) as fc:
        model(x)
        F.linear(x, model.w, model.b)
        F.linear(x, model.w)
        flow.addmm(model.b, x.reshape(-1, 16), model.w.t())
    assert fc.get_flop_counts() == {
        "Weights": {"aten.addmm": 2 * product, "aten.mm": product},
        "Global": {"aten.addmm": 4 * product, "aten.mm": 2 * product},
    }


def test_fvcore_sees_one_aten_addmm():
    """fvcore on the twin: total 1,024, by_operator {'addmm': 1024}, unsupported {'aten::add': 1}
    (the sum of the two addmm calls): 2 x 4*16*8; the scalar products and ``flow.ones`` are no
    aten::mul / unsupported op."""
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(flow.ones(16, 8))
            self.b = nn.Parameter(flow.ones(8))

        def forward(self, x):
            return flow.addmm(self.b, x, self.w) + flow.addmm(flow.ones(4, 8), x, self.w, beta=0.5)

    analysis = FlopCountAnalysis(Two(), (flow.ones(4, 16),))
    analysis.unsupported_ops_warnings(False)
    assert analysis.total() == 2 * 4 * 16 * 8
    assert dict(analysis.by_operator()) == {"addmm": 2 * 4 * 16 * 8}
    assert dict(analysis.unsupported_ops()) == {"aten::add": 1}
