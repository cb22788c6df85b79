"""PyTorch-ecosystem models (timm, Hugging Face transformers) built on OneFlow through
``oneflow.mock_torch`` and counted by flowflops, without PyTorch installed.

    import flowflops
    report = flowflops.torch_models.profile("timm:resnet50", mode="graph")
    report = flowflops.torch_models.profile("hf:gpt2", (1, 64), config={"n_layer": 2})

or, with your own code::

    with flowflops.torch_models.mocked_torch():
        import timm
        model = timm.create_model("convnext_tiny")
        report = flowflops.profile(model, (1, 3, 224, 224), mode="graph")

Build and count inside the block (the packages imported there leave ``sys.modules`` at its
end). The optional extra: ``pip install "flowflops[torch-models]"`` (transformers 4.26.1)
then ``pip install --no-deps timm==0.6.12`` (timm declares a ``torch`` requirement that pip
would satisfy with real PyTorch). Pins: transformers 4.26.1 and timm 0.6.12 are the versions
these shims were made and tested against on oneflow 0.9.0.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from .shims import MOCKED_TORCH_VERSION, mocked_torch
from .zoo import DEFAULT_SEQ_LEN, TorchModel, build, is_torch_model_name

__all__ = ["mocked_torch", "build", "profile", "is_torch_model_name", "TorchModel",
           "MOCKED_TORCH_VERSION", "DEFAULT_SEQ_LEN"]


def profile(name: str, input_res: Optional[Sequence[int]] = None, *,
            config: Optional[Dict[str, Any]] = None, **kwargs: Any) -> Any:
    """Build ``name`` (``timm:...``/``hf:...``, random weights) and count it with
    :func:`flowflops.profile` (``kwargs`` as there: ``mode``, ``backend_specific_config``...),
    on ``input_res`` or the model's default input."""
    from ..api import profile as _profile

    with mocked_torch():
        built = build(name, config)
        res = tuple(input_res) if input_res is not None else built.default_input_res
        return _profile(built.model, res, input_constructor=built.input_constructor, **kwargs)
