"""sweeps/agreement.py's bookkeeping for the timm names outside timm's published benchmark:
which names ``--timm-outside-csv all`` runs and in which order, and what ``--append`` /
``--until`` write. Quick: nothing is counted (the model runs are replaced by a stand-in)."""
import csv
import importlib.util
import json

import pytest
from docs_pages import ROOT
import sweep_scripts


def _sweep():
    return sweep_scripts.load("agreement")


def test_all_is_every_name_outside_the_csv_and_the_timm_sweep():
    if importlib.util.find_spec("timm") is None:
        pytest.skip("the torch-models extra is not installed: `make torch-models`")
    from flowflops.torch_models import mocked_torch

    mod = _sweep()
    with mocked_torch():
        import timm

        every = mod.outside_csv_timm_names_all()
        sample = mod.outside_csv_timm_names(30)
        names = set(timm.list_models())
    with open(ROOT / "sweeps" / "data" / "timm_infer_pt112.csv", newline="") as f:
        published = {r["model"] for r in csv.DictReader(f)}
    swept = {r["name"][len("timm:"):] for r in json.loads((ROOT / "sweeps" / "agreement_timm.json").read_text())}
    assert len(every) == len(set(every))
    assert set(every) == names - published - swept
    assert every[:30] == sample
    rest = every[30:]
    assert [mod.outside_csv_cost(n) for n in rest] == sorted(mod.outside_csv_cost(n) for n in rest)


def test_cost_order():
    cost = _sweep().outside_csv_cost
    # the CSV's row vit_base_patch16_224: infer_gmacs 17.58, param_count 86.57 (millions)
    assert cost("vit_base_patch16_224_in21k") == pytest.approx(17.58 + 86.57 / 20)
    assert cost("vit_base_patch16_224_dino") == cost("vit_base_patch16_224_in21k")
    # resnetv2_50x3_bitm: 145.7 GMACs, 217.32 M parameters
    assert cost("resnetv2_50x3_bitm_in21k") == pytest.approx(145.7 + 217.32 / 20)
    # no CSV row: the size word ("tiny": 4.5) times (256 / 224) ** 2 pixels
    assert cost("maxvit_tiny_rw_256") == pytest.approx(4.5 * 256 * 256 / (224 * 224))
    # the last one-digit level: coatnet_2 -> 4.5 * 1.6 ** 2 = 11.52; pvt_v2_b0 -> 4.5 (not the "v2")
    assert cost("coatnet_2_224") == pytest.approx(11.52)
    assert cost("pvt_v2_b0") == pytest.approx(4.5)
    assert cost("tresnet_v2_l") == pytest.approx(4.5 * 1.6 ** 2)


def test_append_runs_only_what_the_file_lacks_and_until_writes_not_run(tmp_path, monkeypatch):
    mod = _sweep()
    ran = []

    def stand_in(name, timeout):
        ran.append(name)
        return {"name": name, "status": "agree", "macs": 1, "params": 1}

    monkeypatch.setattr(mod, "run", stand_in)
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"name": "timm:a", "status": "fails", "why": "x"},
                                {"name": "timm:b", "status": "not run", "why": "stopped"}]))
    past = 0.0  # --until long gone: nothing runs, the new names are written as not run
    mod.sweep(["timm:a", "timm:b", "timm:c"], 600, str(path), None, True, past)
    rows = json.loads(path.read_text())
    assert ran == []
    assert [(r["name"], r["status"]) for r in rows] == [("timm:a", "fails"), ("timm:b", "not run"),
                                                        ("timm:c", "not run")]
    mod.sweep(["timm:a", "timm:b", "timm:c", "timm:d"], 600, str(path), None, True, None)
    rows = json.loads(path.read_text())
    assert ran == ["timm:b", "timm:c", "timm:d"]  # a measured row is kept, a not-run row rerun in place
    assert [(r["name"], r["status"]) for r in rows] == [("timm:a", "fails"), ("timm:b", "agree"),
                                                        ("timm:c", "agree"), ("timm:d", "agree")]
    # without --append a stop just ends the sweep: no not-run row is written
    fresh = tmp_path / "fresh.json"
    mod.sweep(["timm:e"], 600, str(fresh), None, False, past)
    assert ran == ["timm:b", "timm:c", "timm:d"] and not fresh.exists()


def test_a_not_run_row_is_listed_but_never_hides_a_measured_one(tmp_path, monkeypatch):
    mod = _sweep()
    monkeypatch.setattr(mod, "ROOT", str(tmp_path))
    (tmp_path / "one.json").write_text(json.dumps([{"name": "timm:a", "status": "agree"}]))
    (tmp_path / "two.json").write_text(json.dumps([
        {"name": "timm:a", "status": "not run", "why": "the sweep stopped"},
        {"name": "timm:b", "status": "not run", "why": "the sweep stopped"}]))
    assert [(r["name"], r["status"]) for r in mod.recorded(["one.json", "two.json"])] == [
        ("timm:a", "agree"), ("timm:b", "not run")]
    text = mod.cannot_count(["one.json", "two.json"])
    assert "### Not run: the sweep stopped (its wall-clock limit) before them (1)" in text
    assert "- the sweep stopped: timm:b" in text and "timm:a" not in text.split("\n", 2)[2]


def test_until_is_the_next_such_time():
    import time

    until = _sweep()._until
    now = time.time()
    for hh_mm in ("00:00", "06:30", "12:00", "23:59"):
        t = until(hh_mm)
        assert abs(t - now) <= 12 * 3600 + 60
        assert time.strftime("%H:%M", time.gmtime(t)) == hh_mm
