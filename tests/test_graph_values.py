"""Graph mode counts a forward that reads its tensors' values in Python (flowflops.graph.values):
nn.Graph traces lazy tensors, which have no value, so `.item()` of one (XLM's and FlauBERT's
`assert lengths.max().item() <= slen`) or a tensor given where OneFlow takes a number
(GPT-NeoX's `baddbmm(alpha=tensor)`, DistilBERT's `masked_fill(mask, tensor)`) stops the compile;
the numbers are taken from one eager run of the same forward on the same inputs and the model is
compiled again. The count must then be the eager+count_functional count, and nothing of the
patches may remain. Quick: small pure-OneFlow models (the Hugging Face ones are slow, at the end)."""
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.errors import CountError
from flowflops.graph import values

B, T, D = 2, 4, 8  # batch, tokens, width


class Reads(nn.Module):
    """The three constructs, as the Hugging Face models write them."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(D, D, bias=False)
        self.k = nn.Linear(D, D, bias=False)
        self.norm_factor = flow.sqrt(flow.tensor(float(D)))  # a plain tensor attribute (GPT-NeoX)

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        assert x.abs().max().item() < 1e6  # a Python-side check on a value (XLM)
        q, k = self.q(x), self.k(x)
        s = flow.baddbmm(flow.zeros(B, T, T), q, k.transpose(1, 2), beta=1.0,
                         alpha=flow.tensor(1.0) / self.norm_factor)  # alpha a tensor (GPT-NeoX)
        return s.masked_fill(s > 0, flow.tensor(-1.0))  # value a tensor (DistilBERT)


def _originals():
    return [(o, n, o.__dict__.get(n) if isinstance(o, type) else getattr(o, n))
            for o, n in [(flow.Tensor, r) for r in values.READS] + [(o, n) for o, n, _ in values.SCALAR_ARGS]]


def test_graph_counts_a_forward_that_reads_values_as_eager_does():
    model = Reads()
    before = _originals()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    r = flowflops.profile(model, (B, T, D), mode="graph", verify=True)
    assert r.verification is not None and r.verification.agree, r.verification.to_text()
    eager = flowflops.profile(model, (B, T, D), mode="eager", backend_specific_config={"count_functional": True})
    assert (r.macs, r.flops) == (eager.macs, eager.flops)
    ops = r.by_operator()
    # q and k (a (B, T, D) input: broadcast_matmul): B*T rows x D x D each = 8 * 64 = 512 MACs;
    # baddbmm's product: B x T x T outputs of D terms = 2 * 16 * 8 = 256 MACs, its beta * input
    # one multiply per element of the (B, T, T) zeros = 32, and the add 32; alpha / norm_factor
    # one division (it stays in the job: the eager number is only given to baddbmm)
    assert ops["broadcast_matmul"].macs == 2 * B * T * D * D == 1024
    assert ops["batch_matmul"].macs == B * T * T * D == 256
    assert ops["scalar_mul"].flops == ops["add_n"].flops == B * T * T == 32
    assert ops["broadcast_div"].flops == 1
    assert _originals() == before  # every patched function is back
    assert all(flow.equal(v, state[k]) for k, v in model.state_dict().items()) and model.training


class ArangeOfTensors(nn.Module):
    """Funnel's relative positions: ``arange`` whose ends are 0-d tensors the forward computed."""

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        end = x.sum() / 2  # x (2, 4) of ones: 4.0
        return x * flow.arange(0, end, 1)


def test_graph_counts_an_arange_whose_ends_are_tensors_as_eager_does():
    # x.sum() reads 8 elements: 8; / 2: one scalar_div; arange: 0; x * arange (2, 4) x (4,): 8 products.
    # 17 MACs, 17 FLOPs in both engines (the ones make the arange's length 4, as x's width)
    ones = {"input_constructor": lambda res: {"x": flow.ones(*res)}}
    before = _originals()
    r = flowflops.profile(ArangeOfTensors(), (2, 4), mode="graph", verify=True, **ones)
    assert (r.macs, r.flops) == (17, 17) and not r.unsupported
    assert r.verification is not None and r.verification.agree, r.verification.to_text()
    assert _originals() == before


