"""thop's own tests (Lyken17/pytorch-OpCounter, thop 0.1.1: tests/test_conv2d.py,
test_matmul.py, test_relu.py, test_utils.py), translated: ``torch`` -> ``oneflow``,
``thop`` -> ``flowflops.thop``. Random sizes come from a seeded ``random.Random`` instead of
``torch.randint`` (same ranges), so a failure can be replayed.

Each test keeps thop's expected number: ``flowflops.thop.profile`` counts in thop's convention
(``flowflops.conventions``, "thop": no bias adds, ReLU and max pooling 0). The last test shows
what flowflops' own convention gives on the same layers, the difference derived by hand.
"""
import random

import oneflow as flow
import oneflow.nn as nn

from flowflops.thop import profile, utils

RNG = random.Random(0)


def randint(low, high, n):
    """thop's ``torch.randint(low, high, (n,)).tolist()``."""
    return [RNG.randrange(low, high) for _ in range(n)]


class TestConv2d:
    def test_conv2d_no_bias(self):
        n, in_c, ih, iw = 1, 3, 32, 32
        out_c, kh, kw = 12, 5, 5
        s, p, d, g = 1, 1, 1, 1

        net = nn.Conv2d(in_c, out_c, kernel_size=(kh, kw), stride=s, padding=p, dilation=d, groups=g, bias=False)
        data = flow.randn(n, in_c, ih, iw)
        out = net(data)

        _, _, oh, ow = out.shape

        flops, params = profile(net, inputs=(data, ))
        assert flops == 810000, f"{flops} v.s. {810000}"

    def test_conv2d(self):
        n, in_c, ih, iw = 1, 3, 32, 32
        out_c, kh, kw = 12, 5, 5
        s, p, d, g = 1, 1, 1, 1

        net = nn.Conv2d(in_c, out_c, kernel_size=(kh, kw), stride=s, padding=p, dilation=d, groups=g, bias=True)
        data = flow.randn(n, in_c, ih, iw)
        out = net(data)

        _, _, oh, ow = out.shape

        flops, params = profile(net, inputs=(data, ))
        assert flops == 810000, f"{flops} v.s. {810000}"

    def test_conv2d_random(self):
        for i in range(10):
            out_c, kh, kw = randint(1, 20, 3)
            n, in_c, ih, iw = randint(1, 20, 4)
            ih += kh
            iw += kw
            s, p, d, g = 1, 1, 1, 1

            net = nn.Conv2d(in_c, out_c, kernel_size=(kh, kw), stride=s, padding=p, dilation=d, groups=g, bias=False)
            data = flow.randn(n, in_c, ih, iw)
            out = net(data)

            _, _, oh, ow = out.shape

            flops, params = profile(net, inputs=(data, ), verbose=False)
            expected = n * out_c * oh * ow // g * in_c * kh * kw
            assert flops == expected, f"{flops} v.s. {expected}"


class TestMatmul:
    def test_matmul_case2(self):
        for i in range(10):
            n, in_c, out_c = randint(1, 500, 3)
            net = nn.Linear(in_c, out_c)
            flops, params = profile(net, inputs=(flow.randn(n, in_c), ), verbose=False)
            assert flops == n * in_c * out_c

    def test_conv2d(self):
        n, in_c, out_c = randint(1, 500, 3)
        net = nn.Linear(in_c, out_c)
        flops, params = profile(net, inputs=(flow.randn(n, in_c), ))
        assert flops == n * in_c * out_c


class TestRelu:
    def test_relu(self):
        n, in_c = 1, 100
        net = nn.ReLU()
        flops, params = profile(net, inputs=(flow.randn(n, in_c), ))
        assert flops == 0


class TestUtils:
    def test_clever_format_returns_formatted_number(self):
        nums = 1
        format = "%.2f"
        clever_nums = utils.clever_format(nums, format)
        assert clever_nums == "1.00B"

    def test_clever_format_returns_formatted_numbers(self):
        nums = [1, 2]
        format = "%.2f"
        clever_nums = utils.clever_format(nums, format)
        assert clever_nums == ("1.00B", "2.00B")


class TestFlowflopsConvention:
    """Not a thop test: thop's three layers under flowflops' own (the article's) convention."""

    def test_same_layers_in_the_article_convention(self):
        import flowflops

        def article(net, *shape):
            return flowflops.profile(net, shape).macs

        conv = nn.Conv2d(3, 12, kernel_size=(5, 5), stride=1, padding=1, bias=True)
        # thop's 810000 plus the bias add, 1 per output element: 12 * 30 * 30 = 10800
        # (oh = ow = 32 + 2*1 - 5 + 1 = 30)
        assert article(conv, 1, 3, 32, 32) == 810000 + 12 * 30 * 30
        # Linear(100, 200) on (1, 100): thop's 1*100*200 plus the bias add 1*200
        assert article(nn.Linear(100, 200), 1, 100) == 1 * 100 * 200 + 1 * 200
        # ReLU on (1, 100): thop's 0; flowflops 1 per output element
        assert article(nn.ReLU(), 1, 100) == 0 + 100
