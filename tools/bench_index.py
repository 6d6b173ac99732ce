#!/usr/bin/env python3
"""Indexing throughput: `vfw index` beside a PyTorch script doing the same work, in the same run.

    python tools/bench_index.py --vfw VFW [--images 200] [--threads 2] [--model resnet18]

Makes N JPEG photos (crops and flips of scikit-image's photos, 640x480), writes synthetic weights with
`vfw synth`, then times (wall clock, whole job):
  - PyTorch: PIL decode + torchvision transforms + torchvision model in batches of 8, features collected;
  - vfw: `vfw index DIR --weights W -o INDEX` (decode, preprocess, batched inference, index written).
Prints one JSON line with both images/s figures and the ratio.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image


def make_images(folder, n):
    import skimage
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    sources = [np.asarray(Image.open(os.path.join(data, f)).convert("RGB")) for f in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")]
    rng = np.random.default_rng(0)
    for i in range(n):
        src = sources[i % len(sources)]
        img = Image.fromarray(src).resize((800, 600), Image.BILINEAR)
        x, y = int(rng.integers(0, 160)), int(rng.integers(0, 120))
        img = img.crop((x, y, x + 640, y + 480))
        if i % 2:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        img.save(os.path.join(folder, f"img{i:04d}.jpg"), quality=90)


def torch_index(folder, weights, model_name, threads, batch=8):
    import torchvision
    from torchvision import transforms
    from safetensors.torch import load_file
    torch.set_num_threads(threads)
    m = getattr(torchvision.models, model_name)()
    m.load_state_dict(load_file(weights))
    m.fc = torch.nn.Identity()
    m.eval()
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                             transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    t0 = time.perf_counter()
    feats = []
    with torch.no_grad():
        for i in range(0, len(files), batch):
            x = torch.stack([tf(Image.open(f).convert("RGB")) for f in files[i:i + batch]])
            feats.append(m(x))
    np.save(os.path.join(tempfile.gettempdir(), "bench-index-torch.npy"), torch.cat(feats).numpy())
    return len(files) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vfw", required=True)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="resnet18")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="vfw-bench-index-")
    folder = os.path.join(work, "photos")
    os.makedirs(folder)
    make_images(folder, a.images)
    weights = os.path.join(work, "w.safetensors")
    subprocess.run([a.vfw, "synth", "--model", a.model, "-o", weights], check=True, capture_output=True)
    torch_ips = torch_index(folder, weights, a.model, a.threads)
    t0 = time.perf_counter()
    subprocess.run([a.vfw, "index", folder, "--weights", weights, "-o", os.path.join(work, "index.vfw"),
                    "--threads", str(a.threads)], check=True, capture_output=True)
    vfw_ips = a.images / (time.perf_counter() - t0)
    print(json.dumps({"images": a.images, "model": a.model, "threads": a.threads, "torch_images_per_s": round(torch_ips, 1),
                      "vfw_images_per_s": round(vfw_ips, 1), "ratio_vfw_over_torch_throughput": round(vfw_ips / torch_ips, 2)}))


if __name__ == "__main__":
    main()
