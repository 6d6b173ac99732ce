#!/usr/bin/env python3
"""Real CNNs (RegNet, ...) saved by real torch for the parity job, with trained-like weights.

    python tools/make_cnn_parity_models.py OUT_DIR [--models tv-regnet_y_400mf,timm-regnety_002,...]

A model name is LIBRARY-CONSTRUCTOR: `tv-` a torchvision.models constructor, `timm-` a timm.create_model name,
`hf-convnext` / `hf-convnextv2` a small transformers ConvNextForImageClassification / ConvNextV2Model
(depths 2,2,2,2, widths 32..256).
Each is built with random weights (no hub here), every parameter perturbed (tools/make_parity_models.py `perturb`),
each residual branch's last batch-norm weight set to U(0.2, 0.5) as in trained networks, batch-norm statistics
calibrated by forward passes in train mode, and perturbed again. Writes NAME.pth (torch.save zip) and
NAME.safetensors per model, 10 classes.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_models import calibrate_batch_norm, perturb  # noqa: E402

DEFAULT = "tv-regnet_y_400mf,tv-regnet_x_400mf,timm-regnety_002,timm-regnetx_002"
# Attribute path (from a block module) of the batch norm ending each residual branch, per library.
LAST_BN = ("f.c.1", "conv3.bn", "block.3.1", "bn3")  # RegNet (torchvision, timm), EfficientNet (torchvision, timm)


def build(name: str):
    lib, ctor = name.split("-", 1)
    if lib == "tv":
        import torchvision
        return getattr(torchvision.models, ctor)(weights=None, num_classes=10)
    if lib == "timm":
        import timm
        return timm.create_model(ctor, pretrained=False, num_classes=10)
    if lib == "hf":
        import transformers
        small = dict(depths=[2, 2, 2, 2], hidden_sizes=[32, 64, 128, 256])
        if ctor == "convnext":
            return transformers.ConvNextForImageClassification(transformers.ConvNextConfig(num_labels=10, **small))
        if ctor == "convnextv2":
            return transformers.ConvNextV2Model(transformers.ConvNextV2Config(**small))
    raise SystemExit(f"{name}: expected tv-NAME, timm-NAME, hf-convnext or hf-convnextv2")


def small_residual_branches(model, seed):
    g = torch.Generator().manual_seed(seed)
    modules = dict(model.named_modules())
    with torch.no_grad():
        for n in modules:
            for path in LAST_BN:
                bn = modules.get(f"{n}.{path}" if n else path)
                if isinstance(bn, torch.nn.BatchNorm2d) and n:
                    bn.weight.copy_(torch.rand(bn.weight.shape, generator=g) * 0.3 + 0.2)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--models", default=DEFAULT)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    from safetensors.torch import save_file
    torch.manual_seed(0)
    for i, name in enumerate(a.models.split(",")):
        model = perturb(build(name), 50 + i)
        model = perturb(calibrate_batch_norm(small_residual_branches(model, i), i), 150 + i).eval()
        sd = model.state_dict()
        torch.save(sd, os.path.join(a.out, f"{name}.pth"))
        save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(a.out, f"{name}.safetensors"))
        print("saved", name)


if __name__ == "__main__":
    main()
