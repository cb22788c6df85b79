"""fvcore 0.1.5's own printouts of a few twins (tests/peers/twin_models.py,
tests/peers/fvcore_print_models.py), written as the golden files that
tests/peers/test_fvcore_print.py compares flowflops.fvcore's printouts with. Runs in the peers'
own environment, never the project's:

    /work/peers-venv/bin/python benchmarks/fvcore_printouts.py tests/peers/golden

Writes one file per (model, printout); each starts with a header line naming the tool, its
version and the date, then a line ``---``, then fvcore's text exactly as returned.
"""
import datetime
import importlib.metadata as md
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "peers"))
from fvcore_print_models import print_models  # noqa: E402
from twin_models import small_models  # noqa: E402

# (model, printout, keyword arguments)
CASES = [
    ("small_cnn", "flop_count_table", {}),
    ("small_cnn", "flop_count_table", {"max_depth": 1}),
    ("small_cnn", "flop_count_table", {"show_param_shapes": False}),
    ("small_cnn", "parameter_count_table", {}),
    ("small_cnn", "flop_count_str", {}),
    ("tiny_vit", "flop_count_table", {}),
    ("tiny_vit", "flop_count_table", {"max_depth": 5}),
    ("tiny_vit", "parameter_count_table", {"max_depth": 2}),
    ("tiny_vit", "parameter_count_table", {"max_depth": 4}),
    ("nested", "flop_count_table", {}),
    ("nested", "flop_count_str", {}),
    ("nested", "parameter_count_table", {}),
    ("tiny", "flop_count_table", {}),
    ("tiny", "parameter_count_table", {}),
    ("tiny", "flop_count_str", {}),
]


def file_name(model, printout, kwargs):
    extra = "".join(f"-{k}={v}" for k, v in sorted(kwargs.items()))
    return f"fvcore_{model}_{printout}{extra}.txt"


def main(out_dir):
    import torch  # the peers' environment only (the test imports CASES from here)
    from fvcore.nn import FlopCountAnalysis, flop_count_str, flop_count_table, parameter_count_table

    torch.manual_seed(0)
    models = dict(small_models(torch), **print_models(torch))
    head = (f"fvcore {md.version('fvcore')} (torch {torch.__version__}, tabulate {md.version('tabulate')}), "
            f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, eval mode, batch 1")
    os.makedirs(out_dir, exist_ok=True)
    for name, printout, kwargs in CASES:
        model, shape = models[name]
        model.eval()
        if printout == "parameter_count_table":
            text = parameter_count_table(model, **kwargs)
        else:
            analysis = FlopCountAnalysis(model, torch.randn(*shape))
            text = (flop_count_table if printout == "flop_count_table" else flop_count_str)(analysis, **kwargs)
        with open(os.path.join(out_dir, file_name(name, printout, kwargs)), "w") as f:
            f.write(head + "\n---\n" + text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/peers/golden")
