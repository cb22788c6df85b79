"""Repeated blocks traced once in graph mode (flowflops.graph.repeats): the deduplicated count
is the full trace, op record by op record, and numbers are derived by hand here."""
import importlib.util
import itertools

import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops
from flowflops.graph import repeats as repeats_mod
from flowflops.records import IN_TENSORS, OUT_TENSORS


class Blk(nn.Module):
    def __init__(self, d_in: int, d_out: int, extra: bool = False) -> None:
        super().__init__()
        self.fc = nn.Linear(d_in, d_out)
        self.extra = extra

    def forward(self, x):
        y = self.fc(x).relu()
        if self.extra:  # a config attribute that changes the ops: one more elementwise op
            y = y * 2.0
        return y


class Stack(nn.Module):
    def __init__(self, n: int, d: int, extras=()) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*[Blk(d, d, i in extras) for i in range(n)])

    def forward(self, x):
        return self.blocks(x)


def _key(rec):
    attrs = {k: v for k, v in rec.attrs.items() if k not in (IN_TENSORS, OUT_TENSORS)}
    return (rec.op_type, rec.module, rec.inputs, rec.outputs, sorted(attrs.items(), key=lambda kv: kv[0]))


def _spy(monkeypatch):
    """Count the copies each deduplicated count makes."""
    seen = []
    original = repeats_mod.Repeats.expand

    def expand(self, records, root):
        out = original(self, records, root)
        seen.append(sum(1 for c in self.calls.values() if c.copy_of is not None))
        return out

    monkeypatch.setattr(repeats_mod.Repeats, "expand", expand)
    return seen


def assert_same_as_full_trace(model, input_res=None, **kw):
    """The deduplicated count equals the full trace: every record (type, module path, shapes,
    attributes), in order, each one's MACs, FLOPs and bytes, and the memory analysis (which
    reads the tensor names: the copies' dataflow is the full trace's)."""
    full = flowflops.profile(model, input_res, mode="graph", repeats="trace", **kw)
    once = flowflops.profile(model, input_res, mode="graph", repeats="once", **kw)
    assert [_key(r) for r, _ in once.entries] == [_key(r) for r, _ in full.entries]
    assert [c for _, c in once.entries] == [c for _, c in full.entries]
    assert once.record_traffic() == full.record_traffic()
    assert (once.macs, once.flops, once.params) == (full.macs, full.flops, full.params)
    assert once.memory() == full.memory()
    return once


def test_stack_of_identical_linear_blocks_traced_once(monkeypatch):
    seen = _spy(monkeypatch)
    n, b, d = 6, 2, 8
    r = flowflops.profile(Stack(n, d).eval(), (b, d), mode="graph")
    # each block: matmul b*d*d = 128 MACs, bias add b*d = 16, relu b*d = 16 -> 160; 6 blocks 960
    assert r.macs == n * (b * d * d + b * d + b * d) == 960
    assert seen == [n - 1]  # the first block traced, the other five copied
    # each block's records under its own path, in order: matmul and bias add in blocks.k.fc,
    # relu (a tensor method) in blocks.k
    assert [(rec.op_type, rec.module) for rec, _ in r.entries] == [
        (op, f"blocks.{k}{where}") for k in range(n)
        for op, where in (("matmul", ".fc"), ("broadcast_add", ".fc"), ("relu", ""))]
    per_block = r.by_module()
    for k in range(n):
        assert per_block[f"blocks.{k}"].macs == 160
    assert_same_as_full_trace(Stack(n, d).eval(), (b, d))


def test_a_different_config_attribute_is_traced(monkeypatch):
    seen = _spy(monkeypatch)
    n, b, d = 4, 2, 8
    r = flowflops.profile(Stack(n, d, extras=(2,)).eval(), (b, d), mode="graph")
    # block 2 multiplies by 2.0 once more: b*d = 16 MACs more than 4 * 160
    assert r.macs == n * 160 + b * d == 656
    assert seen == [2]  # blocks 1 and 3 copy block 0; block 2 differs (its extra=True) and is traced


