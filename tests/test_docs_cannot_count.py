"""docs/cannot-count.md (linked from the README) lists every model of the recorded agreement
sweeps that does not count in both engines, each under OneFlow's reason: its generated list
must be exactly what ``sweeps/agreement.py --cannot-count <files>`` makes from the sweeps'
recorded rows (``sweeps/*.json``), so the page cannot drift from the data. And the reasons are
read from OneFlow's own error lines as a reader would (the strings below are OneFlow 0.9's
and transformers 4.26.1's messages, copied from the sweep's rows). Quick: nothing is counted."""
import json
import re

from docs_pages import ROOT
import sweep_scripts

PAGE = ROOT / "docs" / "cannot-count.md"
BLOCK = re.compile(r"<!-- cannot-count: (.+?) -->\n(.*?)<!-- /cannot-count -->", re.S)


def _sweep():
    return sweep_scripts.load("agreement")


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


def _outcomes(files):
    """Model name -> its recorded outcome: a row of sweeps/agreement.py has its ``status``; a row
    of sweeps/timm_published.py (it has the ``published`` figure) is ``timm:<name>``, and agrees
    where its ``agree`` (the default convention, eager+count_functional vs graph) is True, differs
    where it is False; else its ``status``. A model in several files: the last file's row, but a
    ``not run`` row (a sweep stopped before it) does not hide an outcome another file measured."""
    out = {}
    for f in files:
        for r in json.loads((ROOT / f).read_text()):
            if r.get("status") == "not run" and r["name"] in out:
                continue
            if "published" in r:
                name = "timm:" + r["name"]
                out[name] = {True: "agree", False: "differ"}.get(r.get("agree"), r["status"])
            else:
                out[r["name"]] = r["status"]
    return out


def test_every_model_that_does_not_agree_is_listed_once():
    text = PAGE.read_text(encoding="utf-8")
    for files, shown in BLOCK.findall(text):
        outcomes = _outcomes(files.split())
        listed = re.findall(r"(?:hf|timm):[\w.-]+", shown)
        assert len(listed) == len(set(listed))
        assert sorted(listed) == sorted(n for n, s in outcomes.items() if s != "agree")
        assert "differ" not in outcomes.values(), "an engine difference is a bug to fix, not to list"
        assert "signal" not in outcomes.values(), "the page says no model ends the process by a signal"


def test_timm_published_rows_read_as_this_sweeps_rows():
    # rows as sweeps/timm_published.py writes them (fields as in its recorded JSON)
    row = _sweep().sweep_row
    counted = {"name": "resnet18", "published": 1.82, "status": "match", "flowflops eager": [1, 2],
               "flowflops graph": [1, 2], "agree": True}
    assert row(counted) == {"name": "timm:resnet18", "status": "agree"}
    assert row(dict(counted, agree=False))["status"] == "differ"
    graph_fails = {"name": "m", "published": 1.0, "status": "eager fails", "flowflops eager": [1, 2],
                   "flowflops graph why": "CountError: nn.Graph could not compile M"}
    assert row(graph_fails) == {"name": "timm:m", "status": "eager only",
                                "why": "CountError: nn.Graph could not compile M"}
    both = {"name": "m", "published": 1.0, "status": "fails", "stage": "count", "why": "fvcore graph's",
            "flowflops graph why": "graph's", "flowflops eager why": "eager's"}
    assert row(both) == {"name": "timm:m", "status": "fails", "stage": "count", "why": "graph's",
                         "eager_why": "eager's"}
    assert row({"name": "x", "published": 2.5, "status": "not in timm", "why": "no such name"}) == {
        "name": "timm:x", "status": "not in timm", "why": "no such name"}
    # a row of sweeps/agreement.py is its own
    assert row({"name": "hf:bert", "status": "agree"}) == {"name": "hf:bert", "status": "agree"}


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
    # the probability as a number, not the sentence's full stop after it (OneFlow 0.9's message)
    assert cause({"why": graph + "RuntimeError: dropout probability has to be between 0 and 1, but got 0.2."}) \
        .startswith("OneFlow 0.9's `nn.Dropout2d` refuses a drop probability of 0.2 (")
    # none of the patterns: the error itself, without flowflops' wording around it
    assert cause({"why": graph + "ValueError: something new. Graph mode needs a model"}) == "ValueError: something new"
