"""Every module type thop 0.1.1 registers (thop/profile.py:21-66), one small case each, built
with whichever of ``torch`` / ``oneflow`` is given (the import swapped): thop's own count of the
PyTorch case (benchmarks/peer_twins.py --thop-layers) is the expected number of the OneFlow twin
through ``flowflops.thop`` (tests/peers/test_twins.py). Each layer is wrapped in an
``nn.Sequential`` so that thop counts its parameters (thop's dfs counts children only)."""


def thop_layers(torch):
    nn = torch.nn
    cases = {
        "ZeroPad2d": (nn.ZeroPad2d(1), (1, 2, 4, 4)),
        "Conv1d": (nn.Conv1d(2, 4, 3), (1, 2, 9)),
        "Conv2d": (nn.Conv2d(2, 4, 3, groups=2), (1, 2, 6, 6)),
        "Conv3d": (nn.Conv3d(2, 2, 2), (1, 2, 4, 4, 4)),
        "ConvTranspose1d": (nn.ConvTranspose1d(2, 4, 3), (1, 2, 5)),
        "ConvTranspose2d": (nn.ConvTranspose2d(2, 4, 3, stride=2), (1, 2, 4, 4)),
        "ConvTranspose3d": (nn.ConvTranspose3d(2, 2, 2), (1, 2, 3, 3, 3)),
        "BatchNorm1d": (nn.BatchNorm1d(4), (2, 4, 5)),
        "BatchNorm2d": (nn.BatchNorm2d(4), (2, 4, 3, 3)),
        "BatchNorm3d": (nn.BatchNorm3d(4, affine=False), (1, 4, 2, 2, 2)),
        "LayerNorm": (nn.LayerNorm(8), (2, 3, 8)),
        "InstanceNorm1d": (nn.InstanceNorm1d(4), (1, 4, 6)),
        "InstanceNorm2d": (nn.InstanceNorm2d(4, affine=True), (1, 4, 3, 3)),
        "InstanceNorm3d": (nn.InstanceNorm3d(2), (1, 2, 2, 2, 2)),
        "PReLU": (nn.PReLU(4), (1, 4, 5)),
        "Softmax": (nn.Softmax(dim=1), (2, 5, 3)),
        "ReLU": (nn.ReLU(), (1, 10)),
        "ReLU6": (nn.ReLU6(), (1, 10)),
        "LeakyReLU": (nn.LeakyReLU(0.1), (1, 10)),
        "MaxPool1d": (nn.MaxPool1d(2), (1, 2, 8)),
        "MaxPool2d": (nn.MaxPool2d(2), (1, 2, 8, 8)),
        "MaxPool3d": (nn.MaxPool3d(2), (1, 2, 4, 4, 4)),
        "AdaptiveMaxPool1d": (nn.AdaptiveMaxPool1d(2), (1, 2, 8)),
        "AdaptiveMaxPool2d": (nn.AdaptiveMaxPool2d(2), (1, 2, 8, 8)),
        "AdaptiveMaxPool3d": (nn.AdaptiveMaxPool3d(2), (1, 2, 4, 4, 4)),
        "AvgPool1d": (nn.AvgPool1d(2), (1, 2, 8)),
        "AvgPool2d": (nn.AvgPool2d(2), (1, 2, 8, 8)),
        "AvgPool3d": (nn.AvgPool3d(2), (1, 2, 4, 4, 4)),
        "AdaptiveAvgPool1d": (nn.AdaptiveAvgPool1d(3), (1, 2, 9)),
        "AdaptiveAvgPool2d": (nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 8, 9)),
        "AdaptiveAvgPool3d": (nn.AdaptiveAvgPool3d(2), (1, 2, 4, 4, 4)),
        "Linear": (nn.Linear(6, 3), (2, 4, 6)),
        "Dropout": (nn.Dropout(0.5), (1, 10)),
        "Upsample": (nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), (1, 2, 4, 4)),
        "UpsamplingBilinear2d": (nn.UpsamplingBilinear2d(scale_factor=2), (1, 2, 4, 4)),
        "UpsamplingNearest2d": (nn.UpsamplingNearest2d(scale_factor=2), (1, 2, 4, 4)),
        "RNNCell": (nn.RNNCell(4, 6), (3, 4)),
        "GRUCell": (nn.GRUCell(4, 6), (3, 4)),
        "LSTMCell": (nn.LSTMCell(4, 6), (3, 4)),
        "RNN": (nn.RNN(4, 6, num_layers=2, batch_first=True), (3, 5, 4)),
        "GRU": (nn.GRU(4, 6, bidirectional=True, batch_first=True), (3, 5, 4)),
        "LSTM": (nn.LSTM(4, 6, batch_first=True), (3, 5, 4)),
        "PixelShuffle": (nn.PixelShuffle(2), (1, 8, 3, 3)),
    }
    if hasattr(nn, "SyncBatchNorm"):
        cases["SyncBatchNorm"] = (nn.SyncBatchNorm(4), (2, 4, 3, 3))
    return {name: (nn.Sequential(layer), shape) for name, (layer, shape) in cases.items()}


def thop_cells_with_state(torch):
    """thop's three recurrent cells called with their state given, ``cell(x, h)`` (an LSTMCell:
    ``cell(x, (h, c))``), in a module that passes both on; ``(model, inputs)`` each.
    (OneFlow 0.9.0's cells raise without a state, which the cases above call them with.)"""
    nn = torch.nn

    class WithState(nn.Module):
        def __init__(self, cell):
            super().__init__()
            self.cell = cell

        def forward(self, x, state):
            return self.cell(x, state)

    x, h, c = torch.randn(3, 4), torch.randn(3, 6), torch.randn(3, 6)
    return {"RNNCell": (WithState(nn.RNNCell(4, 6)), (x, h)),
            "GRUCell": (WithState(nn.GRUCell(4, 6)), (x, h)),
            "LSTMCell": (WithState(nn.LSTMCell(4, 6)), (x, (h, c)))}
