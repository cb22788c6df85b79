"""The inputs of a Hugging Face model, made from the model itself: its ``main_input_name``, the
other modalities its ``forward`` takes, and sizes from its config.

- ``input_ids``: token id 1 (in every vocabulary), ``(1, L)`` with ``L`` the smaller of
  :data:`DEFAULT_SEQ_LEN` and the config's position limit (``max_position_embeddings``; XLNet's
  -1 means no limit);
- ``pixel_values``: ones, ``(1, C, H, W)`` from ``num_channels`` and ``image_size`` (224 where the
  config has none); video models (``num_frames``) ``(1, T, C, H, W)``;
- ``input_values``: a raw waveform of one second at 16 kHz, ``(1, 16000)``; the Audio
  Spectrogram Transformer takes a spectrogram ``(1, max_length, num_mel_bins)``;
- ``input_features``: Whisper's log-mel frames ``(1, num_mel_bins, 2 * max_source_positions)``
  (its encoder adds exactly that many positions); Speech2Text and M-CTC-T frames
  ``(1, 128, input_feat_per_channel * input_channels)``;
- an encoder-decoder (``is_encoder_decoder``) also gets ``decoder_input_ids``: the same ids as
  its text input, or for a speech/vision encoder ``(1, L)`` under the decoder's limit;
- a multimodal model (CLIP, BLIP, FLAVA, ...) gets every modality its ``forward`` takes, each
  sized from its own sub-config (``text_config``, ``vision_config``); LXMERT gets its region
  features ``visual_feats`` ``(1, 36, visual_feat_dim)`` and boxes ``visual_pos``
  ``(1, 36, visual_pos_dim)`` (ones; 36 regions, as it was trained).

``input_res`` (``--input-shape``) is the main input's shape, batch included; the other inputs
take their default sizes with its batch. Sizes that come from the config are checked to be
positive first (OneFlow 0.9 takes a negative size and aborts the process).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Optional, Tuple

import oneflow as flow

__all__ = ["DEFAULT_SEQ_LEN", "AUDIO_SAMPLES", "FEATURE_FRAMES", "MODALITIES", "positive_limit", "input_names",
    "hf_inputs"
]

#: the sequence length of a Hugging Face text model's default input, ``(1, DEFAULT_SEQ_LEN)``
DEFAULT_SEQ_LEN = 128
#: samples of a raw waveform: one second at 16 kHz
AUDIO_SAMPLES = 16000
#: frames of Speech2Text / M-CTC-T filter-bank features
FEATURE_FRAMES = 128
#: the inputs flowflops can make, in the order they are passed
MODALITIES = ("input_ids", "pixel_values", "input_values", "input_features")
#: main inputs of one model family each (see the module docstring)
OWN_MAIN = ("inputs", "trajectories", "states")
#: the Decision Transformer's inputs beside ``states``, one row per time step: input -> the config
#: field of its width, or a fixed width (``None``: ids, no width)
STEP_INPUTS: Dict[str, Any] = {"actions": "act_dim", "rewards": 1, "returns_to_go": 1, "timesteps": None}
#: the inputs made as int64 ids (the rest are float32)
ID_INPUTS = ("input_ids", "trajectories", "timesteps")
#: region features a model's forward requires beside its text (LXMERT): input -> the config
#: field of its width; ``VISUAL_REGIONS`` regions, the number LXMERT was trained with
REGION_INPUTS = {"visual_feats": "visual_feat_dim", "visual_pos": "visual_pos_dim"}
VISUAL_REGIONS = 36


def positive_limit(value: Any) -> Optional[int]:
    """A config's length limit as an int, or ``None`` where the config sets none (XLNet's
    ``max_position_embeddings`` is -1: no limit)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _checked(shape: Any) -> Tuple[int, ...]:
    from ..runtime.inputs import check_input_res

    return check_input_res(shape)


