"""Two more small models written once for torch and OneFlow, for fvcore's printouts
(tests/peers/test_fvcore_print.py): ``Nested`` has a chain of single children (merged into one
table row), a module that never runs (an empty flops cell, ``N/A`` in flop_count_str) and
modules with no parameters; ``Tiny`` has only small integers in its table."""


def print_models(torch):
    nn = torch.nn

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(10, 10)
            self.fc2 = nn.Linear(10, 10)

        def forward(self, x):
            return self.fc1(self.fc2(x))

    class Nested(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Sequential(nn.Linear(10, 10)))
            self.inner = Inner()
            self.act = nn.ReLU()
            self.unused = nn.Linear(10, 3)
            self.head = nn.Linear(10, 1000)

        def forward(self, x):
            return self.head(self.act(self.inner(self.stem(x))))

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x)

    return {"nested": (Nested(), (1, 10)), "tiny": (Tiny(), (1, 3))}
