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

    class Attention(nn.Module):
        def __init__(self, dim, heads):
            super().__init__()
            self.heads = heads
            self.scale = (dim // heads) ** -0.5
            self.qkv = nn.Linear(dim, dim * 3)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            b, n, c = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))

    class Block(nn.Module):
        def __init__(self, dim, heads):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim)
            self.attn = Attention(dim, heads)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class TinyViT(nn.Module):
        """A ViT in miniature (patch embedding, position embedding, 2 pre-norm blocks with
        explicit-matmul attention, mean pooling, head): the vit twin, written once for both."""

        def __init__(self, dim=32, heads=2, depth=2, classes=10):
            super().__init__()
            self.patch = nn.Conv2d(3, dim, 4, stride=4)
            self.pos = nn.Parameter(torch.zeros(1, 64, dim))
            self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            x = self.patch(x).flatten(2).transpose(1, 2) + self.pos
            return self.head(self.norm(self.blocks(x)).mean(1))

    class SwinBlock(nn.Module):
        def __init__(self, dim, heads, window, shift):
            super().__init__()
            self.window, self.shift = window, shift
            self.norm1 = nn.LayerNorm(dim)
            self.attn = Attention(dim, heads)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

        def forward(self, x):  # (B, H, W, C)
            b, h, w, c = x.shape
            s, k = self.shift, self.window
            y = torch.roll(self.norm1(x), shifts=(-s, -s), dims=(1, 2)) if s else self.norm1(x)
            y = y.reshape(b, h // k, k, w // k, k, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, k * k, c)
            y = self.attn(y).reshape(b, h // k, w // k, k, k, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
            x = x + (torch.roll(y, shifts=(s, s), dims=(1, 2)) if s else y)
            return x + self.mlp(self.norm2(x))

    class PatchMerging(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.norm = nn.LayerNorm(4 * dim)
            self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

        def forward(self, x):
            x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
            return self.reduction(self.norm(x))

    class TinySwin(nn.Module):
        """A Swin in miniature (patch embedding, a window block and a shifted-window block with
        torch.roll and window partitioning, patch merging, mean pool, head): the swin twin."""

        def __init__(self, dim=16, classes=10):
            super().__init__()
            self.patch = nn.Conv2d(3, dim, 4, stride=4)
            self.blocks = nn.Sequential(SwinBlock(dim, 2, 4, 0), SwinBlock(dim, 2, 4, 2))
            self.merge = PatchMerging(dim)
            self.norm = nn.LayerNorm(2 * dim)
            self.head = nn.Linear(2 * dim, classes)

        def forward(self, x):
            x = self.blocks(self.patch(x).permute(0, 2, 3, 1))
            return self.head(self.norm(self.merge(x)).mean((1, 2)))

    return {
        "tiny_swin": (TinySwin(), (1, 3, 32, 32)),
        "tiny_vit": (TinyViT(), (1, 3, 32, 32)),
        "conv_relu": (ConvReLU(), (1, 3, 32, 32)),
        "small_cnn": (SmallCNN(), (1, 3, 32, 32)),
        "mlp_block": (MLPBlock(), (1, 16, 32)),
        "upnet": (UpNet(), (1, 4, 8, 8)),
        "functional": (Functional(), (1, 3, 18, 18)),
    }
