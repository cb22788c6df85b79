"""Models for FlopCounterMode's forward + backward count, written once for PyTorch and OneFlow:
``backward_models(torch)`` builds them with whichever of ``torch`` / ``oneflow`` it is given (the
same code, the import swapped). ``CASES``: (case name, model name, its constructor's keywords, input
shape). benchmarks/peer_flop_counter_backward.py counts the PyTorch twins with torch's own
FlopCounterMode; tests/peers/test_flop_counter_backward.py keeps those counts as data."""

CASES = [
    ("linear", "Linear", {"bias": True}, (4, 16)),
    ("linear_nobias", "Linear", {"bias": False}, (4, 16)),
    ("linear_3d", "Linear", {"bias": True}, (2, 5, 16)),
    ("conv", "Conv2d", {"bias": True}, (2, 3, 8, 8)),
    ("conv_nobias", "Conv2d", {"bias": False}, (2, 3, 8, 8)),
    ("mlp", "MLP", {"bias": True}, (4, 16)),
    ("mlp_nobias", "MLP", {"bias": False}, (4, 16)),
    ("convnet", "ConvNet", {"bias": True}, (2, 3, 8, 8)),
    ("convnet_nobias", "ConvNet", {"bias": False}, (2, 3, 8, 8)),
]


def backward_models(torch):
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self, bias=True):
            super().__init__()
            self.fc1 = nn.Linear(16, 32, bias=bias)
            self.act = nn.ReLU()
            self.fc2 = nn.Linear(32, 8, bias=bias)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    class ConvNet(nn.Module):
        """A convolution, a depthwise one (groups=8), a transposed one, a Linear head."""

        def __init__(self, bias=True):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=bias)
            self.relu = nn.ReLU()
            self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=bias)
            self.pool = nn.MaxPool2d(2)
            self.up = nn.ConvTranspose2d(8, 4, 2, stride=2, bias=bias)
            self.fc = nn.Linear(4 * 8 * 8, 10, bias=bias)

        def forward(self, x):
            x = self.pool(self.dw(self.relu(self.conv1(x))))
            return self.fc(torch.flatten(self.up(x), 1))

    return {
        "Linear": lambda bias: nn.Linear(16, 8, bias=bias),
        "Conv2d": lambda bias: nn.Conv2d(3, 8, 3, padding=1, bias=bias),
        "MLP": MLP,
        "ConvNet": ConvNet,
    }


def scenarios(torch, counter):
    """Bodies beyond ``model(x).sum().backward()``, written once for both: each builds its models,
    runs its body inside ``counter(display=False)`` and returns the counter."""
    nn = torch.nn
    make = backward_models(torch)

    class TwoInputs(nn.Module):
        """Two encoders of inputs that require no gradient, joined: torch's ModuleTracker never
        closes an encoder in the backward (no input gradient), so the encoder whose gradient runs
        first stays open over the other's."""

        def __init__(self):
            super().__init__()
            self.a = nn.Linear(16, 8)
            self.b = nn.Linear(16, 8)

        def forward(self, x, y):
            return torch.cat([self.a(x), self.b(y)], 1)

    def two_inputs():
        m = TwoInputs()
        with counter(display=False) as fc:
            m(torch.randn(4, 16), torch.randn(4, 16)).sum().backward()
        return fc

    def two_inputs_requiring_grad():
        m = TwoInputs()
        with counter(display=False) as fc:
            m(torch.randn(4, 16, requires_grad=True), torch.randn(4, 16, requires_grad=True)).sum().backward()
        return fc

    class Block(nn.Module):
        """A residual block whose shortcut convolution is called last, as torchvision's
        BasicBlock calls its downsample: torch's ModuleTracker keeps ``down`` open (its input's
        gradient is ready only after conv1's) over conv2's and conv1's gradients."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
            self.down = nn.Conv2d(8, 8, 1)

        def forward(self, x):
            out = self.conv2(self.relu(self.conv1(x)))
            return self.relu(out + self.down(x))

    class ResNetish(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.block = Block()
            self.head = nn.Linear(8 * 8 * 8, 10)

        def forward(self, x):
            return self.head(torch.flatten(self.block(self.stem(x)), 1))

    def resnet_block():
        m = ResNetish()
        with counter(display=False) as fc:
            m(torch.randn(2, 3, 8, 8)).sum().backward()
        return fc

    class Mix(nn.Module):
        """A Linear whose output goes through functional views and a product by a number
        before the next Linear: that Linear's input is made by functions, its window found by
        walking the autograd nodes back to the first Linear's output."""

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 16)
            self.proj = nn.Linear(16, 16)

        def forward(self, x):
            b, n, c = x.shape
            y = self.fc(x).reshape(b, n, 2, c // 2).permute(0, 2, 1, 3).transpose(2, 3)
            y = (y * 2).transpose(2, 3).permute(0, 2, 1, 3).reshape(b, n, c)
            return self.proj(y)

    class Viewed(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(8, 16)
            self.mix = Mix()

        def forward(self, x):
            return self.mix(self.stem(x))

    def through_views():
        m = Viewed()
        with counter(display=False) as fc:
            m(torch.randn(2, 4, 8)).sum().backward()
        return fc

    def called_twice():
        m = make["MLP"](bias=True)
        with counter(display=False) as fc:
            (m(torch.randn(4, 16)) + m(torch.randn(4, 16))).sum().backward()
        return fc

    def retained_twice():
        m = make["MLP"](bias=True)
        with counter(display=False) as fc:
            loss = m(torch.randn(4, 16)).sum()
            loss.backward(retain_graph=True)
            loss.backward()
        return fc

    def one_of_two_outputs():
        m1, m2 = make["MLP"](bias=True), make["Linear"](bias=False)
        with counter(display=False) as fc:
            y1, y2 = m1(torch.randn(4, 16)), m2(torch.randn(4, 16))
            y1.sum().backward()
        assert y2.requires_grad
        return fc

    def two_steps():
        m = make["ConvNet"](bias=True)
        with counter(display=False) as fc:
            for _ in range(2):
                m(torch.randn(2, 3, 8, 8)).sum().backward()
        return fc

    def no_grad_forward():
        m = make["MLP"](bias=True)
        with counter(display=False) as fc:
            with torch.no_grad():
                m(torch.randn(4, 16))
            m(torch.randn(4, 16)).sum().backward()
        return fc

    def frozen_weight():
        m = make["MLP"](bias=True)
        m.fc1.weight.requires_grad_(False)
        with counter(display=False) as fc:
            m(torch.randn(4, 16, requires_grad=True)).sum().backward()
        return fc

    def functional():
        w = torch.randn(16, 8, requires_grad=True)
        with counter(display=False) as fc:
            (torch.randn(4, 16) @ w).sum().backward()
        return fc

    return {f.__name__: f for f in (two_inputs, two_inputs_requiring_grad, resnet_block, through_views, called_twice,
                                    retained_twice, one_of_two_outputs, two_steps, no_grad_forward, frozen_weight,
                                    functional)}
