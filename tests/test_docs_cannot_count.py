"""docs/cannot-count.md (linked from the README) lists every model of the recorded agreement
sweeps that does not count in both engines, each under OneFlow's reason: its generated list
must be exactly what ``sweeps/agreement.py --cannot-count <files>`` makes from the sweeps'
recorded rows (``sweeps/*.json``), so the page cannot drift from the data. And the reasons are
read from OneFlow's own error lines as a reader would (the strings below are OneFlow 0.9's
and transformers 4.26.1's messages, copied from the sweep's rows). Quick: nothing is counted."""
import importlib.util
import json
import re

from docs_pages import ROOT

PAGE = ROOT / "docs" / "cannot-count.md"
BLOCK = re.compile(r"<!-- cannot-count: (.+?) -->\n(.*?)<!-- /cannot-count -->", re.S)


def _sweep():
    spec = importlib.util.spec_from_file_location("agreement_sweep", ROOT / "sweeps" / "agreement.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_links_the_page():
    assert "(docs/cannot-count.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_list_is_the_recorded_sweeps():
    text = PAGE.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert blocks, "docs/cannot-count.md has no <!-- cannot-count: FILES --> block"
    sweep = _sweep()
    for files, shown in blocks:
        made = sweep.cannot_count(files.split())
        assert shown.strip() == made.strip(), (
            f"docs/cannot-count.md differs from `python sweeps/agreement.py --cannot-count {files}`: rerun it "
            "and paste its output between the markers")


def test_every_model_that_does_not_agree_is_listed_once():
    text = PAGE.read_text(encoding="utf-8")
    for files, shown in BLOCK.findall(text):
        rows = [r for f in files.split() for r in json.loads((ROOT / f).read_text())]
        listed = re.findall(r"(?:hf|timm):[\w.-]+", shown)
        want = [r["name"] for r in rows if r["status"] != "agree"]
        assert sorted(listed) == sorted(want)
        assert not [r for r in rows if r["status"] == "differ"], "an engine difference is a bug to fix, not to list"
        assert not [r for r in rows if r["status"] == "signal"], "the page says no model ends the process by a signal"


def test_causes_read_from_oneflows_messages():
    cause = _sweep().cause
    graph = "CountError: nn.Graph could not compile M on the inputs [{'input_ids': (1, 128)}]: "
    assert cause({"why": graph + "NotImplementedError: oneflow.nn.functional.group_norm is not implemented in "
                  "OneFlow 0.9. Graph mode needs"}) \
        == "`oneflow.nn.functional.group_norm` is not implemented in OneFlow 0.9"
    assert cause({"why": graph + "AttributeError: 'Tensor' object has no attribute 'baddbmm'."}) \
        == "`Tensor.baddbmm` is missing in OneFlow 0.9"
    assert cause({"why": graph + "RuntimeError: Only eager scalar tensor support GetItem."}).startswith(
        "a tensor read as a Python number (`.item()`")
    assert cause({"why": graph + "RuntimeError: InferDataType Failed. Expected kInt64, but got kFloat"}).startswith(
        "mixed dtypes in one op")
    assert cause({"why": graph + "TypeError: ones_op() got an unexpected keyword argument 'size'."}) \
        == "`ones_op` takes no `size=` argument in OneFlow 0.9"
    assert cause({"why": graph + "TypeError: Error: masked_fill(): argument 'value' must be scalar, not <class "
                  "'oneflow.Tensor'>."}) \
        == "`masked_fill`'s `value` must be a scalar in OneFlow 0.9 (the model passes a tensor)"
    # an error without text in graph mode: the eager engine's names the cause
    assert cause({"why": graph + "NotImplementedError: . Graph mode needs", "eager_why": "CountError: M failed on the "
                  "inputs [(1, 3)] (from input_res=(1, 3)): NotImplementedError: oneflow.fft is not implemented in "
                  "OneFlow 0.9"}) == "`oneflow.fft` is not implemented in OneFlow 0.9"
    # none of the patterns: the error itself, without flowflops' wording around it
    assert cause({"why": graph + "ValueError: something new. Graph mode needs a model"}) == "ValueError: something new"
