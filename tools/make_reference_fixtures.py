#!/usr/bin/env python3
"""The committed reference fixture, made by the real tools/make_reference.py from a real torch.save file.

    ~/.cache/vfw-venv/bin/python tools/make_reference_fixtures.py

Writes Tests/Fixtures/reference/tiny-resnet/ (deterministic):

    tiny-resnet.pth          torchvision ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10), seeded weights,
                             batch-norm statistics and affine parameters perturbed away from their identity
                             defaults (so a model that skips or misapplies batch norm is caught)
    cat.png                  scikit-image's chelsea.png (a photo) shrunk to 145x96, so Resize(256) upsamples
                             and CenterCrop(224) crops the long side
    manifest.json            }  tools/make_reference.py --weights tiny-resnet.pth --image cat.png -o .
    activations.safetensors  }  (block level, batch 1)
    checks.json              values recomputed here by calling the modules one after another (no hooks), for the
                             Swift tests to compare with what the reference folder holds

The folder is ~32 MB (a 19.7 MB .pth, 12.5 MB of activations): torchvision's ResNet has 64..512 channels whatever the depth (4.9 M parameters with
one block per stage) and a 224x224 input gives [1, 64, 112, 112] stem outputs; neither can shrink without
leaving the real torchvision model.
"""
import json
import os
import subprocess
import sys

import torch
from PIL import Image
from torchvision.models.resnet import BasicBlock, ResNet

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "reference", "tiny-resnet")


def tiny_resnet():
    torch.manual_seed(20261127)
    model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.2)
                m.num_batches_tracked.fill_(100)
    return model.eval()


def image(path):
    import skimage
    src = os.path.join(skimage.data_dir, "chelsea.png")
    with Image.open(src) as im:
        small = im.convert("RGB").resize((145, 96), Image.Resampling.LANCZOS)
    small.save(path, optimize=True)


def pick(t, index):
    return {"index": list(index), "value": float(t[tuple(index)])}


def checks(model, x):
    """Selected values from a forward pass that calls each module by hand: an independent account of the taps."""
    with torch.no_grad():
        conv1 = model.conv1(x)
        bn1 = model.bn1(conv1.clone())
        relu = torch.relu(bn1)
        maxpool = model.maxpool(relu)
        layer1 = model.layer1[0](maxpool)
        layer2 = model.layer2[0](layer1)
        layer3 = model.layer3[0](layer2)
        layer4 = model.layer4[0](layer3)
        avgpool = model.avgpool(layer4)
        fc = model.fc(torch.flatten(avgpool, 1))
    tensors = {"input": x, "conv1": conv1, "bn1": bn1, "relu": relu, "maxpool": maxpool, "layer1.0": layer1,
               "layer2.0": layer2, "layer3.0": layer3, "layer4.0": layer4, "avgpool": avgpool, "fc": fc}
    out = {}
    for name, t in tensors.items():
        last = [d - 1 for d in t.shape]
        mid = [d // 2 for d in t.shape]
        out[name] = {"shape": list(t.shape), "sum": float(t.double().sum()), "abs_sum": float(t.double().abs().sum()),
                     "elements": [pick(t, [0] * t.dim()), pick(t, mid), pick(t, last)]}
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    model = tiny_resnet()
    weights = os.path.join(OUT, "tiny-resnet.pth")
    torch.save(model.state_dict(), weights)
    img = os.path.join(OUT, "cat.png")
    image(img)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_reference.py"), "--weights", weights,
                    "--image", img, "-o", OUT], check=True)
    from safetensors.torch import load_file
    x = load_file(os.path.join(OUT, "activations.safetensors"))["input"]
    result = {"made_by": "tools/make_reference_fixtures.py", "torch": torch.__version__, "taps": checks(model, x)}
    with open(os.path.join(OUT, "checks.json"), "w") as f:
        f.write(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"{OUT}: {sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT)) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
