"""A drop-in for ptflops 0.7.5 (``from ptflops import get_model_complexity_info``)::

    from flowflops.ptflops import get_model_complexity_info
    macs, params = get_model_complexity_info(model, (3, 224, 224), as_strings=True,
                                             print_per_layer_stat=True, verbose=True)

Code written for ptflops runs unchanged after the import swap (and ``torch`` -> ``oneflow``):
``input_res`` has no batch dimension (a batch of 1 is prepended), both backends
(``FLOPS_BACKEND.PYTORCH``, the default, and ``FLOPS_BACKEND.ATEN``), ptflops' ``verbose`` and
per-layer printout, and on a model failure ptflops' behaviour (the traceback printed,
``(None, None)`` returned). See :mod:`flowflops.ptflops.flops_counter` for what differs.
``flowflops.get_model_complexity_info`` is the seed article's API (batch included).
"""
from .flops_counter import FLOPS_BACKEND, get_model_complexity_info
from .utils import flops_to_string, params_to_string

__all__ = ["get_model_complexity_info", "FLOPS_BACKEND", "flops_to_string", "params_to_string"]
