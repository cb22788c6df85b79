"""The article's BasicBlock, counted in both modes with per-layer statistics.

Eager sees the layers defined in __init__ (93,847,552 MACs); graph mode also sees the residual
add written in forward, an add_n of two (1, 64, 64, 64) tensors: 262,144 MACs more.
"""
import oneflow as flow
import oneflow.nn as nn

from flowflops import get_model_complexity_info


class BasicBlock(nn.Module):
    def __init__(self, inplanes: int = 32, planes: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=1, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.downsample = None
        self.fc = nn.Linear(planes, planes)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out += flow.cat([identity, identity], dim=1)
        out = self.relu(out)
        return self.fc(out)


if __name__ == "__main__":
    model = BasicBlock()
    for mode in ("eager", "graph"):
        print(f"====== {mode} ======")
        macs, params = get_model_complexity_info(model, (1, 32, 64, 64), mode=mode, as_strings=False)
        print(macs, params)