def _field(cfg: Any, name: str, field: str, value: Any) -> int:
    """``value`` of ``cfg.<field>`` as a positive int, or a ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{type(cfg).__name__} field {field!r} is {value!r}, which would make the "
                         f"{name} input an impossible size: give a positive int")
    return value


def _sub(cfg: Any, *names: str) -> Any:
    """The first of ``cfg``'s sub-configs ``names`` it has (``vision_config``...), else ``cfg``."""
    for n in names:
        sub = getattr(cfg, n, None)
        if sub is not None and not isinstance(sub, dict):
            return sub
    return cfg


def _text_len(cfg: Any) -> int:
    text = _sub(cfg, "text_config")
    limit = positive_limit(getattr(text, "max_position_embeddings", None))
    return min(DEFAULT_SEQ_LEN, limit) if limit else DEFAULT_SEQ_LEN


def _vision(cfg: Any) -> Any:
    """The config that sizes ``pixel_values``: a multimodal model's ``vision_config``; else the
    model's own config where it has an ``image_size`` (ViT-hybrid: its ``backbone_config``'s
    224 is the backbone's default, not the image the model takes); else its backbone's."""
    vision = _sub(cfg, "vision_config")
    if vision is not cfg or getattr(cfg, "image_size", None) is not None:
        return vision
    return _sub(cfg, "backbone_config")


def _image_shape(cfg: Any) -> Tuple[int, ...]:
    vision = _vision(cfg)
    channels = _field(vision, "pixel_values", "num_channels", getattr(vision, "num_channels", 3))
    size = getattr(vision, "image_size", None) or 224
    h, w = (size, size) if isinstance(size, int) else tuple(size)[:2]
    h = _field(vision, "pixel_values", "image_size", h)
    w = _field(vision, "pixel_values", "image_size", w)
    frames = getattr(vision, "num_frames", None)
    if frames is not None:
        return (_field(vision, "pixel_values", "num_frames", frames), channels, h, w)
    return (channels, h, w)


def _audio_shape(cfg: Any) -> Tuple[int, ...]:
    if hasattr(cfg, "num_mel_bins") and hasattr(cfg, "max_length"):  # a spectrogram (AST)
        return (_field(cfg, "input_values", "max_length", cfg.max_length),
                _field(cfg, "input_values", "num_mel_bins", cfg.num_mel_bins))
    return (AUDIO_SAMPLES,)


def _features_shape(cfg: Any) -> Tuple[int, ...]:
    if hasattr(cfg, "num_mel_bins") and hasattr(cfg, "max_source_positions"):  # Whisper
        return (_field(cfg, "input_features", "num_mel_bins", cfg.num_mel_bins),
                2 * _field(cfg, "input_features", "max_source_positions", cfg.max_source_positions))
    per_channel = getattr(cfg, "input_feat_per_channel", None)
    if per_channel is not None:
        channels = _field(cfg, "input_features", "input_channels", getattr(cfg, "input_channels", 1))
        return (FEATURE_FRAMES, _field(cfg, "input_features", "input_feat_per_channel", per_channel) * channels)
    raise ValueError(f"{type(cfg).__name__} gives no size for input_features")


