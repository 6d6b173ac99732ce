#!/usr/bin/env python3
"""End-to-end parity of `vfw embed` with PyTorch: model(preprocess(image)) for real photos.

    python tools/check_embed.py --vfw VFW --weights W.safetensors --family resnet|vit|hf-resnet|hf [--model NAME] [--backend torchvision|pil]
                                [--tolerance 1e-4] IMAGE...

The Python side is the real pipeline: PIL decode + torchvision transforms (Resize(256), CenterCrop(224),
ToTensor, Normalize) and torchvision's ResNet for `resnet`; PIL decode + transformers 5's ViTImageProcessor
(torchvision backend; --backend pil: ViTImageProcessorPil) and transformers' ViTModel for `vit` (feature =
last_hidden_state[:, 0], the CLS token after the final layer norm); torchvision's preset and transformers'
ResNetModel (pooler_output) for `hf-resnet` (a transformers-saved folder without preprocessor_config.json);
AutoImageProcessor + AutoModel of the folder for `hf` (its preprocessor_config.json). The vfw side is `vfw embed IMAGE... --weights W` (its own PNG/JPEG decoding,
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


def torch_vit(folder, images, backend):
    """transformers' ViTModel fed as transformers 5's default pipeline feeds it: ViTImageProcessor (torchvision
    backend), or ViTImageProcessorPil with backend "pil"; sized to the model (config image_size)."""
    from transformers import ViTImageProcessor, ViTImageProcessorPil, ViTModel
    m = ViTModel.from_pretrained(folder).eval()
    side = m.config.image_size
    proc = (ViTImageProcessorPil if backend == "pil" else ViTImageProcessor)(size={"height": side, "width": side})
    x = proc(images=[Image.open(p).convert("RGB") for p in images], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        return m(pixel_values=x).last_hidden_state[:, 0].numpy()


def torch_hf(folder, images, backend):
    """The folder as transformers loads it: AutoImageProcessor (its preprocessor_config.json; torchvision
    backend by default, "pil" for the Pil class) + AutoModel. The feature: ViT's CLS token of the last hidden
    state, a CNN's pooler_output flattened. Images are fed one at a time (a processor without a crop keeps each
    image's aspect ratio)."""
    from transformers import AutoImageProcessor, AutoModel
    proc = AutoImageProcessor.from_pretrained(folder, backend=backend)
    m = AutoModel.from_pretrained(folder).eval()
    out = []
    for p in images:
        # As transformers users feed it: the image as Pillow opened it when the processor converts to RGB itself
        # (do_convert_rgb: transparency onto white), else Pillow's convert("RGB") (a gray image would not normalise).
        im = Image.open(p) if getattr(proc, "do_convert_rgb", None) else Image.open(p).convert("RGB")
        x = proc(images=[im], return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            o = m(pixel_values=x)
        out.append((o.last_hidden_state[:, 0] if m.config.model_type == "vit" else o.pooler_output.flatten(1)).numpy()[0])
    return np.stack(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vfw", required=True)
    ap.add_argument("--weights", required=True, help="for vit: a Hugging Face folder")
    ap.add_argument("--family", choices=["resnet", "vit", "hf-resnet", "hf"], required=True)
    ap.add_argument("--backend", choices=["torchvision", "pil"], default="torchvision",
                    help="transformers' processor backend (vit, hf); pil also passes --preprocess backend=hf-pil to vfw")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("images", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(2)
    ref = {"resnet": lambda: torch_resnet(a.weights, a.model, a.images),
           "vit": lambda: torch_vit(a.weights, a.images, a.backend),
           "hf-resnet": lambda: torch_hf_resnet(a.weights, a.images),
           "hf": lambda: torch_hf(a.weights, a.images, a.backend)}[a.family]()
    extra = ["--preprocess", "backend=hf-pil"] if a.backend == "pil" else []
    out = subprocess.run([a.vfw, "embed", *a.images, "--weights", a.weights, *extra], check=True, capture_output=True, text=True)
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
