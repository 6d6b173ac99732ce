#!/usr/bin/env python3
"""End-to-end parity of `vfw embed` with the real library, for any registered family whose feature vector is the
input of its classifier (the pooled pre-classifier vector: RegNet, ...).

    python tools/check_features.py --vfw VFW --weights W.pth|W.safetensors --logits fc [--tolerance 1e-4]
                                   [--image-size H[xW]] IMAGE...

The Python side loads W with the family's real library model (tools/reference_families: the same detect / infer /
load make_reference.py uses), preprocesses each image with the family's preset (make_reference.PRESETS: real
torchvision transforms on a PIL image) and takes the flattened input of the module recorded under the tap name
--logits (torchvision `fc`, timm `head.fc`, ...). The vfw side is `vfw embed IMAGE... --weights W` (its own decoding,
resizing and normalisation). --image-size runs both at that input size (make_reference.transform_for on the Python
side, `vfw embed --image-size` on vfw's). Exit 0 when every vector matches within |a-e| <= tol + tol*|e|.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference  # noqa: E402


def torch_features(weights: str, logits: str, images, size=None, output=False):
    file, hf_config = make_reference.resolve_weights(weights)  # a Hugging Face folder: its weights and config.json
    sd = make_reference.load_state_dict(file)
    family = make_reference.family_for(sd, None, file)
    name, config = family.infer(sd, None, file, hf_config)
    model = family.load(file, sd, name, config).to(torch.float32).eval()
    module = next((m for m, tap in family.taps(model, False) if tap == logits), None)
    if module is None:
        raise SystemExit(f"{weights}: the {family.name} family has no tap named {logits}")
    transform = make_reference.transform_for(family.preset(sd, config), config, None, size)  # no folder here
    x = torch.stack([transform(Image.open(p).convert("RGB")) for p in images])
    seen = []
    def hook(_m, inputs, out):
        seen.append((out[0] if isinstance(out, (tuple, list)) else out) if output else inputs[0])
    handle = dict(model.named_modules())[module].register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen[0].reshape(len(images), -1).numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vfw", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--logits", default="fc", help="canonical tap name of the classifier whose input is the feature")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--output", action="store_true",
                    help="compare the OUTPUT of the module under --logits with `vfw embed --layer` of that tap")
    ap.add_argument("--image-size", type=make_reference.parse_size, default=None, metavar="H[xW]")
    ap.add_argument("images", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(2)
    ref = torch_features(a.weights, a.logits, a.images, a.image_size, a.output)
    size = [] if a.image_size is None else ["--image-size", f"{a.image_size[0]}x{a.image_size[1]}"]
    layer = ["--layer", a.logits] if a.output else []
    out = subprocess.run([a.vfw, "embed", *a.images, "--weights", a.weights, *size, *layer], check=True, capture_output=True, text=True)
    got = np.array([row["vector"] for row in json.loads(out.stdout)], dtype=np.float32)
    assert got.shape == ref.shape, f"shape {got.shape} vs torch {ref.shape}"
    ok = True
    for i, p in enumerate(a.images):
        err = np.abs(got[i] - ref[i])
        allowed = a.tolerance + a.tolerance * np.abs(ref[i])
        bad = int((err > allowed).sum())
        cos = float(np.dot(got[i], ref[i]) / (np.linalg.norm(got[i]) * np.linalg.norm(ref[i])))
        print(f"{os.path.basename(p)}: max abs {err.max():.2e}, cosine {cos:.8f}, {bad} of {err.size} outside tolerance")
        ok &= bad == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
