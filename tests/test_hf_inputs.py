"""Hugging Face inputs made from the model (flowflops.torch_models.hf_inputs): its
``main_input_name``, the modalities its ``forward`` takes, sizes from its config.

The fast tests use stand-in models (a ``config``, a ``main_input_name`` and a ``forward``
signature, as transformers' PreTrainedModel has them); the slow ones build the five model
types that were fed ``input_ids`` before (whisper, clip, wav2vec2, resnet, segformer) from
small configs and check one layer of each by hand, in both engines.
"""
import importlib.util
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from flowflops.torch_models.hf_inputs import AUDIO_SAMPLES, DEFAULT_SEQ_LEN, hf_inputs, input_names

HAVE_EXTRA = all(importlib.util.find_spec(p) is not None for p in ("timm", "transformers"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model(main, forward, **config):
    cfg = SimpleNamespace(**config)
    return SimpleNamespace(main_input_name=main, forward=forward, config=cfg)


def _shapes(model, res=None):
    make, default = hf_inputs(model)
    return default, {k: tuple(v.shape) for k, v in make(res or default).items()}


def test_text_model_gets_ids_under_its_position_limit():
    def forward(input_ids=None, attention_mask=None):
        pass

    # max_position_embeddings 64 < DEFAULT_SEQ_LEN 128: (1, 64)
    assert _shapes(_model("input_ids", forward, max_position_embeddings=64)) == ((1, 64), {"input_ids": (1, 64)})
    # -1 (XLNet: no limit): (1, DEFAULT_SEQ_LEN)
    assert _shapes(_model("input_ids", forward, max_position_embeddings=-1))[0] == (1, DEFAULT_SEQ_LEN)


def test_vision_model_gets_pixels_from_its_config():
    def forward(pixel_values=None, output_hidden_states=None):
        pass

    m = _model("pixel_values", forward, num_channels=1, image_size=[32, 48])
    assert _shapes(m) == ((1, 1, 32, 48), {"pixel_values": (1, 1, 32, 48)})
    # no image_size in the config (HF ResNet): 224
    assert _shapes(_model("pixel_values", forward, num_channels=3))[0] == (1, 3, 224, 224)
    # --input-shape overrides the main input
    assert _shapes(m, (2, 1, 16, 16))[1] == {"pixel_values": (2, 1, 16, 16)}


def test_a_backbone_config_sizes_the_image_only_where_the_model_has_no_size():
    def forward(pixel_values=None):
        pass

    backbone = SimpleNamespace(num_channels=3, image_size=224)
    # ViT-hybrid: its own image_size 384 is the image it takes (the BiT backbone's 224 is a default)
    hybrid = _model("pixel_values", forward, num_channels=3, image_size=384, backbone_config=backbone)
    assert _shapes(hybrid)[0] == (1, 3, 384, 384)
    # MaskFormer-like: no image_size of its own, the backbone's
    assert _shapes(_model("pixel_values", forward, backbone_config=backbone))[0] == (1, 3, 224, 224)


def test_speech_models_get_waveform_or_features():
    def wav(input_values=None):
        pass

    def whisper(input_features=None, decoder_input_ids=None):
        pass

    # a raw waveform: one second at 16 kHz
    assert _shapes(_model("input_values", wav))[0] == (1, AUDIO_SAMPLES)
    # Whisper: num_mel_bins x 2 * max_source_positions frames; its decoder ids under
    # max_target_positions 32
    w = _model("input_features", whisper, num_mel_bins=16, max_source_positions=32, max_target_positions=32,
               is_encoder_decoder=True)
    assert _shapes(w) == ((1, 16, 64), {"input_features": (1, 16, 64), "decoder_input_ids": (1, 32)})


def test_multimodal_model_gets_each_modality_with_the_main_input_batch():
    def forward(input_ids=None, pixel_values=None, attention_mask=None):
        pass

    text = SimpleNamespace(max_position_embeddings=77)
    vision = SimpleNamespace(num_channels=3, image_size=32)
    m = _model("input_ids", forward, text_config=text, vision_config=vision)
    assert _shapes(m, (2, 10))[1] == {"input_ids": (2, 10), "pixel_values": (2, 3, 32, 32)}


def test_region_features_for_a_model_that_needs_them():
    # LXMERT: forward(input_ids, visual_feats, visual_pos, ...) raises on visual_feats=None;
    # 36 regions of visual_feat_dim 8 features and visual_pos_dim 4 box coordinates, batch 2
    def forward(input_ids=None, visual_feats=None, visual_pos=None, attention_mask=None):
        pass

    m = _model("input_ids", forward, max_position_embeddings=20, visual_feat_dim=8, visual_pos_dim=4)
    assert _shapes(m, (2, 20))[1] == {"input_ids": (2, 20), "visual_feats": (2, 36, 8), "visual_pos": (2, 36, 4)}


def test_encoder_decoder_text_model_reuses_its_ids():
    def forward(input_ids=None, decoder_input_ids=None):
        pass

    m = _model("input_ids", forward, max_position_embeddings=16, is_encoder_decoder=True)
    make, res = hf_inputs(m)
    out = make(res)
    assert out["decoder_input_ids"] is out["input_ids"]


@pytest.mark.parametrize("config,needle", [
    ({"num_channels": 0, "image_size": 32}, "field 'num_channels' is 0"),
    ({"num_channels": 3, "image_size": -8}, "field 'image_size' is -8"),
])
def test_an_impossible_size_from_the_config_is_refused_naming_the_field(config, needle):
    def forward(pixel_values=None):
        pass

    with pytest.raises(ValueError, match=needle):
        hf_inputs(_model("pixel_values", forward, **config))


def test_a_main_input_flowflops_cannot_make_says_how_to_give_it():
    def forward(past_values=None):
        pass

    with pytest.raises(ValueError, match="main input.*input_constructor"):
        input_names(_model("past_values", forward))


def _dtypes(model, res=None):
    make, default = hf_inputs(model)
    return {k: str(v.dtype) for k, v in make(res or default).items()}


def test_perceiver_gets_embedded_inputs_of_its_width():
    # Perceiver without a preprocessor: inputs (1, L, d_model), L = 128 under its 2048 positions
    def forward(inputs=None, attention_mask=None, subsampled_output_points=None):
        pass

    m = _model("inputs", forward, d_model=16, max_position_embeddings=2048)
    assert _shapes(m) == ((1, DEFAULT_SEQ_LEN, 16), {"inputs": (1, DEFAULT_SEQ_LEN, 16)})
    assert _dtypes(m) == {"inputs": "oneflow.float32"}


def test_trajectory_transformer_gets_token_ids_under_its_block_size():
    def forward(trajectories=None, past_key_values=None, targets=None, attention_mask=None):
        pass

    m = _model("trajectories", forward, block_size=50)
    assert _shapes(m) == ((1, 50), {"trajectories": (1, 50)}) and _dtypes(m) == {"trajectories": "oneflow.int64"}


def test_decision_transformer_gets_every_step_input_of_the_states_length():
    # 3 tokens per step (return, state, action) under n_positions 30: 30 // 3 = 10 steps; each
    # step input follows the states' batch and length, also under --input-shape
    def forward(states=None, actions=None, rewards=None, returns_to_go=None, timesteps=None, attention_mask=None):
        pass

    m = _model("states", forward, state_dim=17, act_dim=4, n_positions=30)
    assert _shapes(m) == ((1, 10, 17), {"states": (1, 10, 17), "actions": (1, 10, 4), "rewards": (1, 10, 1),
                                        "returns_to_go": (1, 10, 1), "timesteps": (1, 10)})
    assert _shapes(m, (2, 5, 17))[1] == {"states": (2, 5, 17), "actions": (2, 5, 4), "rewards": (2, 5, 1),
                                         "returns_to_go": (2, 5, 1), "timesteps": (2, 5)}
    assert _dtypes(m)["timesteps"] == "oneflow.int64" and _dtypes(m)["actions"] == "oneflow.float32"


def test_a_model_of_two_texts_gets_both_with_their_masks():
    # RetriBERT: no input_ids; a query and a document, each with a required attention mask
    def forward(input_ids_query, attention_mask_query, input_ids_doc, attention_mask_doc, checkpoint_batch_size=-1):
        pass

    m = _model("input_ids", forward, max_position_embeddings=16)
    assert _shapes(m) == ((1, 16), {n: (1, 16) for n in (
        "input_ids_query", "input_ids_doc", "attention_mask_query", "attention_mask_doc")})
    assert set(_shapes(m, (2, 8))[1].values()) == {(2, 8)}
    assert set(_dtypes(m).values()) == {"oneflow.int64"}


# -- the five model types once fed input_ids, built from small configs --------------------------

SMALL = {
    "whisper": {"d_model": 64, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 4,
                "decoder_attention_heads": 4, "encoder_ffn_dim": 128, "decoder_ffn_dim": 128,
                "num_mel_bins": 16, "max_source_positions": 32, "max_target_positions": 32,
                "vocab_size": 1000, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2,
                "decoder_start_token_id": 1},
    "clip": {"text_config": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2,
                             "intermediate_size": 64, "vocab_size": 1000, "max_position_embeddings": 16},
             "vision_config": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2,
                               "intermediate_size": 64, "image_size": 32, "patch_size": 8},
             "projection_dim": 16},
    "wav2vec2": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                 "conv_dim": [16, 16], "conv_stride": [5, 2], "conv_kernel": [10, 3],
                 "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2},
    "resnet": {"embedding_size": 16, "hidden_sizes": [16, 32], "depths": [1, 1], "layer_type": "basic"},
    "segformer": {"num_encoder_blocks": 2, "depths": [1, 1], "sr_ratios": [2, 1], "hidden_sizes": [16, 32],
                  "num_attention_heads": [1, 2], "mlp_ratios": [2, 2], "patch_sizes": [7, 3], "strides": [4, 2],
                  "decoder_hidden_size": 32},
}


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_EXTRA, reason="the torch-models extra is not installed: `make torch-models`")
@pytest.mark.parametrize("arch,inputs,module,macs", [
    # Whisper: 16 mel bins x 2*32 = 64 frames; encoder.conv1 = Conv1d(16 -> 64, k 3, pad 1,
    # bias): 64 out frames * 64 channels * 16 * 3 MACs + 64 * 64 bias adds
    ("whisper", [{"input_features": [1, 16, 64]}, {"decoder_input_ids": [1, 32]}], "encoder.conv1",
     64 * 64 * 16 * 3 + 64 * 64),
    # CLIP: both modalities; the vision patch embedding Conv2d(3 -> 32, k 8, stride 8, no bias)
    # on 32x32: 4*4 positions * 32 channels * 3*8*8
    ("clip", [{"input_ids": [1, 16]}, {"pixel_values": [1, 3, 32, 32]}],
     "vision_model.embeddings.patch_embedding", 4 * 4 * 32 * 3 * 8 * 8),
    # Wav2Vec2: 16000 samples; conv 0 (k 10, stride 5): (16000 - 10) // 5 + 1 = 3199 frames;
    # conv 1 = Conv1d(16 -> 16, k 3, stride 2, no bias): (3199 - 3) // 2 + 1 = 1599 frames
    ("wav2vec2", [{"input_values": [1, 16000]}], "feature_extractor.conv_layers.1.conv", 1599 * 16 * 16 * 3),
    # ResNet: 224x224 (no image_size in its config); embedder Conv2d(3 -> 16, k 7, stride 2,
    # pad 3, no bias): 112*112 * 16 * 3*7*7
    ("resnet", [{"pixel_values": [1, 3, 224, 224]}], "embedder.embedder.convolution", 112 * 112 * 16 * 3 * 7 * 7),
    # SegFormer: patch embedding 0 = Conv2d(3 -> 16, k 7, stride 4, pad 3, bias) on 224:
    # (224 + 6 - 7) // 4 + 1 = 56; 56*56 * 16 * 3*7*7 MACs + 56*56*16 bias adds
    ("segformer", [{"pixel_values": [1, 3, 224, 224]}], "encoder.patch_embeddings.0.proj",
     56 * 56 * 16 * 3 * 7 * 7 + 56 * 56 * 16),
])
def test_non_text_models_count_from_their_own_inputs_in_both_engines(arch, inputs, module, macs):
    from flowflops import torch_models as tm

    g = tm.profile(f"hf:{arch}", config=SMALL[arch], mode="graph")
    e = tm.profile(f"hf:{arch}", config=SMALL[arch], mode="eager", backend_specific_config={"count_functional": True})
    assert [{k: list(v) for k, v in i.items()} for i in g.to_dict()["inputs"]] == inputs
    assert g.by_module()[module].macs == macs
    assert (e.macs, e.flops, e.params) == (g.macs, g.flops, g.params)
    assert g.unsupported == {} and e.unsupported == {}


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_EXTRA, reason="the torch-models extra is not installed: `make torch-models`")
def test_command_counts_whisper_in_graph_mode():
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "flowflops", "hf:whisper", "--config", json.dumps(SMALL["whisper"]),
                        "--mode", "graph", "--format", "json"], capture_output=True, text=True, env=env,
                       timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout)["inputs"] == [{"input_features": [1, 16, 64]}, {"decoder_input_ids": [1, 32]}]


