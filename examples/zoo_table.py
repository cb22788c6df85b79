"""The article's model table with prettytable: params and MACs per mode."""
import flowvision.models as models
from prettytable import PrettyTable

from flowflops import get_model_complexity_info

NAMES = ["alexnet", "resnet18", "resnet50", "mobilenet_v2", "vit_tiny_patch16_224"]

for mode in ("eager", "graph"):
    table = PrettyTable(["Model", "Params", "FLOPs"])
    for name in NAMES:
        side = 227 if name == "alexnet" else 224
        macs, params = get_model_complexity_info(getattr(models, name)(), (1, 3, side, side),
                                                 print_per_layer_stat=False, mode=mode)
        table.add_row([name, params, macs])
    print(f"====== {mode} ======")
    print(table)
