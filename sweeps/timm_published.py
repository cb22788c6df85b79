"""Issue 26's acceptance check, on demand (not in the suite): timm 0.6.12 models counted with
``convention="fvcore"`` in both engines, rounded to 2 decimals of GMACs, against the
``infer_gmacs`` timm publishes for them (timm counts with fvcore's FlopCountAnalysis).

    python sweeps/timm_published.py                    # every model in PUBLISHED
    python sweeps/timm_published.py resnet18 vgg11     # some
    python sweeps/timm_published.py --timeout 300 --json out.json
    python sweeps/timm_published.py --large            # the larger models (LARGE) only

Published figures: huggingface/pytorch-image-models, results/benchmark-infer-amp-nchw-pt112-
cu113-rtx3090.csv at commit c865028c34fc05cc7deea8e753b30d8cd1952591 (the
columns infer_img_size and infer_gmacs quoted below for the models picked). Each model is built
with random weights (flowflops.torch_models, timm's defaults) in its own process (an abort in
OneFlow ends one row), counted on (1, 3, S, S) with S the published infer_img_size, once with
``mode="eager"`` and once with ``mode="graph"``. A row is ``match`` when both engines round to
the published figure, ``eager only`` / ``graph only`` / ``neither`` otherwise, ``fails`` when
building or counting raised, ``timeout`` past ``--timeout``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: model -> (infer_img_size, infer_gmacs), quoted from the CSV named in the docstring
PUBLISHED = {
    "resnet18": (224, 1.82), "resnet34": (224, 3.67), "resnet50": (224, 4.11), "resnet18d": (224, 2.06),
    "resnet26": (224, 2.36), "resnet26d": (224, 2.6), "resnet50d": (224, 4.35), "seresnet18": (224, 1.82),
    "seresnet34": (224, 3.67), "mobilenetv2_050": (224, 0.1), "mobilenetv2_100": (224, 0.31),
    "mobilenetv3_small_100": (224, 0.06), "mobilenetv3_large_100": (224, 0.23), "efficientnet_b0": (224, 0.4),
    "efficientnet_lite0": (224, 0.4), "tf_efficientnet_b0": (224, 0.4), "mnasnet_100": (224, 0.33),
    "spnasnet_100": (224, 0.35), "fbnetc_100": (224, 0.4), "ghostnet_100": (224, 0.15), "lcnet_100": (224, 0.16),
    "tinynet_e": (106, 0.03), "regnetx_002": (224, 0.2), "regnety_002": (224, 0.2), "regnetx_004": (224, 0.4),
    "regnety_004": (224, 0.41), "rexnet_100": (224, 0.41), "densenet121": (224, 2.87), "dla34": (224, 3.07),
    "dpn68": (224, 2.35), "repvgg_b0": (224, 3.41), "vgg11": (224, 7.61), "cspresnet50": (256, 4.54),
    "resnest14d": (224, 2.76), "hrnet_w18_small": (224, 1.61), "vit_tiny_patch16_224": (224, 1.26),
    "vit_small_patch16_224": (224, 4.61), "deit_tiny_patch16_224": (224, 1.26), "vit_base_patch32_224": (224, 4.41),
    "mixer_s32_224": (224, 1.0), "mixer_b32_224": (224, 3.24), "resmlp_12_224": (224, 3.01),
    "gmlp_ti16_224": (224, 1.34), "convit_tiny": (224, 1.26), "pit_ti_224": (224, 0.7), "levit_128s": (224, 0.31),
    "xcit_nano_12_p16_224": (224, 0.56), "mobilevit_xxs": (256, 0.42), "mobilevitv2_050": (256, 0.48),
    "edgenext_xx_small": (256, 0.33), "poolformer_s12": (224, 1.82), "coat_lite_tiny": (224, 1.6),
    "visformer_tiny": (224, 1.27), "crossvit_tiny_240": (240, 1.57), "convnext_nano_hnf": (224, 2.46),
}
#: the larger models (about 8 to 62 GMACs), the same CSV; ``python sweeps/timm_published.py --large``
LARGE = {
    "resnet101": (224, 7.83), "resnet152": (224, 11.56), "wide_resnet50_2": (224, 11.43),
    "resnext101_32x8d": (224, 16.48), "densenet161": (224, 7.79), "vgg16": (224, 15.47), "vgg19": (224, 19.63),
    "inception_v4": (299, 12.28), "regnety_120": (224, 12.14), "dla169": (224, 11.6), "hrnet_w32": (224, 8.97),
    "repvgg_b2": (224, 20.45), "vit_base_patch16_224": (224, 17.58), "deit_base_patch16_224": (224, 17.58),
    "beit_base_patch16_224": (224, 17.58), "vit_large_patch16_224": (224, 61.6), "mixer_b16_224": (224, 12.62),
    "resmlp_36_224": (224, 8.91), "swin_small_patch4_window7_224": (224, 8.77),
    "swin_base_patch4_window7_224": (224, 15.47), "convnext_small": (224, 8.71), "convnext_base": (224, 15.38),
    "pit_b_224": (224, 12.42), "cait_s24_224": (224, 9.35), "crossvit_18_240": (240, 9.05),
}
PUBLISHED.update(LARGE)


def one(name: str) -> Dict[str, Any]:
    sys.path.insert(0, ROOT)
    import flowflops
    from flowflops import torch_models as tm

    size, published = PUBLISHED[name]
    row: Dict[str, Any] = {"name": name, "size": size, "published": published}
    start = time.perf_counter()
    with tm.mocked_torch():
        try:
            built = tm.build("timm:" + name, {})
            res = (1,) + tuple(built.default_input_res[1:-2]) + (size, size)
            for mode in ("eager", "graph"):
                report = flowflops.profile(built.model, res, input_constructor=built.input_constructor, mode=mode,
                                           convention="fvcore")
                row[mode] = report.macs
        except Exception as err:  # noqa: BLE001 - the row records it
            first = next((line.strip() for line in str(err).splitlines() if line.strip()), "")
            row.update(status="fails", why=f"{type(err).__name__}: {first}"[:200])
            return row
    ok = {m: round(row[m] / 1e9, 2) == published for m in ("eager", "graph")}
    row["status"] = ("match" if all(ok.values()) else "eager only" if ok["eager"] else
                     "graph only" if ok["graph"] else "neither")
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def run(name: str, timeout: float) -> Dict[str, Any]:
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", name], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=ROOT), timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"name": name, "status": "timeout", "why": f"over {timeout:.0f} s"}
    if p.returncode < 0:
        return {"name": name, "status": "signal", "why": f"ended by signal {-p.returncode}"}
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"name": name, "status": "fails", "why": (p.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(lines[-1])


def line(r: Dict[str, Any]) -> str:
    def g(m: str) -> str:
        return f"{r[m] / 1e9:.4f}" if m in r else ""
    return (f"| {r['name']} | {r.get('size', '')} | {r.get('published', '')} | {g('eager')} | {g('graph')} | "
            f"{r['status']} | {r.get('why', '')} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--json")
    p.add_argument("--large", action="store_true", help="the models of LARGE")
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    rows: List[Dict[str, Any]] = []
    print("| model | size | published GMACs | eager GMACs | graph GMACs | status | why |\n|---|---:|---:|---:|---:|---|---|")
    for name in args.names or list(LARGE if args.large else PUBLISHED):
        rows.append(run(name, args.timeout))
        print(line(rows[-1]), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
