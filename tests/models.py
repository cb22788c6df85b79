"""Small models shared by the tests (``from models import BasicBlock``, or
``from tests.models import BasicBlock``)."""
import oneflow as flow
import oneflow.nn as nn


class BasicBlock(nn.Module):
    """The article's block: conv3x3 -> BN -> ReLU, plus ``cat([x, x])`` as the residual, ReLU,
    then a Linear over the last dimension. Input ``(1, 32, 64, 64)``."""

    def __init__(self, inplanes=32, planes=64):
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
