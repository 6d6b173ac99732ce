#!/usr/bin/env python3
"""End-to-end parity of `vfw embed` with PyTorch: model(preprocess(image)) for real photos.

    python tools/check_embed.py --vfw VFW --weights W.safetensors --family resnet|vit|hf-resnet [--model NAME]
                                [--tolerance 1e-4] IMAGE...

The Python side is the real pipeline: PIL decode + torchvision transforms (Resize(256), CenterCrop(224),
ToTensor, Normalize) and torchvision's ResNet for `resnet`; PIL decode + transformers' ViTImageProcessor
(PIL backend) and transformers' ViTModel for `vit` (feature = last_hidden_state[:, 0], the CLS token after
the final layer norm); torchvision's preset and transformers' ResNetModel (pooler_output) for `hf-resnet` (a
transformers-saved folder). The vfw side is `vfw embed IMAGE... --weights W` (its own PNG/JPEG decoding,
resizing and normalisation). Exit 0 when every vector matches within |a-e| <= tol + tol*|e|.
"""
import argparse
import json
import subprocess
import sys

import numpy as np
import torch
from PIL import Image


def torch_resnet(weights, name, images):
    import torchvision
    from torchvision import transforms
    from safetensors.torch import load_file
    sd = load_file(weights) if weights.endswith(".safetensors") else torch.load(weights, weights_only=True)
    m = getattr(torchvision.models, name)(num_classes=sd["fc.weight"].shape[0])
    m.load_state_dict(sd)
    m.eval()
    m.fc = torch.nn.Identity()  # pooled features, flattened: what `vfw embed` returns for ResNet
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                             transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in images])
    with torch.no_grad():
        return m(x).numpy()


def torch_hf_resnet(folder, images):
    """transformers' own ResNet (ResNetModel inside ResNetForImageClassification when it has a head) on the
    torchvision preset; the feature is its pooler_output, flattened."""
    from torchvision import transforms
    from transformers import AutoModel
    m = AutoModel.from_pretrained(folder).eval()
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                             transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in images])
    with torch.no_grad():
        return m(pixel_values=x).pooler_output.flatten(1).numpy()


def torch_vit(folder, images):
    from transformers import ViTImageProcessorPil, ViTModel
    m = ViTModel.from_pretrained(folder).eval()
    proc = ViTImageProcessorPil()
    x = proc(images=[Image.open(p).convert("RGB") for p in images], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        return m(pixel_values=x).last_hidden_state[:, 0].numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vfw", required=True)
    ap.add_argument("--weights", required=True, help="for vit: a Hugging Face folder")
    ap.add_argument("--family", choices=["resnet", "vit", "hf-resnet"], required=True)
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("images", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(2)
    ref = {"resnet": lambda: torch_resnet(a.weights, a.model, a.images), "vit": lambda: torch_vit(a.weights, a.images),
           "hf-resnet": lambda: torch_hf_resnet(a.weights, a.images)}[a.family]()
    out = subprocess.run([a.vfw, "embed", *a.images, "--weights", a.weights], check=True, capture_output=True, text=True)
    got = np.array([row["vector"] for row in json.loads(out.stdout)], dtype=np.float32)
    assert got.shape == ref.shape, f"shape {got.shape} vs torch {ref.shape}"
    ok = True
    for i, p in enumerate(a.images):
        err = np.abs(got[i] - ref[i])
        allowed = a.tolerance + a.tolerance * np.abs(ref[i])
        bad = int((err > allowed).sum())
        cos = float(np.dot(got[i], ref[i]) / (np.linalg.norm(got[i]) * np.linalg.norm(ref[i])))
        print(f"{p}: max abs {err.max():.2e}, cosine {cos:.8f}, {bad} of {err.size} outside tolerance")
        ok &= bad == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