def _under(cfg: Any, name: str, field: str, per: int = 1) -> int:
    """:data:`DEFAULT_SEQ_LEN`, or fewer where ``per`` times it would pass the config's ``field``."""
    limit = positive_limit(getattr(cfg, field, None))
    if limit is None:
        return DEFAULT_SEQ_LEN
    return _field(cfg, name, field, min(DEFAULT_SEQ_LEN, limit // per))


def _default_shape(name: str, cfg: Any) -> Tuple[int, ...]:
    """The shape of input ``name``, without the batch."""
    if name == "input_ids":
        return (_text_len(cfg),)
    if name == "inputs":  # Perceiver without a preprocessor: embedded already
        return (_text_len(cfg), _field(cfg, name, "d_model", getattr(cfg, "d_model", None)))
    if name == "trajectories":
        return (_under(cfg, name, "block_size"),)
    if name == "states":  # 3 tokens a step (return, state, action) under the positions
        return (_under(cfg, name, "n_positions", 3), _field(cfg, name, "state_dim", getattr(cfg, "state_dim", None)))
    if name == "pixel_values":
        return _image_shape(cfg)
    if name == "input_values":
        return _audio_shape(cfg)
    return _features_shape(cfg)


def _decoder_len(cfg: Any, main: str) -> Optional[int]:
    """The length of ``decoder_input_ids`` for an encoder-decoder whose encoder does not take
    token ids (``None``: the decoder gets the encoder's ids)."""
    if main == "input_ids":
        return None
    dec = _sub(cfg, "decoder")
    limit = positive_limit(getattr(dec, "max_target_positions", None)) or positive_limit(
        getattr(dec, "max_position_embeddings", None))
    return min(DEFAULT_SEQ_LEN, limit) if limit else DEFAULT_SEQ_LEN


def input_names(model: Any) -> Tuple[str, List[str], bool]:
    """``(main input, every input flowflops makes, decoder ids too)`` of a Hugging Face model;
    ValueError when its main input is not one flowflops can make."""
    main = getattr(model, "main_input_name", "input_ids")
    if isinstance(main, (list, tuple)):
        main = main[0]
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if main not in MODALITIES + OWN_MAIN:
        raise ValueError(
            f"{type(model).__name__} takes {main!r} as its main input, which flowflops cannot make "
            "from the config: count it with flowflops.profile(model, input_constructor=...) "
            "giving that input")
    names = [main] + [n for n in MODALITIES if n != main and n in params]
    if main == "input_ids" and params and "input_ids" not in params:  # several texts (RetriBERT)
        texts = [n for n in params if n.startswith("input_ids_")]
        if texts:
            names = texts + [n for n in MODALITIES if n != main and n in params]
            main = texts[0]
    decoder = "decoder_input_ids" in params and bool(getattr(model.config, "is_encoder_decoder", False))
    return main, names, decoder


def hf_inputs(model: Any) -> Tuple[Callable[[Any], Dict[str, Any]], Tuple[int, ...]]:
    """``(input_constructor, default input_res)`` of a Hugging Face model (see the module
    docstring); ``input_res`` is the main input's shape."""
    cfg = model.config
    main, names, decoder = input_names(model)
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    texts = [n for n in names if n.startswith("input_ids_")]
    shapes = {n: _default_shape("input_ids" if n in texts else n, cfg) for n in names}
    like_main = set(texts)  # the shape of the main input, whatever --input-shape makes it
    for t in texts:  # RetriBERT: each text's mask, a required argument
        mask = "attention_mask_" + t[len("input_ids_"):]
        if mask in params:
            names.append(mask)
            like_main.add(mask)
    steps: Dict[str, Tuple[int, ...]] = {}  # per time step of the main input (Decision Transformer)
    if main == "states":
        for n, width in STEP_INPUTS.items():
            if n in params:
                steps[n] = () if width is None else (
                    _field(cfg, n, width, getattr(cfg, width, None)) if isinstance(width, str) else width,)
    for n, width in REGION_INPUTS.items():
        if n in params and hasattr(cfg, width):
            names.append(n)
            shapes[n] = (VISUAL_REGIONS, _field(cfg, n, width, getattr(cfg, width)))
    dec_len = _decoder_len(cfg, main) if decoder else None

    def make(res: Any) -> Dict[str, Any]:
        shape = _checked(res)
        batch = shape[0]
        if steps and len(shape) < 2:
            raise ValueError(f"the {main} input needs a shape (batch, steps, ...), not {shape}")
        out: Dict[str, Any] = {}
        for n in names:
            s = shape if n == main or n in like_main else (batch,) + shapes[n]
            ids = n in ID_INPUTS or n in like_main
            out[n] = flow.ones(*s, dtype=flow.int64 if ids else flow.float32)
        for n, width in steps.items():
            out[n] = flow.ones(*shape[:2], *width, dtype=flow.int64 if n in ID_INPUTS else flow.float32)
        if decoder:
            out["decoder_input_ids"] = (out["input_ids"] if dec_len is None
                                        else flow.ones(batch, dec_len, dtype=flow.int64))
        return out

    return make, (1,) + shapes[main]