def test_a_model_without_reads_is_compiled_once_and_never_run():
    """The eager run is only a fallback: a model that compiles is not run (a forward that raises
    when run eagerly still counts in graph mode)."""

    class NoRun(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(D, 3)

        def forward(self, x: flow.Tensor) -> flow.Tensor:
            if not x.is_lazy:
                raise RuntimeError("run eagerly")
            return self.fc(x)

    r = flowflops.profile(NoRun(), (1, D), mode="graph")
    assert r.by_operator()["matmul"].macs == D * 3 == 24


def test_reads_on_another_path_leave_the_first_error():
    """A forward whose reads differ between the eager run and the trace (here: it reads at another
    line when traced) is not compiled with the eager numbers: OneFlow's own error stands."""

    class Diverges(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(D, D)

        def forward(self, x: flow.Tensor) -> flow.Tensor:
            if x.is_lazy:
                n = x.sum().item()
            else:
                n = x.sum().item()  # another line
            return self.fc(x) * (n > 0)

    before = _originals()
    with pytest.raises(CountError, match="Only eager scalar tensor support GetItem"):
        flowflops.profile(Diverges(), (1, D), mode="graph")
    assert _originals() == before


def test_a_forward_that_fails_eagerly_keeps_the_compile_error():
    class OnlyLazyReads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(D, D)

        def forward(self, x: flow.Tensor) -> flow.Tensor:
            if not x.is_lazy:
                raise RuntimeError("no eager run")
            return self.fc(x) * x.sum().item()

    with pytest.raises(CountError, match="Only eager scalar tensor support GetItem"):
        flowflops.profile(OnlyLazyReads(), (1, D), mode="graph")


def test_reads_act_only_in_the_thread_that_records_them():
    """The wrappers pass every call of another thread (and of this one outside a run) through."""
    reads = values.Reads()
    t = flow.tensor(3.0)
    with values.reading(reads):
        assert t.item() == 3.0  # a read by this file: recorded
        seen = []
        import threading

        th = threading.Thread(target=lambda: seen.append(flow.tensor(5.0).item()))
        th.start()
        th.join()
    assert seen == [5.0] and [v for _, v in reads.values] == [3.0]
    assert t.item() == 3.0 and flow.Tensor.item is values._ORIGINAL_ITEM


def test_overlapping_runs_in_two_threads_put_every_function_back():
    """Two runs overlap (A starts, B starts, A ends, B ends): the wrappers stay while either
    runs and the originals are back after the last."""
    import threading

    before = _originals()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    wrapped_for_b = []

    def run_a():
        with values.reading(values.Reads()):
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def run_b():
        a_in.wait(10)
        with values.reading(values.Reads()):
            b_in.set()
            a_out.wait(10)
            wrapped_for_b.append(flow.Tensor.item is not values._ORIGINAL_ITEM)  # still wrapped for B

    threads = [threading.Thread(target=run_a), threading.Thread(target=run_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert wrapped_for_b == [True] and _originals() == before


def test_reads_values_knows_oneflows_messages():
    assert values.reads_values(RuntimeError("Only eager scalar tensor support GetItem."))
    assert values.reads_values(TypeError(
        "Error: baddbmm(): argument 'alpha' must be double, not <class 'oneflow.Tensor'>"))
    assert values.reads_values(TypeError(
        "Error: masked_fill(): argument 'value' must be scalar, not <class 'oneflow.Tensor'>"))
    assert not values.reads_values(RuntimeError("Check failed: shape mismatch"))


# --- the Hugging Face types (slow: transformers under oneflow.mock_torch) ---------------------------

SMALL = {
    "gpt_neox": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                 "vocab_size": 100, "max_position_embeddings": 16},
    "gpt_neox_japanese": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2,
                          "intermediate_multiple_size": 2, "vocab_size": 100, "max_position_embeddings": 16},
    "distilbert": {"n_layers": 1, "dim": 32, "n_heads": 2, "hidden_dim": 64, "vocab_size": 100,
                   "max_position_embeddings": 16},
    "xlm": {"n_layers": 1, "emb_dim": 32, "n_heads": 2, "vocab_size": 100, "max_position_embeddings": 16},
    "flaubert": {"n_layers": 1, "emb_dim": 32, "n_heads": 2, "vocab_size": 100, "max_position_embeddings": 16},
}


@pytest.mark.slow
@pytest.mark.parametrize("model_type", sorted(SMALL))
def test_hf_types_that_read_values_count_in_graph_mode_as_in_eager(model_type):
    """Each of these stopped graph mode's compile on a value read (the reason in the module
    docstring); graph mode now counts each, and verify=True finds no difference.

    OneFlow's tensor-name table is cleared first. The earlier tests' graph counts of models
    without free tensors leave their lazy tensors' names there, keyed by address
    (flowflops/graph/free_tensors.py), and GPT-NeoX's forward makes a free eager tensor in its
    graph build (``torch.tensor(1.0) / self.norm_factor``). Where that tensor lands at such an
    address, OneFlow 0.9 aborts the process (``operator.cpp: Check failed: 'blob_desc' Must be
    non NULL``). That happened in a CI run, and in 2 of 2 runs of these five counts repeated
    in one process, on main and on af75418 alike. It is a known gap (docs/guarantees.md), not
    what this test checks."""
    from flowflops import torch_models as tm
    from flowflops.graph.building import COMPILE_LOCK
    from flowflops.graph.free_tensors import clear_names

    with COMPILE_LOCK:
        clear_names()
    with tm.mocked_torch():
        built = tm.build(f"hf:{model_type}", SMALL[model_type])
        r = flowflops.profile(built.model, built.default_input_res, input_constructor=built.input_constructor,
                              mode="graph", verify=True)
    assert r.verification is not None and r.verification.agree, r.verification.to_text()
    assert r.verification.graph == r.verification.eager and r.macs > 0