OWN = {
    "perceiver": {"num_latents": 8, "d_latents": 32, "d_model": 16, "num_blocks": 1, "num_self_attends_per_block": 1,
                  "num_self_attention_heads": 2, "num_cross_attention_heads": 1, "max_position_embeddings": 16},
    "decision_transformer": {"n_layer": 1, "hidden_size": 32, "n_head": 2, "n_positions": 30},
    "trajectory_transformer": {"n_layer": 1, "n_embd": 32, "n_head": 2, "block_size": 50},
    "retribert": {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                  "vocab_size": 100, "max_position_embeddings": 16, "projection_dim": 8},
}


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_EXTRA, reason="the torch-models extra is not installed: `make torch-models`")
@pytest.mark.parametrize("arch,inputs,module,macs", [
    # Perceiver: inputs (1, 16, d_model 16); the cross-attention key Linear(16 -> 16: its
    # qk_channels are the inputs' width, cross_attention_shape_for_attention "kv"), bias:
    # 16 rows * 16 * 16 + 16 * 16
    ("perceiver", [{"inputs": [1, 16, 16]}], "encoder.cross_attention.attention.self.key", 16 * 16 * 16 + 16 * 16),
    # Decision Transformer: 30 // 3 = 10 steps; embed_state Linear(17 -> 32), bias: 10 * 17 * 32 + 10 * 32
    ("decision_transformer", [{"states": [1, 10, 17]}, {"actions": [1, 10, 4]}, {"rewards": [1, 10, 1]},
                              {"returns_to_go": [1, 10, 1]}, {"timesteps": [1, 10]}], "embed_state",
     10 * 17 * 32 + 10 * 32),
    # Trajectory Transformer: 50 tokens (block_size); the key Linear(32 -> 32), bias: 50 * 32 * 32 + 50 * 32
    ("trajectory_transformer", [{"trajectories": [1, 50]}], "blocks.0.attn.key", 50 * 32 * 32 + 50 * 32),
    # RetriBERT: the query's pooled vector (1, 32) through project_query Linear(32 -> 8, no bias)
    ("retribert", [{"input_ids_query": [1, 16]}, {"input_ids_doc": [1, 16]}, {"attention_mask_query": [1, 16]},
                   {"attention_mask_doc": [1, 16]}], "project_query", 32 * 8),
])
def test_models_of_their_own_inputs_count_in_both_engines(arch, inputs, module, macs):
    """These four once stopped before counting ("takes 'states' as its main input, which flowflops
    cannot make", RetriBERT: "unexpected keyword argument 'input_ids'"): their inputs are made from
    their forward and config, and both engines count them alike."""
    from flowflops import torch_models as tm

    g = tm.profile(f"hf:{arch}", config=OWN[arch], mode="graph", verify=True)
    assert [{k: list(v) for k, v in i.items()} for i in g.to_dict()["inputs"]] == inputs
    assert g.by_module()[module].macs == macs
    assert g.verification is not None and g.verification.agree, g.verification.to_text()
    assert g.unsupported == {}
