"""docs/ptflops-thop.md's table of the peers' own tests, figure by figure (quick: tiny layers,
eager). Most figures are written as literals in tests/peers (ptflops' 2,759,904, thop's 810,000,
...); the rest are the peers' expressions (``(3 * 2) * 4 * 5``, ``m * n * p``), which this test
counts afresh on the peer test's own layer and shapes, each beside the peer's arithmetic. Figures of
one or two digits (42, 72, (8, 8)), which the other docs tables' checks leave out, must be counted
here or written on an assert line of tests/peers. So a changed figure in the table, or in
flowflops, fails here."""
import re

import oneflow as flow
import oneflow.nn as nn

import flowflops
from flowflops.ptflops import get_model_complexity_info
from docs_pages import PAGES, ROOT, figures, found, source_numbers, tables
from models import Fn


def _count(model, *inputs, **kwargs):
    return flowflops.profile(model, None, input_constructor=lambda _: inputs, mode="eager", **kwargs).macs


def test_peer_table():
    fresh = []
    # ptflops test_fc_multidim: Linear(3, 2, bias=False) on (4, 5, 3): (3 * 2) * 4 * 5 = 120
    n = _count(nn.Sequential(nn.Linear(3, 2, bias=False)), flow.randn(1, 4, 5, 3))
    assert n == (3 * 2) * 4 * 5
    fresh.append(n)
    # thop test_conv2d under flowflops' own convention: 3 -> 12 channels, 5x5, pad 1, 32x32 ->
    # 30x30: 12 * 30 * 30 * 3 * 25 = 810,000 plus the bias adds 12 * 30 * 30 = 10,800
    n = _count(nn.Conv2d(3, 12, 5, padding=1), flow.randn(1, 3, 32, 32))
    assert n == 12 * 30 * 30 * 3 * 25 + 12 * 30 * 30
    fresh.append(n)
    # fvcore test_matmul (m, n, p = 20, 10, 100: m * n * p), test_matmul_broadcast (batches *
    # m * n * p for 4 shape pairs), test_bmm (n * t * p * c = 2 * 2 * 12 * 5), test_einsum
    # (1 * 2 * 12 * 5 and 1 * 2 * 6 * 5)
    fv = {"convention": "fvcore"}
    cases = [((20, 10), (10, 100), 20 * 10 * 100),
             ((1, 20, 10), (1, 10, 100), 1 * 20 * 10 * 100), ((2, 2, 20, 10), (2, 2, 10, 100), 4 * 20 * 10 * 100),
             ((1, 20, 10), (10, 100), 1 * 20 * 10 * 100), ((2, 20, 10), (10, 100), 2 * 20 * 10 * 100)]
    for xs, ys, want in cases:
        n = _count(Fn(flow.matmul), flow.randn(*xs), flow.randn(*ys), **fv)
        assert n == want, (xs, ys)
        fresh.append(n)
    n = _count(Fn(flow.bmm), flow.randn(2, 5, 2), flow.randn(2, 2, 12), **fv)
    assert n == 2 * 2 * 12 * 5
    fresh.append(n)
    for eq, xs, ys, want in (("nct,ncp->ntp", (1, 5, 2), (1, 5, 12), 1 * 2 * 12 * 5),
                             ("ntg,ncg->nct", (1, 2, 6), (1, 5, 6), 1 * 2 * 6 * 5)):
        n = _count(Fn(lambda x, y, eq=eq: flow.einsum(eq, x, y)), flow.randn(*xs), flow.randn(*ys), **fv)
        assert n == want, eq
        fresh.append(n)

    # fvcore test_torch_mm: (3, 4) @ (4, 5) = 3 * 4 * 5 = 60; test_complicated_einsum
    # "nc,nchw->hw" on (3, 4), (3, 4, 2, 3): 3 * 4 * 2 * 3 = 72; ptflops test_fc: Linear(3, 2) on
    # (3,) under ptflops' convention: 3 * 2 + 2 bias adds = 8
    n = _count(Fn(flow.mm), flow.rand(3, 4), flow.rand(4, 5), **fv)
    assert n == 3 * 4 * 5
    fresh.append(n)
    n = _count(Fn(lambda a, b: flow.einsum("nc,nchw->hw", a, b)), flow.rand(3, 4), flow.rand(3, 4, 2, 3), **fv)
    assert n == 3 * 4 * 2 * 3
    fresh.append(n)
    n = get_model_complexity_info(nn.Sequential(nn.Linear(3, 2)), (3,), as_strings=False,
                                  print_per_layer_stat=False)[0]
    assert n == 3 * 2 + 2
    fresh.append(n)

    checked, problems = 0, []
    pool = fresh + source_numbers([ROOT / "tests" / "peers"])
    # figures of one or two digits (figures() leaves them out of every table): counted now, or
    # a whole number on an assert line of tests/peers
    asserted = set()
    for f in sorted((ROOT / "tests" / "peers").glob("*.py")):
        for line in f.read_text().splitlines():
            if "assert" in line:
                asserted.update(int(x) for x in re.findall(r"(?<![\w.])\d+(?![\w.])", line))
    for page in PAGES:
        for t in tables(page):
            if "tests/test_docs_peer_table.py::test_peer_table" not in t.sources:
                continue
            checked += 1
            missing = [x for x in figures(t) if not found(x, pool)]
            for row in t.rows[1:]:
                for cell in row[1:]:
                    cell = re.sub(r"`[^`]*`", "", cell)
                    for x in re.findall(r"(?<![\w.])(?<!\d,)\d{1,2}(?![\w.\d]|,\d)", cell):
                        if int(x) not in asserted and int(x) not in fresh:
                            missing.append(x)
            if missing:
                problems.append(f"{page.relative_to(ROOT)}:{t.line}: {', '.join(missing)} "
                                "neither in tests/peers nor counted now")
    assert checked, "no docs table names tests/test_docs_peer_table.py::test_peer_table"
    assert not problems, "\n".join(problems)
