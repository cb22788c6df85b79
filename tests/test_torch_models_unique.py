"""``torch.unique(x, dim=...)`` under flowflops.torch_models (flowflops/torch_models/shims.py):
OneFlow 0.9's unique takes no ``dim``; timm 0.6.12 builds its relative-position indexes with it
(CoAtNet, MaxViT, GCViT, the relpos ViTs), so the block computes it on the host.

Expected values: measured with PyTorch 2.14.1 (CPU wheel, /work/peers-venv) on 2026-12-07, the
same calls on the same tensors (``torch.unique(x, dim=0, return_inverse=True,
return_counts=True)`` and so on), each quoted below; the relative-position index also derived by
hand. Quick except the counted timm model."""
import importlib.util

import numpy as np
import oneflow as flow
import pytest

import flowflops
from flowflops import torch_models as tm

HAVE_TIMM = importlib.util.find_spec("timm") is not None

X = [[1, 2], [0, 1], [1, 2], [-3, 5]]


def _list(t):
    return t.numpy().tolist()


def test_dim_zero_returns_torchs_values_order_and_dtypes():
    with tm.mocked_torch():
        import torch

        x = torch.tensor(X)
        out, inverse, counts = torch.unique(x, dim=0, return_inverse=True, return_counts=True)
        # torch 2.14.1: rows sorted lexicographically, inverse per input row, counts per unique row, int64
        assert _list(out) == [[-3, 5], [0, 1], [1, 2]]
        assert _list(inverse) == [2, 1, 2, 0]
        assert _list(counts) == [1, 1, 2]
        assert (out.dtype, inverse.dtype, counts.dtype) == (flow.int64, flow.int64, flow.int64)
        # each extra only where asked for, in torch's order (output, inverse, counts)
        only_out = torch.unique(x, dim=0)
        assert isinstance(only_out, flow.Tensor) and _list(only_out) == [[-3, 5], [0, 1], [1, 2]]
        out, counts = torch.unique(x, dim=0, return_counts=True)
        assert _list(counts) == [1, 1, 2]
        out, inverse = torch.unique(x, dim=0, return_inverse=True)
        assert _list(inverse) == [2, 1, 2, 0]
        # torch ignores sorted=False with a dim: the same sorted rows
        out, inverse = torch.unique(x, sorted=False, dim=0, return_inverse=True)
        assert _list(out) == [[-3, 5], [0, 1], [1, 2]] and _list(inverse) == [2, 1, 2, 0]
        # dim as torch's 5th positional argument: torch 2.14.1 gives [[2, 1], [3, 1]], [1, 0], [1, 1]
        out, inverse, counts = torch.unique(torch.tensor([[3, 1], [2, 1]]), False, True, True, 0)
        assert (_list(out), _list(inverse), _list(counts)) == ([[2, 1], [3, 1]], [1, 0], [1, 1])


def test_other_dims_floats_bools_empty_and_nan():
    with tm.mocked_torch():
        import torch

        x = torch.tensor(X)
        # dim=1 (and -1): the two columns differ, so all of x, in order; torch: [0, 1], [1, 1]
        for dim in (1, -1):
            out, inverse, counts = torch.unique(x, dim=dim, return_inverse=True, return_counts=True)
            assert _list(out) == X and _list(inverse) == [0, 1] and _list(counts) == [1, 1]
        # 3-d, dim=1: torch 2.14.1 on arange(24).reshape(2, 3, 4) % 3 keeps the 3 slices, inverse [0, 1, 2]
        z = torch.arange(24).reshape(2, 3, 4) % 3
        out, inverse, counts = torch.unique(z, dim=1, return_inverse=True, return_counts=True)
        assert _list(out) == _list(z) and _list(inverse) == [0, 1, 2] and _list(counts) == [1, 1, 1]
        # floats: -0.0 equals 0.0; torch keeps [[0.0, 0.5], [0.5, -0.0]], inverse [1, 0, 1]
        y = torch.tensor([[0.5, -0.0], [0.0, 0.5], [0.5, 0.0]])
        out, inverse = torch.unique(y, dim=0, return_inverse=True)
        assert out.dtype == flow.float32
        assert _list(out) == [[0.0, 0.5], [0.5, 0.0]] and _list(inverse) == [1, 0, 1]
        # bools: torch [[False, False], [True, False]], inverse [1, 0, 1], counts [1, 2]
        b = torch.tensor([[True, False], [False, False], [True, False]])
        out, inverse, counts = torch.unique(b, dim=0, return_inverse=True, return_counts=True)
        assert out.dtype == flow.bool
        assert _list(out) == [[False, False], [True, False]] and _list(inverse) == [1, 0, 1]
        assert _list(counts) == [1, 2]
        # no rows: torch gives a (0, 2) output and empty inverse and counts
        out, inverse, counts = torch.unique(torch.zeros(0, 2, dtype=torch.int64), dim=0, return_inverse=True,
                                            return_counts=True)
        assert tuple(out.shape) == (0, 2) and tuple(inverse.shape) == (0,) and tuple(counts.shape) == (0,)
        # NaN equals nothing: torch keeps both [nan, 1] rows, inverse [0, 1]
        out, inverse = torch.unique(torch.tensor([[float("nan"), 1.0]] * 2), dim=0, return_inverse=True)
        assert tuple(out.shape) == (2, 2) and np.isnan(out.numpy()[:, 0]).all() and _list(inverse) == [0, 1]
        # torch 2.14.1 raises IndexError for both
        with pytest.raises(IndexError, match="no dimension"):
            torch.unique(torch.tensor(3), dim=0)
        with pytest.raises(IndexError, match="out of range"):
            torch.unique(torch.tensor([[1]]), dim=2)


