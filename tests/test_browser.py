"""The HTML page in a real browser (headless Chromium, offline): it draws itself without
fetching anything, the treemap renders, clicking a module zooms in, the search filters the
module table, the views and metrics switch; a 10 MB+ page opens and stays usable (load and
search times are printed, not asserted)."""
import os
import time

import pytest

import flowflops
from browser import driver, missing, open_page, replicated

WHY = missing()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(WHY is not None, reason=f"no headless browser: {WHY}")]


@pytest.fixture(scope="module")
def browser():
    drv = driver()
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def resnet50_page(tmp_path_factory):
    import flowvision.models as zoo

    path = tmp_path_factory.mktemp("pages") / "resnet50.html"
    path.write_text(flowflops.profile(zoo.resnet50(), (1, 3, 224, 224)).to_html())
    return str(path)


def nodes(drv):
    return drv.execute_script("return Array.from(document.querySelectorAll('#ff-treemap .ff-node'))"
                              ".map(n => n.getAttribute('data-path'))")


def test_resnet50_page(browser, resnet50_page):
    ms = open_page(browser, resnet50_page)
    print(f"\nresnet50 page: {os.path.getsize(resnet50_page) / 1e3:.0f} kB, drawn {ms:.0f} ms after navigation start")
    # offline: the page asked for nothing beyond itself
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert "4.12 GMac" in browser.find_element("id", "ff-totals").text  # the article's 4,121,925,096
    drawn = nodes(browser)
    assert {"layer1", "layer2", "layer3", "layer4", "conv1"} <= set(drawn) and len(drawn) > 50
    # click layer3: the treemap zooms in, every box is inside layer3
    browser.find_element("css selector", "#ff-treemap .ff-node[data-path='layer3'] > .ff-label").click()
    assert "layer3 (Sequential)" in browser.find_element("id", "ff-crumbs").text
    inside = nodes(browser)
    assert inside and all(p.startswith("layer3") for p in inside) and "layer3.5" in inside
    browser.find_element("id", "ff-up").click()
    assert "layer4" in nodes(browser)
    # search filters the table: layer3.5 and its 7 children (conv1..3, bn1..3, relu)
    search = browser.find_element("id", "ff-search")
    search.send_keys("layer3.5")
    time.sleep(0.3)
    rows = browser.find_elements("css selector", "#ff-modules tbody tr")
    assert len(rows) == 8 and all("layer3.5" in r.text for r in rows)
    assert browser.find_element("id", "ff-count").text.startswith("8 of ")
    # clicking a row zooms the treemap to it
    rows[0].click()
    assert all(p.startswith("layer3.5") for p in nodes(browser))
    search.clear()
    search.send_keys("BatchNorm2d")
    time.sleep(0.3)
    # 1 stem + 3*(3+4+6+3) + 4 downsample
    assert len(browser.find_elements("css selector", "#ff-modules tbody tr")) == 53
    # sort by MACs, largest first: the model, then layer3 (the largest stage)
    search.clear()
    search.send_keys(" ")
    search.clear()
    time.sleep(0.3)
    browser.find_element("css selector", "#ff-modules th[data-key='macs']").click()
    first = [r.text.split()[0] for r in browser.find_elements("css selector", "#ff-modules tbody tr")[:2]]
    assert first == ["model", "layer3"]
    # size by params: the root's line shows the parameter count, 25,557,032
    browser.find_element("css selector", "#ff-crumbs a[data-index='0']").click()
    browser.find_element("css selector", "#ff-metric option[value='params']").click()
    assert "25.56 M" in browser.find_element("id", "ff-crumbs").text


def test_train_page_views(browser, tmp_path):
    import oneflow.nn as nn

    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    path = tmp_path / "train.html"
    path.write_text(flowflops.profile(model, (4, 8), mode="train").to_html())
    open_page(browser, str(path))
    assert browser.find_element("id", "ff-phases").text.count("\n") >= 3
    for view in ("backward", "optimizer", "forward"):
        browser.find_element("css selector", f"#ff-view option[value='{view}']").click()
        assert nodes(browser) or browser.find_elements("css selector", "#ff-treemap .ff-empty")


