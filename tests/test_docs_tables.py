"""The figures of the docs tables that come from counting flowvision models: each test counts
the models afresh and checks every figure of every docs table whose ``<!-- figures: ... -->`` line
names it (the other files that line names supply the rest, e.g. the peers' measured numbers).
So a changed number, in the docs or in flowflops, fails here."""
import pytest

from docs_pages import PAGES, ROOT, figures, found, source_numbers, tables

pytestmark = pytest.mark.slow  # whole flowvision models, eager and compiled, training steps


def _check(test_name, numbers):
    """Every figure of the tables naming ``tests/test_docs_tables.py::test_name`` is in ``numbers``
    (fresh counts) or in the other files the table names."""
    checked, problems = 0, []
    for page in PAGES:
        for t in tables(page):
            if f"tests/test_docs_tables.py::{test_name}" not in t.sources:
                continue
            checked += 1
            others = [ROOT / s for s in t.sources if "::" not in s]
            pool = list(numbers) + source_numbers(others)
            missing = [x for x in figures(t) if not found(x, pool)]
            if missing:
                problems.append(f"{page.relative_to(ROOT)}:{t.line}: {', '.join(missing)} not counted now")
    assert checked, f"no docs table names {test_name}"
    assert not problems, "\n".join(problems)


def _zoo(name):
    import flowvision.models as zoo

    return getattr(zoo, name)()


def test_training_table():
    # one SGD training step at batch 1: forward, backward, optimizer MACs and their ratio
    import flowflops

    numbers = []
    for name in ("resnet18", "resnet50", "vit_tiny_patch16_224"):
        r = flowflops.profile(_zoo(name), (1, 3, 224, 224), mode="train")
        ph = r.by_phase()
        f, b, o = ph["forward"].macs, ph["backward"].macs, ph["optimizer"].macs
        numbers += [f, b, o, b / f]
    _check("test_training_table", numbers)


def test_flowvision_tables():
    # default eager (flowflops' own number), eager with functional calls under every convention
    # (the peers' numbers), graph mode; params
    import flowflops

    numbers = []
    for name in ("resnet50", "vit_base_patch16_224", "swin_tiny_patch4_window7_224", "mobilenet_v2",
                 "mobilenet_v3_large", "vit_tiny_patch16_224", "convnext_tiny_224"):
        m = _zoo(name)
        eager = flowflops.profile(m, (1, 3, 224, 224))
        graph = flowflops.profile(m, (1, 3, 224, 224), mode="graph")
        numbers += [eager.params, eager.macs, graph.macs]
        if name in ("resnet50", "vit_base_patch16_224", "swin_tiny_patch4_window7_224"):
            fn = flowflops.profile(m, (1, 3, 224, 224), backend_specific_config={"count_functional": True})
            numbers += [c.macs for c in fn.by_convention().values()]
    # The original flowflops on ViT-B/16 (eager), measured with benchmarks/other_counters.py on
    # 2026-11-23 (the original is not installed in CI): quoted, not recounted.
    numbers.append(16_855_997_416)
    # The torchvision twins' rows are the peers' own numbers (benchmarks/peers.json); torch's
    # FlopCounterMode counts FLOPs, and the table's column is MACs: FLOPs / 2.
    import json

    peers = json.loads((ROOT / "benchmarks" / "peers.json").read_text())["models"]
    numbers += [m["torch"] / 2 for m in peers.values() if "torch" in m]
    _check("test_flowvision_tables", numbers)
