"""--plot's metrics and its per-phase stacked bars (issue #19)."""
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.render.plot import plot_rows
from test_export_cli import LIN1, LIN1_F, LIN2_F, RELU, Wrapper, cli


def test_rows_by_each_metric():
    r = flowflops.profile(Wrapper(), (2, 4))
    _, rows = plot_rows(r, metric="params")
    # Linear(4 -> 8): 4*8 + 8 = 40 params; Linear(8 -> 3): 8*3 + 3 = 27; ReLU none
    assert [(p, v) for p, _, v in rows] == [("body.0", [40.0]), ("body.2", [27.0])]
    _, rows = plot_rows(r, metric="flops")
    assert [(p, v[0]) for p, _, v in rows] == [("body.0", LIN1_F), ("body.2", LIN2_F), ("body.1", RELU)]
    _, rows = plot_rows(r, k=1, metric="bytes")
    # Linear(4 -> 8) moves (32 + 8)*4 B of weights, reads 32 + 64 B and writes 2 * 64 B
    assert rows == [("body.0", "Linear", [(32 + 8) * 4 + 32 + 64 + 2 * 64])]
    with pytest.raises(ValueError, match="needs a device"):
        plot_rows(r, metric="time")
    with pytest.raises(ValueError, match="training count"):
        plot_rows(r, by_phase=True)


def test_rows_by_phase():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    r = flowflops.profile(model, (2, 4), mode="train")
    parts, rows = plot_rows(r, by_phase=True)
    assert parts == ["forward", "backward", "optimizer"]
    by = {p: v for p, _, v in rows}
    assert by["0"][0] == LIN1  # the forward of Linear(4 -> 8): 2*8*4 + 2*8, as in eager
    # the stacked parts of each bar add up to its unstacked length
    _, whole = plot_rows(r)
    assert {p: sum(v) for p, v in by.items()} == {p: v[0] for p, _, v in whole}
    assert by["0"][1] > 0 and by["0"][2] > 0  # Linear(4 -> 8) has backward and optimizer work


def test_cli_plot_metric_and_phase(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "p.png"
    code, _, err = cli("test_export_cli:make_model", "--input-shape", "2,4", "--plot", str(png),
                       "--plot-metric", "params")
    assert code == 0, err
    assert png.read_bytes()[:4] == b"\x89PNG"
    code, _, err = cli("test_export_cli:make_model", "--input-shape", "2,4", "--plot", str(png), "--plot-by-phase")
    assert code == 2 and "--mode train" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("test_export_cli:make_model", "--input-shape", "2,4", "--plot", str(png),
                       "--plot-metric", "time")
    assert code == 2 and "--device" in err
    png2 = tmp_path / "phases.png"
    code, _, err = cli("test_export_cli:make_model", "--input-shape", "2,4", "--mode", "train", "--plot", str(png2),
                       "--plot-by-phase", "--plot-metric", "time", "--device", "A100-80GB")
    assert code == 0, err
    assert png2.read_bytes()[:4] == b"\x89PNG"
