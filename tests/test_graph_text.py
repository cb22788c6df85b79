"""flowflops.graph.text: printed graphs (repr of a compiled nn.Graph, or a log of its OPERATOR
lines) parsed and priced like the compiled job itself."""
import functools
import re
import time

import flowvision.models as zoo
import oneflow as flow
import oneflow.nn as nn
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowflops
from flowflops import ParseError, count_graph_text
from models import ModelGraph
from flowflops.graph.job import job_records
from flowflops.graph.text import parse_operator_lines
from flowflops.registry import price
from models import BasicBlock


class NormAndVector(nn.Module):
    """A BatchNorm without affine (gamma from a constant op), one without running statistics
    (gamma is then the 2nd input), a Linear, and a 1-d output: ``size=(2)``."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(3, affine=False)
        self.bn2 = nn.BatchNorm2d(3, track_running_stats=False)
        self.fc = nn.Linear(12, 5)
        self.fc.weight.requires_grad_(False)

    def forward(self, x):
        return self.fc(self.bn2(self.bn(x)).flatten(1)).sum(dim=1)


def compiled_repr(model, shape):
    """``repr`` of our engine's wrapper graph once compiled, and the graph. OneFlow prints
    OPERATOR lines only for a graph compiled to a plan, so the plan is compiled after
    ``build_graph`` (the model is never run)."""
    g = ModelGraph(model.eval())
    g.build_graph(flow.randn(*shape))
    g.finish_complie_and_init_runtime()
    return repr(g), g


def _params(model):
    return sum(p.numel() for p in model.parameters())


MODELS = [
    pytest.param(BasicBlock, (1, 32, 64, 64), id="basicblock"),
    pytest.param(NormAndVector, (2, 3, 2, 2), id="norm-and-vector"),
    pytest.param(zoo.resnet18, (1, 3, 224, 224), id="resnet18", marks=pytest.mark.slow),
    pytest.param(zoo.squeezenet1_1, (1, 3, 224, 224), id="squeezenet1_1", marks=pytest.mark.slow),
    pytest.param(zoo.efficientnet_b0, (1, 3, 224, 224), id="efficientnet_b0", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("factory, shape", MODELS)
def test_text_matches_the_compiled_job(factory, shape):
    model = factory()
    text, g = compiled_repr(model, shape)
    from_text = {r.name: r for r in parse_operator_lines(text)}
    from_job = {r.name: r for r in job_records(g._full_job_proto)}
    assert from_text.keys() == from_job.keys() and from_job
    for name, j in from_job.items():
        t = from_text[name]
        assert (t.op_type, t.module, t.inputs, t.outputs) == (j.op_type, j.module, j.inputs, j.outputs), name
        assert price(t) == price(j), name
        if "affine" in j.attrs:
            assert t.attrs["affine"] == j.attrs["affine"], name
        assert t.attrs["_placement"] == {"type": "cpu", "ranks": (0,)}
        for key in ("_in_sbp", "_out_sbp", "_placement"):  # where the job reader has them too
            if key in j.attrs:
                assert t.attrs[key] == j.attrs[key], (name, key)
        assert len(t.attrs["_in_sbp"]) == len(t.inputs) and len(t.attrs["_out_sbp"]) == len(t.outputs)

    report = count_graph_text(text)
    graph = flowflops.profile(model, shape, mode="graph")
    assert report.mode == "graph-text"
    assert (report.macs, report.flops) == (graph.macs, graph.flops)
    assert report.params == _params(model)
    assert set(report.modules) == {p for p, _ in model.named_modules()}
    assert report.by_module() == graph.by_module()
    assert report.modules[""].type_name == type(model).__name__


def test_affine_false_and_no_running_stats():
    text, _ = compiled_repr(NormAndVector(), (2, 3, 2, 2))
    norms = {r.module: r for r in parse_operator_lines(text) if r.op_type == "normalization"}
    assert norms["bn"].attrs["affine"] is False and norms["bn2"].attrs["affine"] is True
    # 2*3*2*2 = 24 elements: 1 per element without affine; bn2 has no running statistics, so
    # it computes batch statistics (mean 1, variance 1 subtract + 1 MAC per element) besides
    # normalise and affine (2): 5 per element = 120
    assert (price(norms["bn"]).macs, price(norms["bn2"]).macs) == (24, 120)
    r = count_graph_text(text)
    assert r.trainable_params == _params(NormAndVector()) - 5 * 12  # fc.weight is frozen
    assert r.by_operator()["reduce_sum"].macs > 0


# -- the article's lines, by hand ---------------------------------------------------------------

PLACEMENT = 'placement=(oneflow.placement(type="cpu", ranks=[0]))'
T = "sbp=(B), size=({}), dtype=(oneflow.float32)"
ARTICLE = [
    f"(OPERATOR: model.conv1.weight() -> (out:{T.format('64, 32, 3, 3')}):{PLACEMENT})",
    f"(OPERATOR: model.conv1-conv2d-0(_MyGraph_0_input.0.0_2/out:({T.format('1, 32, 64, 64')}), "
    f"model.conv1.weight/out:({T.format('64, 32, 3, 3')})) -> "
    f"(model.conv1-conv2d-0/out_0:({T.format('1, 64, 64, 64')})):{PLACEMENT})",
    f"(OPERATOR: model-add_n-4([model.relu-relu-2/y_0:({T.format('1, 64, 64, 64')}), "
    f"model-concat-3/out_0:({T.format('1, 64, 64, 64')})]) -> "
    f"(model-add_n-4/out_0:({T.format('1, 64, 64, 64')})):{PLACEMENT})",
    f"(OPERATOR: _MyGraph_0_input.0.0_2(...) -> (...):{PLACEMENT})",
]


def as_log(lines):
    return "\n".join(f"I20240101 12:00:0{i}.123456  4242 graph.cpp:77] {line}" for i, line in enumerate(lines))


def test_article_lines_by_hand():
    out = 64 * 64 * 64                  # elements of a (1, 64, 64, 64) output
    conv = out * 3 * 3 * 32              # one MAC per weight element of an output channel
    add_n = out * (2 - 1)                # two tensors: one add per output element
    assert (conv, add_n) == (75_497_472, 262_144)

    recs = parse_operator_lines(as_log(ARTICLE))
    assert [(r.op_type, r.module) for r in recs] == [("conv2d", "conv1"), ("add_n", "")]
    assert recs[0].inputs == ((1, 32, 64, 64), (64, 32, 3, 3)) and recs[0].outputs == ((1, 64, 64, 64),)
    assert recs[1].inputs == ((1, 64, 64, 64), (1, 64, 64, 64))
    assert recs[0].attrs["_in_sbp"] == (("B",), ("B",))

    r = count_graph_text(as_log(ARTICLE))
    assert r.by_operator()["conv2d"].macs == conv and r.by_operator()["add_n"].macs == add_n
    assert r.macs == conv + add_n
    by = r.by_module()
    assert (by["conv1"].macs, by[""].macs) == (conv, conv + add_n)
    assert list(r.modules) == ["", "conv1"] and r.modules[""].children == [("conv1", "conv1")]


def test_forms_oneflow_prints():
    line = ("(OPERATOR: m.a-conv2d-0(x/out:(sbp=(S(0), B), size=(8, 3, 4, 4), dtype=(oneflow.float32)), "
            "m.a.w/out:(sbp=(B, B), size=(2, 3, 1, 1), dtype=(oneflow.float32))) -> "
            "(m.a-conv2d-0/out_0:(sbp=(S(0), P), size=(8, 2, 4, 4), dtype=(oneflow.float32))), "
            'placement=(oneflow.placement(type="cuda", ranks=[[0, 1], [2, 3]])), '
            "location=(Python Stack[-1]: 'forward' at 'x.py': line 3; out = f(g(x)  )) ")
    scalar = ("(OPERATOR: m-reduce_sum-1(m.a-conv2d-0/out_0:(sbp=(B), size=(64), dtype=(oneflow.float32))) -> "
              "(m-reduce_sum-1/y_0:(sbp=(B), size=(), dtype=(oneflow.float32))), placement=(None))")
    (conv, red) = parse_operator_lines(line + "\n\n" + scalar)
    assert conv.attrs["_in_sbp"] == (("S(0)", "B"), ("B", "B")) and conv.attrs["_out_sbp"] == (("S(0)", "P"),)
    assert conv.attrs["_placement"] == {"type": "cuda", "ranks": ((0, 1), (2, 3))}
    assert (conv.module, red.module) == ("a", "")
    assert red.inputs == ((64,),) and red.outputs == ((),) and "_placement" not in red.attrs
    assert count_graph_text(line).macs == 8 * 2 * 4 * 4 * 3


def test_a_log_holding_the_graph_twice_counts_it_once():
    text, _ = compiled_repr(BasicBlock(), (1, 32, 64, 64))
    once = count_graph_text(text).macs
    assert count_graph_text(text + "\nsome other log line\n" + text).macs == once
    assert count_graph_text(text.replace("\n", "\r\n")).macs == once


@pytest.mark.parametrize("text, line, match", [
    ("", 1, "no \\(OPERATOR"),
    ("hello\nworld", 1, "no \\(OPERATOR"),
    ("\n" + ARTICLE[1][:80], 2, "bad OPERATOR line"),                       # cut
    ("\n\n" + ARTICLE[1] + ")", 3, "after the operator"),                     # doubled end
    (ARTICLE[0].replace("size=(64, 32", "size=(100000000000000000000, 32"), 1, "out of range"),
    (ARTICLE[1].replace("sbp=(B), size", "size=(1), sbp=(B), size"), 1, "bad OPERATOR line"),  # reordered
    (ARTICLE[1].replace("32, 3, 3", "32, x, 3", 1), 1, "number"),
    (ARTICLE[1] + "\n" + ARTICLE[1].replace("64, 64, 64)", "64, 64, 65)"), 2, "twice"),
    # a conv2d with one input: its formula needs the weight
    (ARTICLE[1].replace(f", model.conv1.weight/out:({T.format('64, 32, 3, 3')})", ""), 1, "do not fit"),
])
def test_malformed_text_names_its_line(text, line, match):
    with pytest.raises(ParseError, match=match) as err:
        count_graph_text(text)
    assert err.value.line == line


PATHOLOGICAL = [
    "(OPERATOR: a-b-0(" + "[" * 100_000,
    "(OPERATOR: " + "x" * 1_000_000,
    "(OPERATOR: a-relu-0(" + "t:(sbp=(B), size=(1), dtype=(f)), " * 20_000,
    "(OPERATOR: a-b-0() -> ()" + ', placement=(oneflow.placement(ranks=' + "[" * 10_000,
    "(OPERATOR: " + "." * 100_000 + "-relu-0() -> (), placement=(None))",
    "(OPERATOR: " + "a." * 50_000 + "a-relu-0() -> (), placement=(None))",
    "(OPERATOR: " + "a." * 200 + "a-relu-0(t:(sbp=(B), size=(1), dtype=(f))) -> (), placement=(None))",
    "\n".join(["(OPERATOR:"] * 100_000),
]


def test_pathological_lines_parse_or_fail_cleanly():
    """Huge and deeply nested lines give a Report or a ParseError with a line number (their
    parse time is measured in benchmarks/graph_text_pathological.py, not asserted here)."""
    for text in PATHOLOGICAL:
        try:
            count_graph_text(text)
        except ParseError as err:
            assert err.line >= 1


# -- property-based: mutated real lines ----------------------------------------------------------

@functools.lru_cache(maxsize=None)
def real_text():
    return compiled_repr(BasicBlock(), (1, 32, 64, 64))[0]


HUGE = ["1" + "0" * 30, str(2 ** 63), str(2 ** 63 - 1), "9" * 5000, "0" * 40 + "7"]


@st.composite
def mutated(draw):
    text = real_text()
    lines = text.split("\n")
    ops = [i for i, line in enumerate(lines) if "(OPERATOR:" in line]
    target = draw(st.sampled_from(ops + [None]))  # one OPERATOR line, or the whole text
    s = text if target is None else lines[target]
    for _ in range(draw(st.integers(1, 3))):
        n = len(s)
        i, j = sorted(draw(st.tuples(st.integers(0, n), st.integers(0, n))))
        kind = draw(st.sampled_from(["cut", "double", "swap", "insert", "delete", "huge"]))
        if kind == "cut":
            s = s[:i]
        elif kind == "double":
            s = s[:j] + s[i:j] + s[j:]
        elif kind == "swap":
            k = draw(st.integers(j, n))
            s = s[:i] + s[j:k] + s[i:j] + s[k:]
        elif kind == "insert":
            junk = draw(st.one_of(st.text(max_size=20), st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
                                  st.sampled_from(["(", ")", "[", "]", ", ", ":", "->", "(OPERATOR: ", "\n"])))
            s = s[:i] + junk + s[i:]
        elif kind == "delete":
            s = s[:i] + s[j:]
        else:
            numbers = list(re.finditer(r"\d+", s))
            if numbers:
                m = numbers[draw(st.integers(0, len(numbers) - 1))]
                s = s[:m.start()] + draw(st.sampled_from(HUGE)) + s[m.end():]
    if target is None:
        return s
    return "\n".join(lines[:target] + [s] + lines[target + 1:])


@settings(deadline=None, max_examples=200)
@given(mutated())
def test_mutated_text_gives_a_report_or_a_parse_error(text):
    start = time.perf_counter()
    try:
        report = count_graph_text(text)
    except ParseError as err:
        assert 1 <= err.line <= text.count("\n") + 1
    else:
        assert isinstance(report, flowflops.Report)
        report.by_module()
        report.table()
    assert time.perf_counter() - start < 2


def _odd_names_model():
    """Modules named with every character a printed name used to stop at (space, quote, comma,
    brackets, '=', '->', a whole ', placement=(' fragment), one path the prefix of another."""
    inner = nn.Sequential()
    inner.add_module("g(h) i=j", nn.Linear(5, 2))
    m = nn.Sequential()
    for name, layer in [("a b", nn.Linear(4, 3)), ('q"x', nn.Linear(3, 5)), ("e,f", inner), ("k[l]", nn.ReLU()),
                        (" -> ", nn.Linear(2, 2)), ("x), placement=(", nn.Linear(2, 1)), ("a", nn.Linear(1, 2))]:
        m.add_module(name, layer)
    return m


def test_module_names_with_spaces_quotes_and_brackets_are_priced():
    """One compile of a model whose module names hold odd characters (issue 29: the repr of a
    valid graph was refused). MACs by hand, on a (1, 4) input: Linear(i, o) is i*o + o,
    ReLU one per element."""
    text, _ = compiled_repr(_odd_names_model(), (1, 4))
    report = count_graph_text(text)
    want = {"a b": 4 * 3 + 3, 'q"x': 3 * 5 + 5, "e,f.g(h) i=j": 5 * 2 + 2, "k[l]": 2, " -> ": 2 * 2 + 2,
            "x), placement=(": 2 * 1 + 1, "a": 1 * 2 + 2}
    by_module = report.by_module()
    assert {p: by_module[p].macs for p in want} == want
    assert by_module["e,f"].macs == 5 * 2 + 2
    assert report.macs == sum(want.values()) == 62
    params = {"a b": 15, 'q"x': 20, "e,f.g(h) i=j": 12, "k[l]": 0, " -> ": 6, "x), placement=(": 3, "a": 4}
    assert {p: report.modules[p].params for p in params} == params

    # Without the (MODULE: ...) lines nothing says where such a name ends: refused, saying why.
    log = "\n".join(line for line in text.split("\n") if "(OPERATOR:" in line)
    with pytest.raises(ParseError) as err:
        count_graph_text(log)
    assert "\n" not in str(err.value) and "whole repr, whose (MODULE: ...) lines name the module" in str(err.value)
