"""Hand-derived counts of single layers in eager mode (module hooks).

Every expected number is worked out below from the layer's shapes, in the seed article's
(ptflops') convention: a conv/linear multiply-accumulate is 1 MAC (2 FLOPs), a bias add 1 per
output element, BatchNorm 2 per element with affine (1 without), activations 1 per output
element, pooling 1 per input element; elementwise work is 1 MAC = 1 FLOP.
"""
import oneflow as flow
import oneflow.nn as nn
import pytest

import flowflops


def eager(model, shape):
    return flowflops.profile(model, shape, mode="eager")


def conv_out(size, k, s=1, p=0, d=1):
    """The convolution output size formula: floor((size + 2p - d(k-1) - 1) / s) + 1."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def deconv_out(size, k, s=1, p=0, d=1, op=0):
    """Transposed convolution output size: (size-1)s - 2p + d(k-1) + op + 1."""
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


# -- convolutions ---------------------------------------------------------------------------

CONV2D_CASES = [
    # cin, cout, k, stride, padding, dilation, groups, bias, H, W
    (4, 8, 3, 1, 1, 1, 1, True, 8, 8),
    (4, 8, 3, 2, 1, 1, 1, False, 9, 7),
    (4, 8, 3, 1, 2, 2, 1, True, 8, 8),
    (4, 8, 3, 1, 1, 1, 2, True, 6, 6),
    (8, 8, 3, 2, 0, 1, 8, False, 9, 9),   # depthwise, no padding
    (6, 12, 5, 3, 2, 2, 3, True, 11, 10),  # everything at once
    (4, 4, 1, 1, 0, 1, 4, False, 5, 5),
]


@pytest.mark.parametrize("cin,cout,k,s,p,d,g,bias,H,W", CONV2D_CASES)
def test_conv2d(cin, cout, k, s, p, d, g, bias, H, W):
    m = nn.Sequential(nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias))
    N = 2
    Ho, Wo = conv_out(H, k, s, p, d), conv_out(W, k, s, p, d)
    out_elems = N * cout * Ho * Wo
    conv_macs = out_elems * (k * k * cin // g)  # out elems * kernel * cin/groups
    bias_adds = out_elems if bias else 0  # one add per output element
    r = eager(m, (N, cin, H, W))
    assert r.macs == conv_macs + bias_adds
    assert r.flops == 2 * conv_macs + bias_adds  # MAC = 2 FLOPs, bias add = 1
    assert r.params == cout * (cin // g) * k * k + (cout if bias else 0)
    assert r.unsupported == {}


@pytest.mark.parametrize("bias", [True, False])
def test_conv1d(bias):
    # Conv1d(4 -> 6, k=3, stride 2, padding 1) on (2, 4, 11)
    m = nn.Sequential(nn.Conv1d(4, 6, 3, stride=2, padding=1, bias=bias))
    L = conv_out(11, 3, 2, 1)  # (11 + 2 - 2 - 1) // 2 + 1 = 6
    out_elems = 2 * 6 * L
    expected = out_elems * (3 * 4) + (out_elems if bias else 0)  # out * k * cin (+ bias)
    assert eager(m, (2, 4, 11)).macs == expected


def test_conv3d():
    # Conv3d(2 -> 4, k=3, padding 1, groups 2, bias) on (1, 2, 4, 5, 6): same spatial size
    m = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1, groups=2))
    out_elems = 1 * 4 * 4 * 5 * 6
    expected = out_elems * (3 * 3 * 3 * 2 // 2) + out_elems  # out * kernel * cin/groups + bias
    r = eager(m, (1, 2, 4, 5, 6))
    assert r.macs == expected
    assert r.by_operator()["conv3d"].macs == out_elems * 27


def test_conv_transpose2d_stride2_groups2_bias():
    # ConvTranspose2d(4 -> 6, k=3, stride 2, padding 1, groups 2) on (2, 4, 5, 5)
    m = nn.Sequential(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2))
    Ho = deconv_out(5, 3, 2, 1)  # (5-1)*2 - 2 + 2 + 1 = 9
    in_elems = 2 * 4 * 5 * 5
    out_elems = 2 * 6 * Ho * Ho
    # every input element times every kernel position of every output channel of its group
    deconv = in_elems * (6 // 2) * (3 * 3)
    expected = deconv + out_elems  # + one bias add per output element
    r = eager(m, (2, 4, 5, 5))
    assert r.macs == expected
    assert r.flops == 2 * deconv + out_elems
    assert r.params == 4 * (6 // 2) * 3 * 3 + 6  # weight (cin, cout/groups, k, k) + bias


# -- linear ---------------------------------------------------------------------------------

def test_linear_2d():
    r = eager(nn.Sequential(nn.Linear(5, 3)), (4, 5))
    expected = 4 * 3 * 5 + 4 * 3  # rows * out * in, + one bias add per output element
    assert r.macs == expected
    assert r.flops == 2 * (4 * 3 * 5) + 4 * 3


def test_linear_4d_input_counts_every_row_and_every_bias():
    r = eager(nn.Sequential(nn.Linear(5, 3)), (2, 3, 4, 5))
    rows = 2 * 3 * 4  # every leading index is a row
    expected = rows * 3 * 5 + rows * 3  # matmul + bias once per output element
    assert r.macs == expected


def test_linear_without_bias():
    assert eager(nn.Sequential(nn.Linear(5, 3, bias=False)), (4, 5)).macs == 4 * 3 * 5


def test_linear_swin_window_qkv():
    # Swin-T window attention: (64 windows, 49 tokens, 96) -> 288 (qkv)
    r = eager(nn.Sequential(nn.Linear(96, 288)), (64, 49, 96))
    expected = 64 * 49 * 96 * 288 + 64 * 49 * 288  # rows * in * out + bias per output
    assert r.macs == expected


# -- normalisation --------------------------------------------------------------------------

@pytest.mark.parametrize("affine,per_elem", [(True, 2), (False, 1)])
def test_batchnorm2d(affine, per_elem):
    r = eager(nn.Sequential(nn.BatchNorm2d(3, affine=affine)), (2, 3, 4, 5))
    expected = per_elem * (2 * 3 * 4 * 5)  # 1 normalise (+1 affine) per element
    assert r.macs == expected
    assert r.flops == expected
    assert r.params == (2 * 3 if affine else 0)


def test_batchnorm1d():
    r = eager(nn.Sequential(nn.BatchNorm1d(6)), (4, 6, 7))
    assert r.macs == 2 * (4 * 6 * 7)  # affine by default: 2 per element


def test_instance_norm2d_is_the_graph_decomposition():
    N, C, H, W = 2, 3, 4, 5
    x = N * C * H * W  # elements normalised
    s = N * C  # one statistic per (sample, channel)
    # stats_norm_records: reduce_sum (x) + scalar_mul (s) + var (x) + broadcast_sub (x)
    #   + scalar_add (s) + sqrt (s) + broadcast_div (x)
    plain = 4 * x + 3 * s
    assert eager(nn.Sequential(nn.InstanceNorm2d(C)), (N, C, H, W)).macs == plain
    # affine adds a broadcast_mul and a broadcast_add over x
    assert eager(nn.Sequential(nn.InstanceNorm2d(C, affine=True)), (N, C, H, W)).macs == plain + 2 * x


@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_is_the_graph_decomposition(affine):
    N, C, H, W, G = 2, 6, 3, 4, 3
    x = N * C * H * W
    s = N * G  # one statistic per (sample, group)
    expected = 4 * x + 3 * s + (2 * x if affine else 0)  # same op list as InstanceNorm
    r = eager(nn.Sequential(nn.GroupNorm(G, C, affine=affine)), (N, C, H, W))
    assert r.macs == expected
    assert r.flops == expected  # all elementwise


# -- pooling (1 per input element) ---------------------------------------------------------

@pytest.mark.parametrize("layer,shape", [
    (nn.MaxPool1d(2), (2, 3, 8)),
    (nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 9, 7)),
    (nn.MaxPool3d(2), (1, 2, 4, 4, 6)),
    (nn.AvgPool2d(2), (2, 3, 8, 6)),
    (nn.AdaptiveAvgPool2d((1, 1)), (2, 3, 5, 7)),
    (nn.AdaptiveMaxPool2d((2, 3)), (2, 3, 6, 6)),
])
def test_pools_count_input_elements(layer, shape):
    expected = 1
    for d in shape:
        expected *= d  # 1 per INPUT element
    assert eager(nn.Sequential(layer), shape).macs == expected


# -- activations (1 per output element) ----------------------------------------------------

@pytest.mark.parametrize("layer", [
    nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(0.1), nn.ELU(), nn.PReLU(), nn.GELU(),
], ids=lambda m: type(m).__name__)
def test_activations(layer):
    r = eager(nn.Sequential(layer), (2, 3, 4, 5))
    assert r.macs == 2 * 3 * 4 * 5  # 1 per output element
    assert r.flops == 2 * 3 * 4 * 5
    assert r.unsupported == {}


def test_prelu_per_channel_params():
    r = eager(nn.Sequential(nn.PReLU(3)), (2, 3, 4))
    assert (r.macs, r.params) == (2 * 3 * 4, 3)


# -- resampling (1 per output element) -----------------------------------------------------

@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample(mode):
    m = nn.Sequential(nn.Upsample(scale_factor=2, mode=mode))
    expected = 2 * 3 * (4 * 2) * (5 * 2)  # output elements
    assert eager(m, (2, 3, 4, 5)).macs == expected


# -- recurrent ------------------------------------------------------------------------------
# flowflops/formulas/recurrent.py, per step of one layer and direction, batch B, gates G
# (RNN 1, GRU 3, LSTM 4), input X, hidden H:
#   gate matmuls B*G*H*(X+H) MACs (2 FLOPs each),
#   biases 2*B*G*H adds when present,
#   cell elementwise B*H*c, c = RNN 2, GRU 10, LSTM 13 (1 FLOP each).

GATES = {nn.RNN: 1, nn.GRU: 3, nn.LSTM: 4, nn.RNNCell: 1, nn.GRUCell: 3, nn.LSTMCell: 4}
CELL = {nn.RNN: 2, nn.GRU: 10, nn.LSTM: 13, nn.RNNCell: 2, nn.GRUCell: 10, nn.LSTMCell: 13}


def rnn_step(cls, B, X, H, bias):
    """(macs, flops) of one step, derived from the docstring above."""
    G = GATES[cls]
    mm = B * G * H * (X + H)
    ew = (2 * B * G * H if bias else 0) + B * H * CELL[cls]
    return mm + ew, 2 * mm + ew


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM], ids=lambda c: c.__name__)
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_two_layers_bidirectional(cls, batch_first, bias):
    T, B, X, H = 5, 3, 4, 6
    m = cls(X, H, num_layers=2, bias=bias, batch_first=batch_first, bidirectional=True)
    shape = (B, T, X) if batch_first else (T, B, X)
    # layer 0 reads X, layer 1 reads the two directions' hidden states: 2H; two directions each
    l0 = rnn_step(cls, B, X, H, bias)
    l1 = rnn_step(cls, B, 2 * H, H, bias)
    macs = 2 * T * (l0[0] + l1[0])  # 2 directions * T steps
    flops = 2 * T * (l0[1] + l1[1])
    r = eager(m, shape)
    assert (r.macs, r.flops) == (macs, flops)
    assert r.unsupported == {}


def test_lstm_with_projection():
    # nn.LSTM(X=4, H=6, 2 layers, proj_size P=3, bidirectional) on (T=5, B=2, 4): the state h
    # has P elements (weight_hh is (4H, P)), a projection W_hr (P, H) follows every step, and
    # layer 1 reads P * 2 directions
    T, B, X, H, P = 5, 2, 4, 6, 3
    m = nn.LSTM(X, H, num_layers=2, proj_size=P, bidirectional=True)

    def step(i):
        mm = B * 4 * H * (i + P) + B * P * H  # gate matmuls x@W_ih, h@W_hh + projection
        ew = 2 * B * 4 * H + B * H * 13  # two biases + LSTM cell elementwise
        return mm, ew

    (m0, e0), (m1, e1) = step(X), step(P * 2)
    r = eager(m, (T, B, X))
    assert r.macs == 2 * T * (m0 + e0 + m1 + e1)  # 2 directions * T steps
    assert r.flops == 2 * T * (2 * m0 + e0 + 2 * m1 + e1)
    # the compiled job (the ops OneFlow really runs) agrees
    assert flowflops.profile(m, (T, B, X), mode="graph").macs == r.macs


def test_rnn_single_layer_by_hand():
    # nn.RNN(4, 6), one layer, one direction, bias, T=5, B=3, written out in full:
    # per step 3*1*6*(4+6) = 180 MACs, 2*3*1*6 = 36 bias adds, 3*6*2 = 36 elementwise
    r = eager(nn.RNN(4, 6), (5, 3, 4))
    assert r.macs == 5 * (180 + 36 + 36)
    assert r.flops == 5 * (2 * 180 + 36 + 36)


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.GRUCell, nn.LSTMCell], ids=lambda c: c.__name__)
@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_cells(cls, bias):
    B, X, H = 3, 4, 6
    macs, flops = rnn_step(cls, B, X, H, bias)  # one step
    # oneflow 0.9's cells crash when hx is omitted (they call the property input.is_global()),
    # so the initial state is passed explicitly
    h = flow.zeros(B, H)
    state = (h, flow.zeros(B, H)) if cls is nn.LSTMCell else h
    r = flowflops.profile(cls(X, H, bias=bias), input_constructor=lambda _: (flow.ones(B, X), state))
    assert (r.macs, r.flops) == (macs, flops)


# -- whole-model behaviours -----------------------------------------------------------------

def small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 10),
    )


def test_small_cnn_by_hand_and_batch_scaling():
    conv = 4 * 8 * 8 * (3 * 3 * 3) + 4 * 8 * 8  # out elems * k*k*cin + bias
    bn = 2 * (4 * 8 * 8)  # affine
    relu = 4 * 8 * 8
    pool = 4 * 8 * 8  # input elements
    fc = 64 * 10 + 10  # in * out + bias
    per_sample = conv + bn + relu + pool + fc
    model = small_cnn()
    one = eager(model, (1, 3, 8, 8))
    four = eager(model, (4, 3, 8, 8))
    assert one.macs == per_sample
    assert four.macs == 4 * one.macs
    assert four.flops == 4 * one.flops
    assert one.params == four.params == (4 * 3 * 9 + 4) + 2 * 4 + (64 * 10 + 10)


def test_conv2d_subclass_counted_like_conv2d():
    class MyConv(nn.Conv2d):
        pass

    m = nn.Sequential(MyConv(2, 3, 3, padding=1, bias=False))
    assert eager(m, (1, 2, 5, 5)).macs == 3 * 5 * 5 * (3 * 3 * 2)  # out * k*k*cin


def test_ignore_modules_and_custom_hooks():
    class MyModule(nn.Module):
        def forward(self, x):
            return x * 2

    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), MyModule())
    fc = 2 * 4 * 4 + 2 * 4
    relu = 2 * 4
    base = eager(model, (2, 4))
    assert base.macs == fc + relu
    assert base.unsupported == {"MyModule": 1}
    ignored = flowflops.profile(model, (2, 4), ignore_modules=[nn.ReLU])
    assert ignored.macs == fc  # ReLU counted as 0
    custom = flowflops.profile(model, (2, 4), custom_modules_hooks={MyModule: lambda m, i, o: 123})
    assert custom.macs == fc + relu + 123
    assert custom.flops == (2 * 2 * 4 * 4 + 2 * 4) + relu + 2 * 123  # custom MACs are 2 FLOPs each
    assert custom.by_module()["2"].macs == 123
    assert custom.unsupported == {}


def test_model_without_parameters():
    r = eager(nn.Sequential(nn.ReLU()), (2, 3))
    assert (r.macs, r.params) == (2 * 3, 0)  # get_model_complexity_info's: tests/test_api.py


def test_silu_is_unsupported_in_eager_mode():
    r = eager(nn.Sequential(nn.Conv2d(2, 2, 1, bias=False), nn.SiLU()), (1, 2, 3, 3))
    assert r.unsupported == {"SiLU": 1}
    assert r.macs == 2 * 3 * 3 * 2  # the conv only; SiLU counted 0


def test_get_model_complexity_info_matches_profile():
    model = small_cnn()
    macs, params = flowflops.get_model_complexity_info(
        model, (1, 3, 8, 8), as_strings=False, print_per_layer_stat=False
    )
    r = eager(model, (1, 3, 8, 8))
    assert (macs, params) == (r.macs, r.trainable_params)


# -- number formatting (ptflops: round(x / 10**k, precision) then the unit) ----------------

@pytest.mark.parametrize("value,kwargs,text", [
    (4121925096, {}, "4.12 GMac"),
    (718161960, {}, "718.16 MMac"),
    (43699144, {}, "43.7 MMac"),
    (4121925096, {"units": "MMac"}, "4121.93 MMac"),
    (4121925096, {"units": "GMac", "precision": 3}, "4.122 GMac"),
    (718161960, {"units": "MMac", "precision": 3}, "718.162 MMac"),
    (12345, {"units": "KMac", "precision": 1}, "12.3 KMac"),
    (12346, {}, "12.35 KMac"),
    (999, {}, "999 Mac"),
])
def test_flops_to_string(value, kwargs, text):
    assert flowflops.flops_to_string(value, **kwargs) == text


@pytest.mark.parametrize("value,kwargs,text", [
    (25557032, {}, "25.56 M"),
    (22784, {}, "22.78 k"),
    (25557032, {"units": "K"}, "25557.03 K"),
    (25557032, {"units": "M", "precision": 3}, "25.557 M"),
    (999, {}, "999"),
])
def test_params_to_string(value, kwargs, text):
    assert flowflops.params_to_string(value, **kwargs) == text
