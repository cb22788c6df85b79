"""torch's own FlopCounterMode, forward and backward (``model(x).sum().backward()``), on torchvision's
resnet18, mobilenet_v2 and densenet121 (random weights, train mode, input (1, 3, 64, 64) not requiring
grad). Run in a PyTorch environment (the project's is /work/peers-venv), from the repository root::

    /work/peers-venv/bin/python benchmarks/peer_flop_counter_backward_zoo.py \
        > tests/peers/golden/flop_counter_backward_zoo.json

The JSON holds the tool, its version, the date and, per model, ``get_flop_counts()`` with ``str(op)`` keys;
tests/peers/test_flop_counter_backward.py compares flowvision's twins with it."""
import datetime
import json

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

MODELS = ("resnet18", "mobilenet_v2", "densenet121")


def main() -> None:
    out = {"tool": "torch.utils.flop_counter.FlopCounterMode", "version": torch.__version__,
           "torchvision": torchvision.__version__,
           "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
           "input": [1, 3, 64, 64], "counts": {}}
    for name in MODELS:
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)()
        with FlopCounterMode(display=False) as fc:
            model(torch.randn(1, 3, 64, 64)).sum().backward()
        out["counts"][name] = {k: {str(op): n for op, n in v.items()} for k, v in fc.get_flop_counts().items()}
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
