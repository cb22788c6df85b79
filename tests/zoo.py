"""The flowvision 0.2.1 zoo: one model of each of its 51 families (the smallest variant), plus
distinct variants of families whose variants differ in kind. Batch 1; the smallest input
resolution each model accepts without changing its definition, to keep the slow suite short.

``FAMILIES``: ``(family module, constructor name, input_res)``.
"""
from __future__ import annotations

from typing import List, Tuple

S = (1, 3, 64, 64)     # convnets with global pooling
M = (1, 3, 112, 112)   # convnets whose strides need a bit more room
F = (1, 3, 224, 224)   # models with a fixed token grid

FAMILIES: List[Tuple[str, str, Tuple[int, ...]]] = [
    ("alexnet", "alexnet", M),
    ("cait", "cait_S24_224", F),
    ("conv_mixer", "convmixer_768_32_relu", S),
    ("convnext", "convnext_tiny_224", S),
    ("crossformer", "crossformer_tiny_patch4_group7_224", F),
    ("cswin", "cswin_tiny_224", F),
    ("deit_III", "deit_small_patch16_LS_224", F),
    ("densenet", "densenet121", S),
    ("detection.faster_rcnn", "fasterrcnn_mobilenet_v3_large_320_fpn", (1, 3, 64, 64)),
    ("detection.fcos", "fcos_resnet50_fpn", (1, 3, 64, 64)),
    ("detection.mask_rcnn", "maskrcnn_resnet50_fpn", (1, 3, 64, 64)),
    ("detection.retinanet", "retinanet_resnet50_fpn", (1, 3, 64, 64)),
    ("detection.ssd", "ssd300_vgg16", (1, 3, 300, 300)),
    ("detection.ssdlite", "ssdlite320_mobilenet_v3_large", (1, 3, 320, 320)),
    ("dla", "dla46_c", F),
    ("efficientnet", "efficientnet_b0", S),
    ("face_recognition.ir_resnet", "iresnet50", (1, 3, 112, 112)),
    ("fan", "fan_tiny_12_p16_224", F),
    ("genet", "genet_small", (1, 3, 192, 192)),
    ("ghostnet", "ghostnet", S),
    ("googlenet", "googlenet", S),
    ("hrnet", "hrnet_w18_small", S),
    ("inception_v3", "inception_v3", (1, 3, 299, 299)),
    ("levit", "levit_128s", F),
    ("mlp_mixer", "mlp_mixer_s32_224", F),
    ("mnasnet", "mnasnet0_5", S),
    ("mobilenet_v2", "mobilenet_v2", S),
    ("mobilenet_v3", "mobilenet_v3_small", S),
    ("mobilevit", "mobilevit_xx_small", (1, 3, 256, 256)),
    ("poolformer", "poolformer_s12", S),
    ("pvt", "pvt_tiny", F),
    ("regionvit", "regionvit_tiny_224", F),
    ("regnet", "regnet_y_400mf", S),
    ("res2net", "res2net50_26w_4s", S),
    ("res_mlp", "resmlp_12_224", F),
    ("resnest", "resnest50", S),
    ("resnet", "resnet18", S),
    ("rexnet", "rexnetv1_1_0", S),
    ("rexnet_lite", "rexnet_lite_1_0", S),
    ("segmentation.deeplabv3", "deeplabv3_mobilenet_v3_large_coco", S),
    ("segmentation.fcn", "fcn_resnet50_coco", S),
    ("segmentation.lraspp", "lraspp_mobilenet_v3_large_coco", S),
    ("senet", "se_resnet50", F),
    ("shufflenet_v2", "shufflenet_v2_x0_5", S),
    ("squeezenet", "squeezenet1_1", S),
    ("style_transfer.stylenet", "fast_neural_style", S),
    ("swin_transformer", "swin_tiny_patch4_window7_224", F),
    ("uniformer", "uniformer_small", F),
    ("van", "van_tiny", S),
    ("vgg", "vgg11_bn", S),
    ("vision_transformer", "vit_tiny_patch16_224", F),
]

#: Variants that differ in kind from their family's first model.
VARIANTS: List[Tuple[str, str, Tuple[int, ...]]] = [
    ("fan", "fan_tiny_8_p4_hybrid", F),
    ("mlp_mixer", "gmlp_ti16_224", F),
    ("regnet", "regnet_x_400mf", S),
    ("senet", "se_resnext50_32x4d", F),
    ("vision_transformer", "deit_tiny_distilled_patch16_224", F),
    ("conv_mixer", "convmixer_1024_20", S),
]

#: Constructor arguments that keep a build offline (detectors fetch a pretrained backbone
#: unless told not to).
KWARGS = {name: {"pretrained_backbone": False, "min_size": 64, "max_size": 64}
          for fam, name, _ in FAMILIES if fam.startswith("detection.")}
KWARGS["googlenet"] = KWARGS["inception_v3"] = {"init_weights": False}  # their init needs scipy
KWARGS["ssd300_vgg16"] = KWARGS["ssdlite320_mobilenet_v3_large"] = {"pretrained_backbone": False}
KWARGS.update({name: {"pretrained_backbone": False} for fam, name, _ in FAMILIES if fam.startswith("segmentation.")})


def build(name: str):
    """The model ``name`` of the flowvision zoo, random weights, eval mode."""
    import oneflow as flow
    from flowvision.models import ModelCreator

    lend = not hasattr(flow.Tensor, "zeros_")
    if lend:  # flowvision's ResNeSt init calls Tensor.zeros_, which OneFlow 0.9 names zero_
        flow.Tensor.zeros_ = flow.Tensor.zero_
    try:
        model = ModelCreator._model_entrypoints[name](**KWARGS.get(name, {}))
    finally:
        if lend:
            del flow.Tensor.zeros_
    return model.eval()

ALL = FAMILIES + VARIANTS
