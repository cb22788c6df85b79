"""The 1-2 digit figures in docs tables (tests/test_docs.py's figure check starts at 3 digits:
a lone "2" is found in any source). Every such number in a table cell, outside the tables that
have their own cell-for-cell test (the peers' tests, the roofline, the agreement sweeps, the
language-model table), must be one of CLAIMS below, each checked here by counting tiny layers
(the arithmetic is in the comment) or by reading the file it counts, or named as a label or a
version with why it is not a figure. A new small number in a table fails until it is claimed."""
import ast
import re

import pytest

from docs_pages import NUMBER, PAGES, ROOT, tables

#: tables with their own cell-for-cell test
OWN_TEST = ("test_docs_peer_table.py", "test_docs_roofline_table.py", "test_docs_llm_table.py",
            "sweeps/agreement")


def _per_element(convention, layer, shape=(1, 4, 2, 2)):
    """MACs per input element of ``layer`` under ``convention`` (eager, functionals counted, as the
    conventions table says the peers see them)."""
    import flowflops

    r = flowflops.profile(layer, shape, backend_specific_config={"count_functional": True})
    n = 1
    for s in shape:
        n *= s
    return r.by_convention()[convention].macs / n


def _bn():
    import oneflow.nn as nn

    return nn.BatchNorm2d(4).eval()


def _relu():
    import oneflow.nn as nn

    return nn.ReLU()


def _maxpool():
    import oneflow.nn as nn

    return nn.MaxPool2d(2)


def _small_twins():
    tree = ast.parse((ROOT / "tests" / "peers" / "test_twins.py").read_text())
    [small] = [n.value for n in tree.body if isinstance(n, ast.Assign)
               and any(getattr(t, "id", None) == "SMALL" for t in n.targets)]
    return len(small.keys)


def _no_params():
    import flowflops

    return flowflops.profile(_relu(), (1, 4, 2, 2)).params


#: (page, text of the cell around the number) -> (the number, how it is checked). A checker is a
#: function returning the number the cell claims; a string says why the number is not a figure.
CLAIMS = {
    # flowflops' own rules: bias/activation/add 1 per element (ReLU on 16 elements: 16);
    # BatchNorm with affine 2 per element (scale and shift)
    ("conventions.md", "1 per element for bias, activations, adds"): ("1", lambda: _per_element("flowflops", _relu())),
    ("conventions.md", "BN 2 (affine)"): ("2", lambda: _per_element("flowflops", _bn())),
    # thop 0.1.1: BatchNorm 4 per element with affine (2 normalise + 2 affine), ReLU and max pool 0
    ("conventions.md", "BN 4 per element"): ("4", lambda: _per_element("thop", _bn())),
    ("conventions.md", "ReLU and max pools 0"): ("0", lambda: max(_per_element("thop", _relu()),
                                                                  _per_element("thop", _maxpool()))),
    # torch: FlopCounterMode's FLOPs / 2 are the MACs (a conv: flops == 2 * macs)
    ("conventions.md", "FlopCounterMode` / 2"): ("2", lambda: _flops_per_mac("torch")),
    ("ptflops-thop.md", "mobilenet_v2 and 7 small twins"): ("7", _small_twins),
    ("guarantees.md", "counted (params 0)"): ("0", _no_params),
    ("guarantees.md", "counted 0, listed in"): ("0", "checked by tests/test_coverage.py (an op with no "
                                                     "formula counted 0 and listed)"),
    ("differences.md", "exactly N x batch 1"): ("1", "a label: the batch size 1"),
    ("differences.md", "numel(in)·prod(weight[1:])"): ("1", "an index in a formula"),
    ("torch-models.md", "oneflow 0.9"): ("0.9", "a version"),
}


def _flops_per_mac(convention):
    import oneflow.nn as nn

    import flowflops

    r = flowflops.profile(nn.Conv2d(4, 4, 1), (1, 4, 2, 2))
    c = r.by_convention()[convention] if convention in r.by_convention() else None
    if c is None:
        r = flowflops.profile(nn.Conv2d(4, 4, 1), (1, 4, 2, 2), backend_specific_config={"count_functional": True})
        c = r.by_convention()[convention]
    return c.flops / c.macs


def small_numbers():
    """(page name, cell, number) of every 1-2 digit number in a docs table outside code spans and
    outside the tables with their own test."""
    out = []
    for page in PAGES:
        for t in tables(page):
            if any(o in s for s in t.sources for o in OWN_TEST):
                continue
            for row in t.rows[1:]:
                for cell in row[1:]:
                    plain = re.sub(r"`[^`]*`", "", cell)
                    for a, b in NUMBER.findall(plain):
                        if len((a + b).replace(",", "").replace(".", "")) < 3:
                            out.append((page.name, cell, a + b))
    return out


def test_every_small_table_number_is_claimed():
    unclaimed = [f"{p}: {n!r} in {c[:120]!r}" for p, c, n in small_numbers()
                 if not any(p == cp and phrase in c and n == num for (cp, phrase), (num, _) in CLAIMS.items())]
    assert not unclaimed, "small numbers in docs tables no test checks (add a claim):\n" + "\n".join(unclaimed)


@pytest.mark.parametrize("key", list(CLAIMS), ids=lambda k: f"{k[0]}:{k[1][:30]}")
def test_claim(key):
    page, phrase = key
    number, check = CLAIMS[key]
    cells = [c for p, c, n in small_numbers() if p == page and phrase in c and n == number]
    assert cells, f"{page} no longer has {number} in a cell with {phrase!r}: remove the claim"
    if callable(check):
        assert float(check()) == float(number), f"{page}: {phrase!r} says {number}; counted {check()}"