def test_different_input_shapes_are_traced(monkeypatch):
    class Funnel(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = Blk(8, 4), Blk(4, 4)
            self.c = Blk(4, 4)

        def forward(self, x):
            return self.c(self.b(self.a(x)))

    seen = _spy(monkeypatch)
    r = flowflops.profile(Funnel().eval(), (2, 8), mode="graph")
    # a: 2*8*4 + 2*4 + 2*4 = 80; b and c: 2*4*4 + 8 + 8 = 48 each
    assert r.macs == 80 + 48 + 48 == 176
    assert seen == [1]  # c copies b; a differs in its parameter shapes


CALLS = 0


class GlobalCounting(nn.Module):
    """A forward that keeps a count in a global and adds an op on odd calls."""

    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        global CALLS
        CALLS += 1
        y = self.fc(x)
        return y * 2.0 if CALLS % 2 else y


def test_a_forward_that_assigns_a_global_is_traced(monkeypatch):
    seen = _spy(monkeypatch)
    global CALLS
    CALLS = 0
    model = nn.Sequential(GlobalCounting(8), GlobalCounting(8), GlobalCounting(8)).eval()
    r = flowflops.profile(model, (2, 8), mode="graph")
    # each: matmul 2*8*8 = 128 + bias 16; calls 1 and 3 also multiply: 16 each
    assert r.macs == 3 * (128 + 16) + 2 * 16 == 464
    assert seen == [0]


class SelfCounting(nn.Module):
    """A forward that counts its own calls in an attribute and adds an op from the second on."""

    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        y = self.fc(x)
        return y * 2.0 if self.calls > 1 else y


def test_a_shared_module_that_counts_its_calls_is_traced_each_time(monkeypatch):
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = SelfCounting(8)

        def forward(self, x):
            return self.block(self.block(x))

    seen = _spy(monkeypatch)
    model = Twice().eval()
    r = flowflops.profile(model, (2, 8), mode="graph")
    # first call: 128 + 16; second call sees calls == 2: 128 + 16 + 16
    assert r.macs == (128 + 16) + (128 + 16 + 16) == 304
    assert seen == [0]
    assert model.block.calls == 0  # the user's module as it was


def test_a_pure_shared_module_called_twice_is_copied_under_its_path(monkeypatch):
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Blk(8, 8)

        def forward(self, x):
            return self.block(self.block(x))

    seen = _spy(monkeypatch)
    r = flowflops.profile(Twice().eval(), (2, 8), mode="graph")
    assert r.macs == 2 * 160
    assert seen == [1]
    assert [rec.module for rec, _ in r.entries] == ["block.fc"] * 2 + ["block"] + ["block.fc"] * 2 + ["block"]
    assert_same_as_full_trace(Twice().eval(), (2, 8))


def test_siblings_on_different_inputs_keep_their_dataflow():
    class Branches(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = Blk(8, 8), Blk(8, 8)

        def forward(self, x):
            return self.a(x) + self.b(x * 3.0)

    r = assert_same_as_full_trace(Branches().eval(), (2, 8))
    # a, b: 160 each; x * 3.0: 16; the sum: 16
    assert r.macs == 160 + 160 + 16 + 16


def test_tuple_outputs_and_passed_through_inputs():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x, skip):
            return self.fc(x), skip  # the second output is an input passed through

    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = nn.ModuleList([Pair() for _ in range(3)])

        def forward(self, x):
            s = x * 1.5
            for p in self.p:
                x, s = p(x, s)
            return x + s

    r = assert_same_as_full_trace(Chain().eval(), (2, 8))
    # x * 1.5: 16; three Linear 8->8: 128 + 16 each; the sum: 16
    assert r.macs == 16 + 3 * 144 + 16


def test_reference_decoders_at_small_width():
    from flowflops.models import Decoder, gpt2_medium, llama2_70b

    for cfg in (gpt2_medium(layers=3, hidden=32, heads=4, ffn=64, vocab=50, max_positions=32),
                llama2_70b(layers=3, hidden=32, heads=4, kv_heads=2, ffn=64, vocab=50, max_positions=32)):
        model = Decoder(cfg).eval()
        assert_same_as_full_trace(model, input_constructor=lambda _: {"idx": flow.zeros(1, 5, dtype=flow.int64)})
        past = model.empty_cache(1, 7)
        assert_same_as_full_trace(
            model, input_constructor=lambda _: {"idx": flow.zeros(1, 1, dtype=flow.int64), "past": past})


class Residual(nn.Module):
    """efficientnet's MBConv shape: a copied inner block, then ``out += x`` in place; ``tag``
    differs per layer (like a drop-path rate), so the outer module is traced and only ``inner``
    is copied."""

    def __init__(self, d: int, tag: int) -> None:
        super().__init__()
        self.inner = Blk(d, d)
        self.tag = tag

    def forward(self, x):
        out = self.inner(x)
        out += x
        return out


def test_an_in_place_add_on_a_copied_blocks_output_stays_in_its_layer(monkeypatch):
    # Each layer: inner Linear(8, 8) on (2, 8): 2*8*8 = 128 MACs + 16 bias + 16 relu, then the
    # in-place residual add 16: 176 per layer. The inner blocks' outputs are changed in place
    # after the call, so a copy's dataflow cannot be told from the template's marks (made at the
    # first copy, after the change): the count is traced again in full. Before, layer 2's inner
    # block took layer 1's unchanged copy output, OneFlow fused the two layers' adds into one
    # 3-input add_n counted in layer 2 (efficientnet_b0's features.6.2/6.3 were off by 9,408
    # MACs each way), and the memory analysis followed the wrong tensors.
    seen = _spy(monkeypatch)
    model = nn.Sequential(*[Residual(8, k) for k in range(3)]).eval()
    r = assert_same_as_full_trace(model, (2, 8))
    assert seen == []  # the deduplicated expansion gave up (Retrace) before counting copies
    assert {k: r.by_module()[str(k)].macs for k in range(3)} == {0: 176, 1: 176, 2: 176}
    adds = [(rec.module, len(rec.inputs)) for rec, _ in r.entries if rec.op_type == "add_n"]
    assert adds == [("0", 2), ("1", 2), ("2", 2)]


def test_resnet18_same_as_full_trace():
    import flowvision.models as fm

    assert_same_as_full_trace(fm.resnet18().eval(), (1, 3, 64, 64))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet50", "vit_tiny_patch16_224", "swin_tiny_patch4_window7_224",
                                  "mobilenet_v3_large", "densenet121"])
