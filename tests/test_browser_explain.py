"""The HTML page's explanation panel and folded treemap in a real browser (headless Chromium,
offline): clicking a module shows how its number was computed; the fold switch draws identical
sibling blocks as one box. Numbers derived by hand in the test."""
import oneflow.nn as nn
import pytest

import flowflops
from models import Block
from browser import driver, missing, open_page

WHY = missing()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(WHY is not None, reason=f"no headless browser: {WHY}")]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block(), Block())
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.blocks(x))


# Input (4, 8). Linear(8, 8): 4*8 outputs x 8 = 256 MACs + 32 bias = 288; ReLU 32; a Block 320,
# the three 960; head Linear(8, 2): 4*2 x 8 = 64 + 8 = 72; total 1032.


@pytest.fixture(scope="module")
def browser():
    drv = driver()
    yield drv
    drv.quit()


def boxes(drv):
    return drv.execute_script("return Array.from(document.querySelectorAll('#ff-treemap .ff-node'))"
                              ".map(n => [n.getAttribute('data-path'), n.getAttribute('data-fold')])")


def test_click_explains_and_fold_draws_one_box(browser, tmp_path):
    r = flowflops.profile(Net(), (4, 8))
    assert r.macs == 3 * (288 + 32) + 72
    path = tmp_path / "net.html"
    path.write_text(r.to_html())
    open_page(browser, str(path))
    panel = browser.find_element("id", "ff-explain")
    assert "the model (Net)" in panel.text and "= 1,032 MACs" in panel.text
    # zoom into blocks: the panel explains blocks (the sum of its three children)
    browser.find_element("css selector", "#ff-treemap .ff-node[data-path='blocks'] > .ff-label").click()
    assert "blocks (Sequential)" in browser.find_element("id", "ff-explain-head").text
    assert "children (3)" in panel.text and "= 960 MACs" in panel.text
    # fold: one box for blocks.0-2, the sum of the three
    browser.find_element("id", "ff-up").click()
    browser.find_element("id", "ff-fold").click()
    drawn = boxes(browser)
    folded = [p for p, f in drawn if f == "blocks.0-2"]
    assert folded == ["blocks.0"] and not any(p in ("blocks.1", "blocks.2") for p, _ in drawn)
    label = browser.find_element("css selector", "#ff-treemap .ff-node[data-fold='blocks.0-2'] > .ff-label").text
    assert label.startswith("blocks.0-2, Block x 3") and "960 Mac" in label
    # a module without submodules: its own chain, the formula's arithmetic
    browser.find_element("css selector", "#ff-treemap .ff-node[data-path='head'] > .ff-label").click()
    assert "head (Linear)" in browser.find_element("id", "ff-explain-head").text
    assert "4*2 output elements x 8 steps of the contraction (K) = 64 MACs" in panel.text