def test_vit_tiny_page(browser, tmp_path):
    import flowvision.models as zoo

    path = tmp_path / "vit.html"
    path.write_text(flowflops.profile(zoo.vit_tiny_patch16_224(), (1, 3, 224, 224)).to_html())
    open_page(browser, str(path))
    assert "blocks" in nodes(browser)
    browser.find_element("css selector", "#ff-treemap .ff-node[data-path='blocks'] > .ff-label").click()
    assert "blocks.0" in nodes(browser) and all(p.startswith("blocks") for p in nodes(browser))


def test_large_page_opens_and_stays_usable(browser, tmp_path):
    import flowvision.models as zoo

    # a resnet18 training step, compiled: every forward, backward and optimizer op, repeated
    # until the page passes 10 MB
    base = flowflops.profile(zoo.resnet18(), (1, 3, 64, 64), mode="train")
    one, two = (len(replicated(base, n).to_html()) for n in (1, 2))
    copies = int((10.3e6 - one) / (two - one)) + 2
    big = replicated(base, copies)
    page = big.to_html()
    while len(page) <= 10.3e6:  # only the first modules carry their explanation: later copies add less
        copies = int(copies * 10.4e6 / len(page)) + 1
        big = replicated(base, copies)
        page = big.to_html()
    path = tmp_path / "large.html"
    path.write_text(page)
    ms = open_page(browser, str(path), timeout=120)
    t0 = time.time()
    search = browser.find_element("id", "ff-search")
    search.send_keys("copy3.layer2.0.conv1")
    browser.execute_script("return 0")
    time.sleep(0.4)  # the search waits 150 ms for typing to stop on pages this large
    rows = browser.find_elements("css selector", "#ff-modules tbody tr")
    search_s = time.time() - t0
    zoom = browser.execute_script(
        "var t = performance.now(); document.querySelector(\"#ff-treemap .ff-node[data-path='copy0']\").click();"
        " return performance.now() - t;")
    print(f"\nlarge page: {len(page) / 1e6:.1f} MB, {len(big.entries):,} op records, {len(big.modules):,} modules;"
          f" drawn {ms:.0f} ms after navigation start; search round trip {search_s:.2f} s; zoom {zoom:.0f} ms"
          f" (load average {os.getloadavg()[0]:.2f})")
    assert len(page) > 10e6
    assert [r.text.split()[0] for r in rows] == ["copy3.layer2.0.conv1"]
    assert all(p.startswith("copy0") for p in nodes(browser))


def test_notebook_view_opens_the_full_page(browser, tmp_path):
    import oneflow.nn as nn

    report = flowflops.profile(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), (2, 4))
    cell = tmp_path / "cell.html"
    cell.write_text("<!DOCTYPE html><html><body>" + report._repr_html_() + "</body></html>")
    browser.get("file://" + str(cell))
    # Linear(4 -> 8) on (2, 4): 2*8*4 + 2*8 = 80; ReLU on (2, 8): 16
    assert "(96 MACs)" in browser.find_element("css selector", ".flowflops-report").text
    before = set(browser.window_handles)
    browser.find_element("css selector", ".flowflops-report button").click()
    new = [h for h in browser.window_handles if h not in before]
    assert len(new) == 1
    browser.switch_to.window(new[0])
    try:
        from selenium.webdriver.support.ui import WebDriverWait

        ready = "return document.body && document.body.getAttribute('data-ff-ready')"
        WebDriverWait(browser, 30).until(lambda d: d.execute_script(ready))
        assert {"0", "1"} <= set(nodes(browser))
    finally:
        browser.close()
        browser.switch_to.window(list(before)[0])


def test_coverage_card_in_red_on_an_incomplete_count(browser, tmp_path):
    import flowvision.models as zoo

    r = flowflops.profile(zoo.vit_tiny_patch16_224(), (1, 3, 224, 224))  # default eager: 25 LayerNorms unpriced
    path = tmp_path / "vit_tiny.html"
    path.write_text(r.to_html())
    open_page(browser, str(path))
    card = browser.execute_script(
        "var c = Array.from(document.querySelectorAll('#ff-totals .ff-card')).filter(function (c) {"
        " return c.querySelector('.k').textContent === 'Coverage'; })[0];"
        "return [c.className, c.querySelector('.v').textContent, c.querySelector('.n').textContent,"
        " getComputedStyle(c.querySelector('.v')).color];")
    assert "ff-bad" in card[0] and card[1] == f"{r.coverage:.2%}"
    assert "LayerNorm x25" in card[2] and card[3] == "rgb(179, 38, 30)"  # #b3261e
