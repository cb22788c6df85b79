"""Model names of the PyTorch ecosystem: ``timm:<name>`` (``timm.create_model``) and
``hf:<model_type>`` (a Hugging Face ``transformers`` architecture built from its config),
always with random weights: nothing is downloaded. Call :func:`build` inside
:func:`flowflops.torch_models.mocked_torch`."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from ..errors import CountError
from .hf_inputs import DEFAULT_SEQ_LEN, hf_inputs, positive_limit  # noqa: F401 (re-exported)

__all__ = ["PREFIXES", "TorchModel", "is_torch_model_name", "build_error", "check_config_sizes", "build",
           "DEFAULT_SEQ_LEN", "hf_inputs", "positive_limit"]

PREFIXES = ("timm:", "hf:")


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
        if any(f"'{key}'" in str(err) for key in config):  # a keyword of the user's the model refuses
            raise ValueError(f"cannot build timm:{name} with config {config}: {err}") from err
        raise build_error(f"timm:{name}", config, err) from err
    except (ValueError, RuntimeError, AssertionError, AttributeError, NotImplementedError) as err:
        raise build_error(f"timm:{name}", config, err) from err
    size = tuple(model.default_cfg.get("input_size", (3, 224, 224)))
    return TorchModel(model, None, (1,) + size)


def build_error(name: str, config: Dict[str, Any], err: BaseException) -> CountError:
    """A model that does not build, told by its real cause: transformers' "Failed to import
    ... (look up to see its traceback)" by the import error under it; a failure in the
    library's own code (``torch.unique(..., dim=0)``, which OneFlow 0.9's ``unique`` does not
    take) by the line that made it and OneFlow, not the config, as the reason."""
    from ..runtime.advice import model_frame

    cause = err
    while "look up to see its traceback" in str(cause) and cause.__cause__ is not None:
        cause = cause.__cause__
    first = next((line.strip() for line in str(cause).splitlines() if line.strip()), "")
    first = re.sub(r",? please submit an issue.*$", "", first)  # OneFlow's NotImplementedError
    frame = model_frame(cause)
    at = f" (at {frame})" if frame else ""
    if cause is not err:  # transformers could not import the model's module
        module = re.search(r"import (\S+) because", str(err))
        return CountError(f"{name} does not build on OneFlow 0.9: transformers cannot import "
                          f"{module.group(1) if module else 'its module'} under oneflow.mock_torch: "
                          f"{type(cause).__name__}: {first}{at}")
    given = f"with config {config}" if config else "with its default config"
    return CountError(f"{name} does not build on OneFlow 0.9 {given}: {type(cause).__name__}: {first}{at}"
                      + ("" if config else "; its config is not the cause: the model's code needs "
                         "something OneFlow 0.9 does not do"))


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


def _model_class(model_type: str, cfg: Any) -> Any:
    """The base model class of ``model_type``: ``AutoModel``'s, or where transformers maps the
    type to several (Funnel: the full model and its base) and the config names no architecture,
    the first (``AutoModel.from_config`` then iterates over ``config.architectures``, None)."""
    from transformers import AutoModel
    from transformers.models.auto.modeling_auto import MODEL_MAPPING

    if type(cfg) not in MODEL_MAPPING:  # AutoModel.from_config says it has no base model
        return AutoModel
    classes = MODEL_MAPPING[type(cfg)]
    if isinstance(classes, (list, tuple)):
        named = {c.__name__: c for c in classes}
        return next((named[a] for a in (cfg.architectures or []) if a in named), classes[0])
    return classes


def _hf(model_type: str, config: Dict[str, Any]) -> TorchModel:
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
    # DETR's timm backbone: random weights too, nothing downloaded
    no_download = {"use_pretrained_backbone": False} if defaults.get("use_pretrained_backbone") else {}
    cfg = cfg_class(**{**no_download, **config})
    try:
        cls = _model_class(model_type, cfg)
        model = cls.from_config(cfg) if cls.__name__ == "AutoModel" else cls._from_config(cfg)
    except (TypeError, ValueError, RuntimeError, AssertionError, AttributeError, NotImplementedError) as err:
        raise build_error(f"hf:{model_type}", config, err) from err
    make, res = hf_inputs(model)
    return TorchModel(model, make, res)


def build(name: str, config: Optional[Dict[str, Any]] = None) -> TorchModel:
    """``timm:resnet50`` or ``hf:gpt2`` (with ``config`` the timm ``create_model`` keywords or
    the Hugging Face config fields), random weights. Inputs: timm's images ``(1, C, H, W)``;
    a Hugging Face model's from its own ``main_input_name``, ``forward`` and config
    (:mod:`flowflops.torch_models.hf_inputs`: token ids, pixels, waveform or audio features,
    decoder ids for an encoder-decoder, every modality of a multimodal model)."""
    config = dict(config or {})
    if name.startswith("timm:"):
        return _timm(name[len("timm:"):], config)
    if name.startswith("hf:"):
        return _hf(name[len("hf:"):], config)
    raise ValueError(f"not a PyTorch-ecosystem model name: {name!r} (give timm:<name> or hf:<model_type>)")
