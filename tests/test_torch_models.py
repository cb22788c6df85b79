"""timm and Hugging Face transformers models on OneFlow through flowflops.torch_models.

Expected numbers: timm's resnet50/resnet18/densenet121 are the torchvision architectures, so
they must equal the seed article's flowvision counts (quoted from the article's table, graph
mode); other layers are derived by hand below. Skipped where the torch-models extra (timm
0.6.12, transformers 4.26.1) is not installed: `make torch-models` installs it (CI does).
"""
import importlib.util
import json
import os
import subprocess
import sys

import oneflow as flow
import pytest

import flowflops
from flowflops import torch_models as tm

HAVE_EXTRA = all(importlib.util.find_spec(p) is not None for p in ("timm", "transformers"))
pytestmark = pytest.mark.skipif(
    not HAVE_EXTRA, reason="the torch-models extra (timm 0.6.12, transformers 4.26.1) is not "
    "installed: run `make torch-models`")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BERT = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
        "intermediate_size": 128, "vocab_size": 1000}
GPT2 = {"n_layer": 2, "n_embd": 64, "n_head": 4, "vocab_size": 1000, "n_positions": 64}


def _mocked_state():
    import oneflow.jit as jit

    return (sorted(k for k in sys.modules if k.split(".")[0] in ("torch", "torchvision", "timm", "transformers")),
            [f for f in sys.meta_path if type(f).__module__.startswith(("flowflops", "oneflow"))],
            flow.full, jit.ignore, jit.script, hasattr(flow, "_assert"),
            hasattr(flow, "fx"), "oneflow.fx" in sys.modules)


def test_block_leaves_nothing_behind():
    before = _mocked_state()
    with tm.mocked_torch():
        import timm  # noqa: F401
        import torch

        assert torch.nn.Conv2d is flow.nn.Conv2d
        assert torch.full([], 2.0).shape == ()  # oneflow 0.9's own full asserts on []
    assert _mocked_state() == before
    with pytest.raises(ImportError):
        import torch  # noqa: F401,F811  (no PyTorch on this machine: nothing may serve it now)


def test_blocks_can_repeat():
    for _ in range(2):
        with tm.mocked_torch():
            import torch

            assert torch.ones(2).sum().item() == 2.0
    with pytest.raises(ImportError):
        import torch  # noqa: F401,F811


def test_block_restores_after_an_error():
    before = _mocked_state()
    with pytest.raises(ZeroDivisionError):
        with tm.mocked_torch():
            import transformers  # noqa: F401
            1 / 0
    assert _mocked_state() == before


@pytest.mark.slow
@pytest.mark.parametrize("name,macs,params", [
    # the seed article's table, graph mode: resnet50 4,127,444,456 / 25,557,032,
    # resnet18 1,822,930,408 / 11,689,512, densenet121 2,882,720,488 / 7,978,856
    ("resnet50", 4127444456, 25557032),
    ("resnet18", 1822930408, 11689512),
    ("densenet121", 2882720488, 7978856),
])
def test_timm_equals_flowvision_twin(name, macs, params):
    r = tm.profile(f"timm:{name}", mode="graph")
    assert (r.macs, r.params) == (macs, params)
    assert r.unsupported == {}


@pytest.mark.slow
@pytest.mark.parametrize("timm_name,fv_name,shape", [
    ("resnext50_32x4d", "resnext50_32x4d", (1, 3, 224, 224)),
    ("vit_tiny_patch16_224", "vit_tiny_patch16_224", (1, 3, 224, 224)),
    ("deit_tiny_patch16_224", "vit_tiny_patch16_224", (1, 3, 224, 224)),  # DeiT-Ti is ViT-Ti
    ("inception_v3", "inception_v3", (1, 3, 299, 299)),
])
def test_timm_equals_flowvision_counted_alongside(timm_name, fv_name, shape):
    """Two independent implementations of one architecture, both counted here: the MACs must
    agree to the MAC. (inception_v3: flowvision builds the auxiliary classifier, which does not
    run in eval mode, so only its parameter count differs.)"""
    import flowvision.models as fv

    r = tm.profile(f"timm:{timm_name}", mode="graph")
    g = flowflops.profile(getattr(fv, fv_name)(), shape, mode="graph")
    assert r.inputs == [shape]
    assert r.macs == g.macs and r.flops == g.flops
    if timm_name != "inception_v3":
        assert r.params == g.params