def test_zoo_same_as_full_trace(name):
    import flowvision.models as fm

    assert_same_as_full_trace(getattr(fm, name)().eval(), (1, 3, 224, 224))


def test_module_type_rules_trace_everything(monkeypatch):
    seen = _spy(monkeypatch)
    r = flowflops.profile(Stack(3, 8).eval(), (2, 8), mode="graph", ignore_modules=[nn.Linear])
    assert r.macs == 3 * 16  # the relus only: 2 * 8 each
    assert seen == []  # GraphRules hooks run per call: no deduplication


def test_bad_repeats_value():
    with pytest.raises(ValueError, match="repeats must be one of"):
        flowflops.profile(Stack(2, 8).eval(), (2, 8), mode="graph", repeats="twice")


def test_user_model_left_as_it_was():
    model = Stack(4, 8).eval()
    before = {id(m): dict(m.__dict__) for m in model.modules()}
    flowflops.profile(model, (2, 8), mode="graph")
    after = {id(m): dict(m.__dict__) for m in model.modules()}
    assert before.keys() == after.keys()
    for k in before:
        assert before[k].keys() == after[k].keys()
        assert all(before[k][a] is after[k][a] for a in before[k])


def test_a_forward_pre_hook_on_one_block_is_honoured(monkeypatch):
    seen = _spy(monkeypatch)
    model = Stack(3, 8).eval()
    model.blocks[1].register_forward_pre_hook(lambda m, args: (args[0] * 2.0,))
    r = flowflops.profile(model, (2, 8), mode="graph")
    # three blocks of 160 and the hook's multiply on block 1's input: 2 * 8
    assert r.macs == 3 * 160 + 16 == 496
    assert seen == [1]  # block 2 copies block 0; block 1 (hooked) is traced