def test_without_dim_it_is_oneflows_own_and_the_block_puts_it_back():
    original = flow.unique
    x = flow.tensor([3, 1, 2, 0, 2])
    want_out, want_inverse = original(x, return_inverse=True)
    with tm.mocked_torch():
        import torch

        assert torch.unique is not original
        out, inverse = torch.unique(x, return_inverse=True)
        # OneFlow's own: its inverse is int32 (PyTorch's would be int64)
        assert _list(out) == _list(want_out) == [0, 1, 2, 3]
        assert _list(inverse) == _list(want_inverse) == [3, 1, 2, 0, 2] and inverse.dtype == flow.int32
        assert _list(torch.unique(x, sorted=False)) == _list(original(x, sorted=False))
    assert flow.unique is original


@pytest.mark.skipif(not HAVE_TIMM, reason="the torch-models extra is not installed: `make torch-models`")
def test_timms_relative_position_index():
    # timm 0.6.12's gen_relative_position_index on a 2 x 3 window: the offsets (dy, dx) of token
    # i from token j take dy in -1..1 and dx in -2..2, 15 pairs, sorted (dy, dx), so the index is
    # (dy + 1) * 5 + (dx + 2), one per (i, j) pair, 6 x 6 = 36 in a row (the inverse of a
    # unique over dim 0 has one entry per row: torch 2.14.1 on the same code gives shape (36,),
    # starting 7, 6, 5, 2, 1, 0)
    with tm.mocked_torch():
        from timm.models.vision_transformer_relpos import gen_relative_position_index

        index = gen_relative_position_index((2, 3))
    coords = [(y, x) for y in range(2) for x in range(3)]
    want = [[(yi - yj + 1) * 5 + (xi - xj + 2) for (yj, xj) in coords] for (yi, xi) in coords]
    assert tuple(index.shape) == (36,)
    assert _list(index) == [k for row in want for k in row]
    assert want[0] == [7, 6, 5, 2, 1, 0]


class _UniqueRows(flow.nn.Module):
    """A Linear(2, 3) (6 MACs + 3 bias adds per row), then torch.unique(rows, dim=0) in forward."""

    def __init__(self):
        super().__init__()
        self.fc = flow.nn.Linear(2, 3)

    def forward(self, x):
        import torch

        return torch.unique(self.fc(x), dim=0)


def test_lazy_tensors_get_a_clear_error_and_eager_counts():
    with tm.mocked_torch():
        with pytest.raises(NotImplementedError, match=r"traced into an nn\.Graph.*mode=\"eager\""):
            class G(flow.nn.Graph):
                def build(self, x):
                    return flow.unique(x, dim=0)

            G().build_graph(flow.tensor(X))
        model = _UniqueRows()
        # eager, input (1, 4, 2): the Linear's 4 rows x 6 MACs = 24 plus 4 x 3 bias adds = 36 MACs
        # (FLOPs 2 x 24 + 12 = 60); the unique is zero-cost
        report = flowflops.profile(model, (4, 2), mode="eager")
        assert (report.macs, report.flops) == (36, 60)
        with pytest.raises(Exception, match=r"traced into an nn\.Graph"):
            flowflops.profile(model, (4, 2), mode="graph")


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_TIMM, reason="the torch-models extra is not installed: `make torch-models`")
def test_a_relpos_vit_builds_and_counts_timms_published_gmacs():
    # timm's published fvcore count for vit_relpos_small_patch16_224 at 224 (sweeps/data/
    # timm_infer_pt112.csv, infer_gmacs): 4.59; both engines count it and agree
    with tm.mocked_torch():
        built = tm.build("timm:vit_relpos_small_patch16_224")
        report = flowflops.profile(built.model, (1, 3, 224, 224), mode="graph", convention="fvcore", verify=True)
    assert round(report.macs / 1e9, 2) == 4.59
    assert report.verification is not None and report.verification.agree