@pytest.mark.slow
@pytest.mark.parametrize("name,module,macs", [
    # regnety_002's stem: conv 3->32, 3x3, stride 2, pad 1, no bias, 224 -> 112:
    # 3*3*3 * 32*112*112; its BatchNormAct2d: BN 2 per element (affine) + ReLU 1 per element
    ("regnety_002", "stem.conv", 3 * 3 * 3 * 32 * 112 * 112),
    ("regnety_002", "stem.bn", 3 * 32 * 112 * 112),
    # convnext_tiny's stem: conv 3->96, 4x4, stride 4, with bias, 224 -> 56:
    # 4*4*3 * 96*56*56 MACs + one bias add per output element
    ("convnext_tiny", "stem.0", 4 * 4 * 3 * 96 * 56 * 56 + 96 * 56 * 56),
    # efficientnet_b0's conv_stem: 3->32, 3x3, stride 2, no bias; bn1 = BN (2) + SiLU (1) (the
    # `silu` op PyTorch timm runs, since timm sees 'silu' in dir(torch.nn.functional))
    ("efficientnet_b0", "conv_stem", 3 * 3 * 3 * 32 * 112 * 112),
    ("efficientnet_b0", "bn1", 3 * 32 * 112 * 112),
    # mobilenetv3_large_100's conv_stem: 3->16, 3x3, stride 2, no bias; bn1 = BN (2) + hardswish (1)
    ("mobilenetv3_large_100", "conv_stem", 3 * 3 * 3 * 16 * 112 * 112),
    ("mobilenetv3_large_100", "bn1", 3 * 16 * 112 * 112),
])
def test_timm_layer_by_hand(name, module, macs):
    r = tm.profile(f"timm:{name}", mode="graph")
    assert r.inputs == [(1, 3, 224, 224)]  # timm's default_cfg input size, batch 1
    assert r.by_module()[module].macs == macs
    assert r.unsupported == {}


# Hugging Face: small configs, random weights; 16 tokens (ViT: 32x32 image, 8x8 patches =
# 16 patches + the CLS token = 17 tokens), hidden 64, MLP width 128 (GPT-2: 4 * 64 = 256)
HF = {
    "gpt2": ((1, 16), {"n_layer": 2, "n_embd": 64, "n_head": 4, "vocab_size": 1000, "n_positions": 64}),
    "bert": ((1, 16), {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
                       "intermediate_size": 128, "vocab_size": 1000}),
    "bart": ((1, 16), {"encoder_layers": 2, "decoder_layers": 2, "d_model": 64, "encoder_attention_heads": 4,
                       "decoder_attention_heads": 4, "encoder_ffn_dim": 128, "decoder_ffn_dim": 128,
                       "vocab_size": 1000}),
    "vit": (None, {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
                   "intermediate_size": 128, "image_size": 32, "patch_size": 8}),
}


@pytest.mark.slow
@pytest.mark.parametrize("arch,module,macs", [
    # GPT-2's c_fc is a Conv1D: torch.addmm(bias, x, W) on 16 tokens, 64 -> 256. OneFlow 0.9
    # runs addmm as flow.mul(bias, beta) + flow.mul(matmul(x, W), alpha) (oneflow/nn/modules/
    # math_ops.py): matmul 16*64*256, scalar_mul of the bias 256, scalar_mul of the product
    # 16*256, broadcast add 16*256
    ("gpt2", "h.0.mlp.c_fc", 16 * 64 * 256 + 256 + 16 * 256 + 16 * 256),
    # BERT's intermediate: Linear 64 -> 128 on 16 tokens + bias + GELU (1 per element)
    ("bert", "encoder.layer.0.intermediate", 16 * 64 * 128 + 16 * 128 + 16 * 128),
    # BART's fc1: Linear 64 -> 128 on 16 tokens + bias
    ("bart", "encoder.layers.0.fc1", 16 * 64 * 128 + 16 * 128),
    # ViT's intermediate on 17 tokens: Linear 64 -> 128 + bias + GELU
    ("vit", "encoder.layer.0.intermediate", 17 * 64 * 128 + 17 * 128 + 17 * 128),
])
def test_hf_layer_by_hand_and_eager_equals_graph(arch, module, macs):
    res, cfg = HF[arch]
    g = tm.profile(f"hf:{arch}", res, config=cfg, mode="graph")
    e = tm.profile(f"hf:{arch}", res, config=cfg, mode="eager", backend_specific_config={"count_functional": True})
    assert g.by_module()[module].macs == macs
    assert (e.macs, e.flops, e.params) == (g.macs, g.flops, g.params)
    assert g.unsupported == {} and e.unsupported == {}


