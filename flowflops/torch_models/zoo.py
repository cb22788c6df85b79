"""Model names of the PyTorch ecosystem: ``timm:<name>`` (``timm.create_model``) and
``hf:<model_type>`` (a Hugging Face ``transformers`` architecture built from its config),
always with random weights: nothing is downloaded. Call :func:`build` inside
:func:`flowflops.torch_models.mocked_torch`."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import oneflow as flow

PREFIXES = ("timm:", "hf:")

#: the sequence length of a Hugging Face text model's default input, ``(1, DEFAULT_SEQ_LEN)``
DEFAULT_SEQ_LEN = 128


@dataclass
class TorchModel:
    """A built model, the input it expects and its default input shape (batch included)."""

    model: Any
    input_constructor: Optional[Callable[[Tuple[int, ...]], Any]]
    default_input_res: Tuple[int, ...]


def is_torch_model_name(name: str) -> bool:
    """True for ``timm:...`` and ``hf:...`` names."""
    return isinstance(name, str) and name.startswith(PREFIXES)


def _close(name: str, known: Any) -> str:
    near = difflib.get_close_matches(name, list(known), n=3)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def _timm(name: str, config: Dict[str, Any]) -> TorchModel:
    import timm

    if config.get("pretrained"):
        raise ValueError(f"timm:{name} with pretrained weights needs a download: flowflops builds "
                         "models with random weights; drop 'pretrained'")
    if not timm.is_model(name):
        raise ValueError(f"unknown timm model {name!r}{_close(name, timm.list_models())}: "
                         "see timm.list_models()")
    try:
        model = timm.create_model(name, pretrained=False, **config)
    except TypeError as err:
        raise ValueError(f"cannot build timm:{name} with config {config}: {err}") from err
    size = tuple(model.default_cfg.get("input_size", (3, 224, 224)))
    return TorchModel(model, None, (1,) + size)


def check_config_sizes(cls_name: str, defaults: Dict[str, Any], config: Dict[str, Any]) -> None:
    """Refuse a negative number for a config field whose default is a size (a non-negative
    int): OneFlow 0.9 takes a negative size without a word and aborts the process when a
    kernel meets it (``flow.ones(1, -1)``)."""
    for key, value in config.items():
        default = defaults.get(key)
        sized = isinstance(default, int) and not isinstance(default, bool) and default >= 0
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if sized and number and value < 0:
            raise ValueError(f"{cls_name} field {key!r} is {value}: a size cannot be negative "
                             f"(its default is {default}); give a positive number")


def positive_limit(value: Any) -> Optional[int]:
    """A config's length limit as an int, or ``None`` where the config sets none (XLNet's
    ``max_position_embeddings`` is -1: no limit)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _checked(shape: Any) -> Tuple[int, ...]:
    from ..runtime.inputs import check_input_res

    return check_input_res(shape)


def _hf_ids(shape: Tuple[int, ...], encoder_decoder: bool) -> Dict[str, Any]:
    ids = flow.ones(*_checked(shape), dtype=flow.int64)  # token id 1: in every vocabulary
    return {"input_ids": ids, "decoder_input_ids": ids} if encoder_decoder else {"input_ids": ids}


def _hf(model_type: str, config: Dict[str, Any]) -> TorchModel:
    from transformers import AutoModel
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if model_type not in CONFIG_MAPPING:
        hub = "/" in model_type or "-" in model_type
        why = (" looks like a checkpoint on the Hugging Face hub, which would need a download: give "
               "the architecture's model type instead (e.g. hf:bert) and its sizes with --config"
               if hub else "")
        raise ValueError(f"unknown Hugging Face model type {model_type!r}{why}"
                         f"{'' if hub else _close(model_type, CONFIG_MAPPING.keys())}")
    cfg_class = CONFIG_MAPPING[model_type]
    defaults = cfg_class().to_dict()
    known = set(defaults)
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"{cfg_class.__name__} has no field {unknown[0]!r}"
                         f"{_close(unknown[0], known)}")
    check_config_sizes(cfg_class.__name__, defaults, config)
    cfg = cfg_class(**config)
    model = AutoModel.from_config(cfg)
    if hasattr(cfg, "image_size") and hasattr(cfg, "num_channels"):
        size = cfg.image_size if isinstance(cfg.image_size, int) else cfg.image_size[0]
        return TorchModel(model, lambda r: {"pixel_values": flow.ones(*_checked(r))},
                          (1, cfg.num_channels, size, size))
    encoder_decoder = bool(getattr(cfg, "is_encoder_decoder", False))
    seq = min(DEFAULT_SEQ_LEN, positive_limit(getattr(cfg, "max_position_embeddings", None)) or DEFAULT_SEQ_LEN)
    return TorchModel(model, lambda r: _hf_ids(tuple(r), encoder_decoder), (1, seq))


def build(name: str, config: Optional[Dict[str, Any]] = None) -> TorchModel:
    """``timm:resnet50`` or ``hf:gpt2`` (with ``config`` the timm ``create_model`` keywords or
    the Hugging Face config fields), random weights. Inputs: images ``(1, C, H, W)`` (timm, HF
    vision models), token ids of ones ``(1, 128)`` (HF text models; encoder-decoders get the
    same ids as decoder input)."""
    config = dict(config or {})
    if name.startswith("timm:"):
        return _timm(name[len("timm:"):], config)
    if name.startswith("hf:"):
        return _hf(name[len("hf:"):], config)
    raise ValueError(f"not a PyTorch-ecosystem model name: {name!r} (give timm:<name> or hf:<model_type>)")