class DropBlk(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.drop = nn.Dropout(0.1)  # each nn.Dropout holds a flow.Generator of its own

    def forward(self, x):
        return self.drop(self.fc(x).relu())


def test_blocks_with_dropout_are_copied(monkeypatch):
    seen = _spy(monkeypatch)
    model = nn.Sequential(*[DropBlk(8) for _ in range(4)]).eval()
    r = assert_same_as_full_trace(model, (2, 8))
    # per block: matmul 2*8*8 = 128, bias 16, relu 16; an eval dropout makes no op
    assert r.macs == 4 * (128 + 16 + 16) == 640
    assert seen == [3]  # blocks 1-3 copy block 0: the dropouts' generators differ, no record reads them


class Normed(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.fc = nn.utils.weight_norm(nn.Linear(d, d))  # a forward pre-hook recomputes fc.weight

    def forward(self, x):
        return self.fc(x).relu()


def test_op_locations_of_a_pre_hook_are_the_full_traces():
    """OneFlow names an op's place (the records' ``_at``) by the two innermost Python frames
    that made it; weight_norm's ops (made in OneFlow's code) by the proxy's ``__call__`` and
    the forward that called the module. Counted once, the same frames (hf:wav2vec2's
    positional convolution differed by a frame of flowflops' own)."""
    model = nn.Sequential(*[Normed(8) for _ in range(3)]).eval()
    r = assert_same_as_full_trace(model, (2, 8))
    # weight_norm of v (8, 8) over dim 0: |v| 64, ^2 64, row sums 64, sqrt 8, g / norm 8,
    # v * that 64 = 272; Linear 2*8*8 + 16 = 144; relu 16
    assert r.macs == 3 * (272 + 144 + 16) == 1296
    hooked = [rec for rec, _ in r.entries if rec.module == "0" and rec.op_type == "abs"]
    assert len(hooked) == 1
    assert f"'forward' at '{__file__}'" in hooked[0].attrs["_at"]  # Normed.forward, which called fc


def _copied(monkeypatch):
    """The module paths (under the counted model) of the calls each deduplicated count copied."""
    seen = []
    original = repeats_mod.Repeats.expand

    def expand(self, records, root):
        out = original(self, records, root)
        seen.append({c.scope.split(".", 1)[1] for c in self.calls.values() if c.copy_of is not None})
        return out

    monkeypatch.setattr(repeats_mod.Repeats, "expand", expand)
    return seen


def _layers(fmt, *ranges):
    return {fmt.format(*i) for i in itertools.product(*ranges)}


# The timm and Hugging Face models of the suite (tests/test_torch_models.py, test_timm_published.py,
# test_hf_inputs.py, test_verify.py, test_symbolic.py), at small sizes: 3 layers, width 32, 16
# tokens, 64-pixel (ViTs: 32-pixel) images. ``copied``: calls that must have been copied, from
# the architecture: in a stack of identical blocks each block after the first one (after the
# first two where the first one downsamples) is a copy; where a layer holds a per-layer
# attribute (GPT-2's layer_idx, BERT's and T5's first layer's relative position flags) its
# identical parts are. Without copies the comparison would prove nothing.
HF_BERT = {"num_hidden_layers": 3, "hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 64}
TIMM_HF = [
    ("timm:resnet18", {}, None, {"layer1.1"}),
    # depths (2, 2, 6, 2)
    ("timm:convnext_atto", {}, (1, 3, 64, 64),
     {"stages.0.blocks.1", "stages.1.blocks.1", "stages.3.blocks.1"} | _layers("stages.2.blocks.{}", range(1, 6))),
    # layers (3, 4, 6, 3), block 0 of each downsamples
    ("timm:resnext50_32x4d", {}, (1, 3, 64, 64),
     {"layer1.2", "layer2.2", "layer2.3", "layer3.2", "layer3.3", "layer3.4", "layer3.5", "layer4.2"}),
    # stages of (1, 2, 2, 3, 3, 4, 1) blocks: the third block of a stage copies the second
    ("timm:efficientnet_b0", {}, (1, 3, 64, 64), {"blocks.3.2", "blocks.4.2", "blocks.5.2", "blocks.5.3"}),
    ("timm:mobilenetv3_large_100", {}, (1, 3, 64, 64), {"blocks.2.2", "blocks.3.3", "blocks.5.2"}),
    # stages of (1, 1, 4, 7) blocks
    ("timm:regnety_002", {}, (1, 3, 64, 64), _layers("s3.b{}", (3, 4)) | _layers("s4.b{}", range(3, 8))),
    # 12 blocks
    ("timm:vit_tiny_patch16_224", {"img_size": 32}, (1, 3, 32, 32), _layers("blocks.{}", range(1, 12))),
    ("timm:vit_relpos_small_patch16_224", {"img_size": 32}, (1, 3, 32, 32), _layers("blocks.{}", range(1, 12))),
    # stage 1: 2 x (attention residual, MLP residual)
    ("timm:levit_128s", {}, None, {"blocks.2", "blocks.3"}),
    # depths (2, 2, 6, 2); stage 2: 5 conv blocks then a transposed-attention block
    ("timm:edgenext_xx_small", {}, (1, 3, 64, 64), _layers("stages.2.blocks.{}", range(1, 5))),
    ("hf:bert", {**HF_BERT, "vocab_size": 100}, (1, 16),
     _layers("encoder.layer.{}.{}", (1, 2), ("attention.self", "attention.output", "intermediate", "output"))),
    ("hf:gpt2", {"n_layer": 3, "n_embd": 32, "n_head": 4, "vocab_size": 100, "n_positions": 64}, (1, 16),
     {"h.1.mlp", "h.2.mlp"}),
    ("hf:bart", {"encoder_layers": 3, "decoder_layers": 3, "d_model": 32, "encoder_attention_heads": 4,
                 "decoder_attention_heads": 4, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "vocab_size": 100},
     (1, 16), _layers("{}coder.layers.{}", ("en", "de"), (1, 2))),
    ("hf:vit", {**HF_BERT, "image_size": 32, "patch_size": 8}, None,
     _layers("encoder.layer.{}.{}", (1, 2), ("attention.attention", "attention.output", "intermediate", "output"))),
    ("hf:xlnet", {"n_layer": 3, "d_model": 32, "n_head": 4, "d_inner": 64, "vocab_size": 100}, (1, 16),
     _layers("layer.{}.{}", (1, 2), ("rel_attn", "ff"))),
    ("hf:whisper", {"d_model": 32, "encoder_layers": 3, "decoder_layers": 3, "encoder_attention_heads": 4,
                    "decoder_attention_heads": 4, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "num_mel_bins": 16,
                    "max_source_positions": 32, "max_target_positions": 32, "vocab_size": 100, "pad_token_id": 0,
                    "bos_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 1}, None,
     _layers("{}coder.layers.{}", ("en", "de"), (1, 2))),
    ("hf:clip", {"text_config": {"num_hidden_layers": 3, "hidden_size": 32, "num_attention_heads": 2,
                                 "intermediate_size": 64, "vocab_size": 100, "max_position_embeddings": 16},
                 "vision_config": {"num_hidden_layers": 3, "hidden_size": 32, "num_attention_heads": 2,
                                   "intermediate_size": 64, "image_size": 32, "patch_size": 8},
                 "projection_dim": 16}, None,
     _layers("{}_model.encoder.layers.{}", ("text", "vision"), (1, 2))),
    ("hf:segformer", {"num_encoder_blocks": 2, "depths": [3, 3], "sr_ratios": [2, 1], "hidden_sizes": [16, 32],
                      "num_attention_heads": [1, 2], "mlp_ratios": [2, 2], "patch_sizes": [7, 3], "strides": [4, 2],
                      "decoder_hidden_size": 32}, (1, 3, 64, 64),
     _layers("encoder.block.{}.{}.{}", (0, 1), (1, 2), ("attention.self", "attention.output", "mlp"))),
    # its positional convolution has weight_norm: a forward pre-hook (see the op-location test)
    ("hf:wav2vec2", {"num_hidden_layers": 3, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                     "conv_dim": [16, 16], "conv_stride": [5, 2], "conv_kernel": [10, 3],
                     "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}, (1, 1600),
     _layers("encoder.layers.{}", (1, 2))),
    ("hf:t5", {"num_layers": 3, "num_decoder_layers": 3, "d_model": 32, "d_kv": 8, "num_heads": 4, "d_ff": 64,
               "vocab_size": 100}, (1, 16), _layers("encoder.block.{}.layer.1", (1, 2))),
]


@pytest.mark.slow
@pytest.mark.skipif(not all(importlib.util.find_spec(p) for p in ("timm", "transformers")),
                    reason="the torch-models extra (timm, transformers) is not installed")
@pytest.mark.parametrize("name, config, res, copied", TIMM_HF, ids=[t[0] for t in TIMM_HF])
def test_timm_and_hf_same_as_full_trace(monkeypatch, name, config, res, copied):
    from flowflops import torch_models
    from flowflops.torch_models.zoo import build

    seen = _copied(monkeypatch)
    with torch_models.mocked_torch():
        built = build(name, config)
        assert_same_as_full_trace(built.model, res or built.default_input_res,
                                  input_constructor=built.input_constructor)
    assert seen and copied <= seen[-1], sorted(copied - seen[-1])


# -- lent outputs: a copy makes no op; what reads its outputs is checked --------------------------

def _lending(monkeypatch):
    """Which Repeats each count made (lend True/False), with a fresh memo of classes that lend
    no more."""
    made = []
    original = repeats_mod.Repeats.__init__

    def init(self, lend=True):
        made.append(lend)
        original(self, lend)

    monkeypatch.setattr(repeats_mod.Repeats, "__init__", init)
    monkeypatch.setattr(repeats_mod, "_NO_LEND", set())
    return made


class Scaled(nn.Module):
    """Blk's shape under its own class (the memo of classes that lend no more is per class)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return self.fc(x).relu()


def test_a_lent_output_read_by_an_op_compiles_again_with_marks(monkeypatch):
    class Gated(nn.Module):  # MoE's shape: each expert's output read by a product in the caller
        def __init__(self):
            super().__init__()
            self.experts = nn.ModuleList([Scaled(8) for _ in range(3)])

        def forward(self, x):
            out = None
            for e in self.experts:
                y = e(x) * 2.0
                out = y if out is None else out + y
            return out

    made = _lending(monkeypatch)
    r = assert_same_as_full_trace(Gated().eval(), (2, 8))
    # 3 experts of 2*8*8 + 16 + 16 = 160, each output times 2.0: 16, two sums of 16
    assert r.macs == 3 * (160 + 16) + 2 * 16 == 560
    assert made == [True, False]  # lent, read by an op (Relend); every copy's tensors marked
    assert repeats_mod._NO_LEND == {Scaled}
    made.clear()
    flowflops.profile(Gated().eval(), (2, 8), mode="graph")
    assert made == [True]  # the class lends no more: one compile, marked


def test_a_chain_of_copies_lends_and_makes_no_op(monkeypatch):
    made = _lending(monkeypatch)
    seen = _spy(monkeypatch)
    n, b, d = 6, 2, 8
    marks = []
    original = repeats_mod.Repeats.expand

    def expand(self, records, root):
        marks.append(sum(len(v) for v in self._log.values()))
        return original(self, records, root)

    monkeypatch.setattr(repeats_mod.Repeats, "expand", expand)
    r = flowflops.profile(Stack(n, d).eval(), (b, d), mode="graph")
    assert r.macs == n * 160 == 960
    assert made == [True] and seen == [n - 1]
    # the template's input and output marks and the first copy's input mark (at the first copy),
    # and the last copy's output, given back to the graph's output: 4, not 2 per copy (12)
    assert marks == [4]
    made.clear()
    assert_same_as_full_trace(Stack(n, d).eval(), (b, d))
    assert made == [True]  # the full trace makes none


def test_lent_outputs_read_by_modules_by_the_graph_output_and_by_later_copies(monkeypatch):
    class Fan(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([Scaled(8) for _ in range(4)])
            self.norm = nn.ReLU()

        def forward(self, x):
            a = self.blocks[0](x)
            b = self.blocks[1](a)     # a copy: lent output
            n = self.norm(b)          # a module reads it: given back as a mark
            c = self.blocks[2](b)     # a later copy reads the same lent output
            d = self.blocks[3](n)     # a copy of a marked tensor
            return c, d, b            # b returned too: the graph output reads its mark

    made = _lending(monkeypatch)
    r = assert_same_as_full_trace(Fan().eval(), (2, 8))
    # 4 blocks of 160; the ReLU module on (2, 8): 16
    assert r.macs == 4 * 160 + 16 == 656
    assert made == [True]  # no op read a lent tensor: one compile


def test_ops_between_copies_keep_their_place(monkeypatch):
    class Interleaved(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([Scaled(8) for _ in range(4)])

        def forward(self, x):
            s = x * 3.0
            for blk in self.blocks:
                x = blk(x)
                s = s * 2.0  # an op between copies that reads no lent tensor
            return x, s

    made = _lending(monkeypatch)
    r = assert_same_as_full_trace(Interleaved().eval(), (2, 8))
    assert made == [True]
    # 4 blocks of 160, the first product and 4 more on s: 5 * 16
    assert r.macs == 4 * 160 + 5 * 16 == 720
    ops = [rec.op_type for rec, _ in r.entries]
    assert ops == ["scalar_mul"] + ["matmul", "broadcast_add", "relu", "scalar_mul"] * 4


def test_hidden_states_collected_and_summed_compile_again(monkeypatch):
    class Collect(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([Scaled(8) for _ in range(3)])

        def forward(self, x):
            hs = []
            for blk in self.blocks:
                x = blk(x)
                hs.append(x)
            return hs[0] + hs[1] + hs[2]  # ops reading every block's output at the end

    made = _lending(monkeypatch)
    r = assert_same_as_full_trace(Collect().eval(), (2, 8))
    assert r.macs == 3 * 160 + 2 * 16 == 512
    assert made == [True, False]


def test_reference_decoder_returning_its_cache():
    from flowflops.models import Decoder, gpt2_medium, llama2_70b

    class WithCache(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, idx, past=None):
            return self.m(idx, past, use_cache=True)

    for cfg in (gpt2_medium(layers=3, hidden=32, heads=4, ffn=64, vocab=50, max_positions=32),
                llama2_70b(layers=3, hidden=32, heads=4, kv_heads=2, ffn=64, vocab=50, max_positions=32)):
        model = Decoder(cfg).eval()
        assert_same_as_full_trace(WithCache(model),
                                  input_constructor=lambda _: {"idx": flow.zeros(1, 5, dtype=flow.int64)})
        past = model.empty_cache(1, 7)
        assert_same_as_full_trace(
            WithCache(model), input_constructor=lambda _: {"idx": flow.zeros(1, 1, dtype=flow.int64), "past": past})


def test_a_lent_output_changed_in_place_by_the_module_it_is_given_to(monkeypatch):
    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([Scaled(8) for _ in range(3)])
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            a = self.blocks[0](x)
            b = self.blocks[1](a)  # lent
            self.act(b)            # changes b in place: the next copy reads the ReLU's output
            c = self.blocks[2](b)
            return c, b

    made = _lending(monkeypatch)
    r = assert_same_as_full_trace(InPlace().eval(), (2, 8))
    # 3 blocks of 160, the in-place ReLU on (2, 8): 16
    assert r.macs == 3 * 160 + 16 == 496
    assert made == [True]
    # the third block reads what the ReLU wrote, as in the full trace
    recs = [rec for rec, _ in r.entries]
    relu = next(rec for rec in recs if rec.module == "act")
    matmul2 = next(rec for rec in recs if rec.module == "blocks.2.fc" and rec.op_type == "matmul")
    assert matmul2.attrs[IN_TENSORS][0] == relu.attrs[OUT_TENSORS][0]


def test_copied_records_are_twins_of_the_templates_and_a_users_formula_sees_each(monkeypatch):
    from flowflops import registry
    from flowflops.records import twin_of

    n, b, d = 4, 2, 8
    r = flowflops.profile(Stack(n, d).eval(), (b, d), mode="graph")
    recs = [rec for rec, _ in r.entries]
    # blocks.0 traced: its 3 records unmarked; each copy's k-th record the twin of blocks.0's k-th
    assert [twin_of(rec) for rec in recs[:3]] == [None] * 3
    for k in range(1, n):
        assert all(twin_of(rec) is tpl for rec, tpl in zip(recs[3 * k:3 * k + 3], recs[:3]))
    monkeypatch.setattr(registry, "_FORMULAS", dict(registry._FORMULAS))
    seen = []

    @registry.register("relu", override=True)
    def by_module(rec):  # a user's formula may read the module path: called for every record
        seen.append(rec.module)
        return registry.Cost(int(rec.module[-1]), 0)

    r = flowflops.profile(Stack(n, d).eval(), (b, d), mode="graph")
    assert seen == [f"blocks.{k}" for k in range(n)]
    # per block: matmul 2*8*8 = 128 + bias add 2*8 = 16, and the relu its block's index
    assert r.macs == n * (128 + 16) + (0 + 1 + 2 + 3)