XLNET = {"n_layer": 1, "d_model": 64, "n_head": 4, "d_inner": 128, "vocab_size": 1000}


def _cli(*argv):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "flowflops", *argv], capture_output=True, text=True,
                          env=env, timeout=600, cwd=ROOT)


@pytest.mark.slow
def test_xlnet_without_a_length_limit_counts_and_never_aborts():
    """XLNetConfig.max_position_embeddings is -1 (no limit): it once reached flow.ones(1, -1)
    and OneFlow aborted the process (SIGABRT, returncode -6). The default input is then
    (1, 128) token ids."""
    p = _cli("hf:xlnet", "--config", json.dumps(XLNET), "--mode", "graph", "--format", "json")
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout)["inputs"] == [{"input_ids": [1, 128]}]


@pytest.mark.parametrize("argv,needle", [
    (["--config", json.dumps(dict(XLNET, n_layer=-2))], "XLNetConfig field 'n_layer' is -2"),
    (["--config", json.dumps(dict(XLNET, d_model=-64))], "XLNetConfig field 'd_model' is -64"),
    (["--config", json.dumps(XLNET), "--input-shape", "1,-16"], "bad --input-shape '1,-16'"),
])
def test_negative_sizes_are_refused_before_oneflow_sees_them(argv, needle):
    p = _cli("hf:xlnet", *argv, "--mode", "graph")
    assert p.returncode > 0  # an error exit, not a signal (negative returncode)
    lines = [line for line in p.stderr.splitlines() if line.startswith("flowflops: error:")]
    assert len(lines) == 1 and needle in lines[0], p.stderr[-2000:]


@pytest.mark.slow
def test_a_type_that_reads_a_tensor_value_counts_in_graph_mode_as_in_eager():
    """DistilBERT's attention passes a 0-d tensor as masked_fill's value, which nn.Graph refuses
    (OneFlow 0.9: "argument 'value' must be scalar") and eager OneFlow takes: --mode graph
    compiles it with the value the eager run read (flowflops.graph.values), exits 0, and gives
    the same MACs and FLOPs as --mode eager --count-functional."""
    small = json.dumps({"n_layers": 1, "dim": 32, "hidden_dim": 64, "n_heads": 2, "vocab_size": 100})
    g = _cli("hf:distilbert", "--config", small, "--input-shape", "1,8", "--mode", "graph", "--format", "json")
    assert g.returncode == 0, g.stderr[-2000:]
    e = _cli("hf:distilbert", "--config", small, "--input-shape", "1,8", "--mode", "eager", "--count-functional",
             "--format", "json")
    assert e.returncode == 0, e.stderr[-2000:]
    graph, eager = json.loads(g.stdout)["totals"], json.loads(e.stdout)["totals"]
    assert (graph["macs"], graph["flops"]) == (eager["macs"], eager["flops"]) and graph["macs"] > 0


@pytest.mark.slow
def test_types_that_need_no_download_and_no_architecture_name_build():
    """DETR's config asks for a pretrained timm backbone (use_pretrained_backbone=True), which
    would be a download (this machine has no network: a URLError): built with random weights.
    Funnel maps to two classes and AutoModel.from_config picks by config.architectures, which
    is None in a fresh config (a TypeError in transformers 4.26.1): the base class is built."""
    with tm.mocked_torch():
        detr = tm.build("hf:detr", {"encoder_layers": 1, "decoder_layers": 1, "backbone": "resnet18", "d_model": 32,
                                    "encoder_ffn_dim": 32, "decoder_ffn_dim": 32, "num_queries": 4})
        assert type(detr.model).__name__ == "DetrModel" and detr.model.config.use_pretrained_backbone is False
        funnel = tm.build("hf:funnel", {"block_sizes": [1, 1], "d_model": 32, "n_head": 2, "d_head": 16,
                                        "d_inner": 64, "vocab_size": 100})
        assert type(funnel.model).__name__ == "FunnelModel"
