"""Small models written once for both PyTorch and OneFlow: ``small_models(torch)`` builds them
with whichever of ``torch`` / ``oneflow`` it is given (the same code, the import swapped), so a
peer's count in PyTorch (benchmarks/peer_twins.py) and flowflops' count of the OneFlow twin
(tests/peers/test_twins.py) are of the same model. Shapes include the batch (1)."""


def small_models(torch):
    nn = torch.nn
    F = torch.nn.functional

    class ConvReLU(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, padding=1)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.conv(x))

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
            self.act2 = nn.ELU()
            self.avg = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.pool(self.relu(self.bn1(self.conv1(x))))
            x = self.act2(self.conv2(x))
            return self.fc(torch.flatten(self.avg(x), 1))

    class MLPBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(32)
            self.fc1 = nn.Linear(32, 64)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(64, 32)
            self.softmax = nn.Softmax(dim=-1)

        def forward(self, x):
            y = self.fc2(self.act(self.fc1(self.norm(x))))
            return self.softmax(x + y)

    class UpNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.prelu = nn.PReLU()
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.gn = nn.GroupNorm(2, 4)

        def forward(self, x):
            return self.gn(self.up(self.prelu(self.conv(x))))

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x):
            x = F.relu(self.conv(x))
            x = F.max_pool2d(x, 2)
            return torch.matmul(x, x.transpose(-1, -2))

    return {
        "conv_relu": (ConvReLU(), (1, 3, 32, 32)),
        "small_cnn": (SmallCNN(), (1, 3, 32, 32)),
        "mlp_block": (MLPBlock(), (1, 16, 32)),
        "upnet": (UpNet(), (1, 4, 8, 8)),
        "functional": (Functional(), (1, 3, 18, 18)),
    }
