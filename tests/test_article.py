"""The seed article's numbers, reproduced exactly (quoted from the article and
../shared/reference/seed_numbers.md, measured from the original package)."""
import os
import subprocess
import sys

import flowvision.models as zoo
import pytest

import flowflops
from flowflops import get_model_complexity_info

# model: (input side, params, eager MACs, eager printed, graph MACs, graph printed)
ARTICLE_TABLE = {
    "alexnet": (227, 61_100_840, 718_161_960, "718.16 MMac", 718_161_960, "718.16 MMac"),
    "vgg11": (224, 132_863_336, 7_630_106_088, "7.63 GMac", 7_630_106_088, "7.63 GMac"),
    "vgg11_bn": (224, 132_868_840, 7_644_958_184, "7.64 GMac", 7_644_958_184, "7.64 GMac"),
    "squeezenet1_0": (224, 1_248_424, 830_046_392, "830.05 MMac", 830_046_392, "830.05 MMac"),
    "squeezenet1_1": (224, 1_235_496, 355_862_008, "355.86 MMac", 355_862_008, "355.86 MMac"),
    "resnet18": (224, 11_689_512, 1_822_177_768, "1.82 GMac", 1_822_930_408, "1.82 GMac"),
    "resnet50": (224, 25_557_032, 4_121_925_096, "4.12 GMac", 4_127_444_456, "4.13 GMac"),
    "resnext50_32x4d": (224, 25_028_904, 4_273_080_296, "4.27 GMac", 4_278_599_656, "4.28 GMac"),
    "shufflenet_v2_x0_5": (224, 1_366_792, 43_647_944, "43.65 MMac", 43_699_144, "43.7 MMac"),
    "regnet_x_16gf": (224, 54_278_536, 16_013_707_944, "16.01 GMac", 16_020_105_384, "16.02 GMac"),
    "efficientnet_b0": (224, 5_288_548, 401_669_732, "401.67 MMac", 410_353_248, "410.35 MMac"),
    "densenet121": (224, 7_978_856, 2_882_620_136, "2.88 GMac", 2_882_720_488, "2.88 GMac"),
}
# The article's params column, as printed.
ARTICLE_PARAMS_PRINTED = {
    "alexnet": "61.1 M", "vgg11": "132.86 M", "vgg11_bn": "132.87 M", "squeezenet1_0": "1.25 M",
    "squeezenet1_1": "1.24 M", "resnet18": "11.69 M", "resnet50": "25.56 M",
    "resnext50_32x4d": "25.03 M", "shufflenet_v2_x0_5": "1.37 M", "regnet_x_16gf": "54.28 M",
    "efficientnet_b0": "5.29 M", "densenet121": "7.98 M",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ARTICLE_TABLE))
def test_article_table(name):
    side, params, eager, eager_s, graph, graph_s = ARTICLE_TABLE[name]
    model = getattr(zoo, name)()
    shape = (1, 3, side, side)
    for mode, macs, printed in (("eager", eager, eager_s), ("graph", graph, graph_s)):
        got = get_model_complexity_info(model, shape, as_strings=False, print_per_layer_stat=False, mode=mode)
        assert got == (macs, params), mode
        got_s = get_model_complexity_info(model, shape, as_strings=True, print_per_layer_stat=False, mode=mode)
        assert got_s == (printed, ARTICLE_PARAMS_PRINTED[name]), mode


@pytest.mark.slow
def test_resnet50_graph_minus_eager_is_the_residual_adds():
    model = zoo.resnet50()
    eager = flowflops.profile(model, (1, 3, 224, 224), mode="eager")
    graph = flowflops.profile(model, (1, 3, 224, 224), mode="graph")
    # (256*56*56)*3 + (512*28*28)*4 + (1024*14*14)*6 + (2048*7*7)*3, quoted in the article
    adds = 256 * 56 * 56 * 3 + 512 * 28 * 28 * 4 + 1024 * 14 * 14 * 6 + 2048 * 7 * 7 * 3
    assert adds == 5_519_360
    assert graph.macs - eager.macs == adds
    assert graph.by_operator()["add_n"].macs == adds
    assert "add_n" not in eager.by_operator()
    by_module = graph.by_module()
    # Each block's residual add belongs to the block: layer1.0 = its convs/bns/relus + its add.
    for block, (c, hw) in {"layer1.0": (256, 56), "layer2.3": (512, 28), "layer4.2": (2048, 7)}.items():
        assert by_module[block].macs - eager.by_module()[block].macs == c * hw * hw




@pytest.mark.slow
def test_article_resnet50_example_runs_verbatim():
    """examples/article_resnet50.py is the article's code, verbatim."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    example = os.path.join(root, "examples", "article_resnet50.py")
    out = subprocess.run([sys.executable, example], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "====== eager ======", "4121925096 25557032", "====== graph ======", "4127444456 25557032",
    ]
