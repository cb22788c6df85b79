"""Small models shared by the tests (``from models import BasicBlock``, or
``from tests.models import BasicBlock``)."""
import oneflow as flow
import oneflow.nn as nn
import oneflow.nn.functional as F


class Fn(nn.Module):
    """A module whose forward is one function, ``fn(*args)``: the op under test runs outside any
    priced module (fvcore's MatmulNet, BMMNet, EinsumNet... are of this kind)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


class Adds(nn.Module):
    """``flow.add(x, x) + x``: two adds of ``x``'s size, one a function call (the one ptflops
    patches, as torch.add) and one the ``+`` operator (which it does not see)."""

    def forward(self, x):
        return flow.add(x, x) + x


class Unknown(nn.Module):
    """A leaf module with parameters and no formula (like flowvision's LinearLayer): ``x @ w`` with
    ``w`` of shape (8, 8), 64 parameters; counted as zero unless ``count_functional`` sees the
    matmul."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(flow.ones(8, 8))

    def forward(self, x):
        return flow.matmul(x, self.w)


class MatVecGelu(nn.Module):
    """``gelu(x @ ones(4, 2)) + 1``: functional calls only (no module of its own to hook)."""

    def forward(self, x):
        return F.gelu(x @ flow.ones(4, 2)) + 1


def small_train_model() -> nn.Module:
    """Linear(4, 4), BatchNorm1d(4), Dropout(0.5) and :class:`MatVecGelu`, in train mode: the
    state a count must put back (BatchNorm statistics, training flags) on a (2, 4) input."""
    return nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), MatVecGelu()).train()


class Block(nn.Module):
    """A block of ``Linear(8, 8)`` then ReLU: on a (4, 8) input 4*8*8 = 256 MACs + 32 bias adds + 32 ReLU
    = 320; several in a row are the repeated blocks of the roll-up and fold tests."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


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


#: The model zoo: the article's 12 flowvision models and five modern ones.
ZOO = ["alexnet", "vgg11", "vgg11_bn", "squeezenet1_0", "squeezenet1_1", "resnet18", "resnet50",
       "resnext50_32x4d", "shufflenet_v2_x0_5", "regnet_x_16gf", "efficientnet_b0", "densenet121",
       "mobilenet_v2", "mobilenet_v3_large", "vit_tiny_patch16_224", "swin_tiny_patch4_window7_224",
       "convnext_tiny_224"]


def zoo_input(name: str) -> tuple:
    """The article's input: (1, 3, 224, 224); alexnet at 227 as in the original's script."""
    side = 227 if name == "alexnet" else 224
    return (1, 3, side, side)


class ModelGraph(flow.nn.Graph):
    """A plain graph whose ``build`` is the model's forward (one that can also be run, unlike
    the graphs flowflops compiles for a count, which stop after the compile passes)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def build(self, *args, **kwargs):
        return self.model(*args, **kwargs)


class TrainGraph(flow.nn.Graph):
    """A user's training graph: the loss is the sum of ``model``'s output, then backward and
    ``optimizer``'s step (one that can be run, as :class:`ModelGraph`)."""

    def __init__(self, model, optimizer, lr_sch=None):
        super().__init__()
        self.model = model
        self.add_optimizer(optimizer, lr_sch=lr_sch)

    def build(self, x):
        loss = self.model(x).sum()
        loss.backward()
        return loss


def buggy_factory(width: int = 4):
    """A model factory with a bug inside it (a TypeError of its own, not of its arguments)."""
    return nn.Linear(width, "four")
