"""torch's own FlopCounterMode on the PyTorch twins of tests/peers/backward_twins.py, forward and
backward (``loss = model(x).sum(); loss.backward()``), with the input requiring grad or not.
Run in a PyTorch environment (the project's is /work/peers-venv), from the repository root::

    /work/peers-venv/bin/python benchmarks/peer_flop_counter_backward.py

Prints ``{(case, input requires grad) or scenario: get_flop_counts() with str(op) keys}`` and the tool's version."""
import datetime
import os
import pprint
import sys

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "peers"))
from backward_twins import CASES, backward_models, scenarios  # noqa: E402


def main() -> None:
    torch.manual_seed(0)
    makers = backward_models(torch)
    out = {}
    for case, name, kw, shape in CASES:
        for req in (False, True):
            model = makers[name](**kw)
            x = torch.randn(*shape, requires_grad=req)
            with FlopCounterMode(display=False) as fc:
                loss = model(x).sum()
                loss.backward()
            out[(case, req)] = {m: {str(op): n for op, n in ops.items()} for m, ops in fc.get_flop_counts().items()}
    for name, body in scenarios(torch, FlopCounterMode).items():
        fc = body()
        out[name] = {m: {str(op): n for op, n in ops.items()} for m, ops in fc.get_flop_counts().items()}
    torch.manual_seed(0)
    model = makers["ConvNet"](bias=True)
    with FlopCounterMode(display=False, depth=2) as fc:
        model(torch.randn(2, 3, 8, 8)).sum().backward()
    print("# the table of ('convnet', False), depth 2:")
    print(fc.get_table())
    print(f"# torch {torch.__version__}, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    pprint.pprint(out, sort_dicts=False, width=120)


if __name__ == "__main__":
    main()
