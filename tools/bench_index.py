#!/usr/bin/env python3
"""Indexing throughput: `vfw index` beside PyTorch and ONNX Runtime scripts doing the same work, in the same run.

    python tools/bench_index.py --vfw VFW [--images 200] [--threads 2] [--model resnet18|vit-base]

Makes N JPEG photos (crops and flips of scikit-image's photos, 640x480), writes synthetic weights with
`vfw synth`, then times (wall clock, whole job):
  - PyTorch: PIL decode + torchvision transforms + torchvision model in batches of 8, features collected;
  - ONNX Runtime: PIL decode + the same preprocessing in numpy (Pillow resize, crop, normalise) + the model exported by
    torch.onnx (feature output: the pooled vector, or the ViT's CLS token) in batches of 8, on --threads threads;
    its weights are random (timing does not depend on values; the export happens before the clock starts);
  - vfw: `vfw index DIR --weights W -o INDEX` (decode, preprocess, batched inference, index written).
The PyTorch loop runs for torchvision models only. Prints one JSON line with the images/s figures and the ratios.
"""
import argparse
import contextlib
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


def ort_index(folder, model_name, threads, work, batch=8):
    import onnxruntime as ort
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_torch import build
    model, size = build(model_name)
    vit = model_name.startswith("vit")

    class Features(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m
            if not vit:
                m.fc = torch.nn.Identity()

        def forward(self, x):
            return self.m(x).last_hidden_state[:, 0] if vit else self.m(x)

    path = os.path.join(work, f"{model_name}-index.onnx")
    with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
        torch.onnx.export(Features(model).eval(), (torch.rand(batch, 3, size, size),), path, input_names=["x"],
                          opset_version=18, dynamo=True, external_data=False,
                          dynamic_shapes={"x": {0: torch.export.Dim("batch", max=batch)}})
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    # torchvision: Resize(256) (shorter side, bilinear with antialias = PIL's), CenterCrop(224), ImageNet mean/std.
    # hf-vit: resize to 224x224 (PIL bilinear), rescale 1/255, mean = std = 0.5.
    mean, std = (np.float32([0.5] * 3), np.float32([0.5] * 3)) if vit else \
        (np.float32([0.485, 0.456, 0.406]), np.float32([0.229, 0.224, 0.225]))

    def prep(f):
        img = Image.open(f).convert("RGB")
        if vit:
            img = img.resize((size, size), Image.BILINEAR)
        else:
            w, h = img.size
            s = 256 / min(w, h)
            img = img.resize((round(w * s), round(h * s)), Image.BILINEAR)
            w, h = img.size
            l, t = int(round((w - size) / 2)), int(round((h - size) / 2))
            img = img.crop((l, t, l + size, t + size))
        a = (np.asarray(img, dtype=np.float32) / 255 - mean) / std
        return a.transpose(2, 0, 1)

    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    t0 = time.perf_counter()
    feats = []
    for i in range(0, len(files), batch):
        x = np.ascontiguousarray(np.stack([prep(f) for f in files[i:i + batch]]))
        feats.append(sess.run(None, {"x": x})[0])
    np.concatenate(feats)
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
    torch.set_num_threads(a.threads)
    torch_ips = None if a.model.startswith("vit") else torch_index(folder, weights, a.model, a.threads)
    ort_ips = ort_index(folder, a.model, a.threads, work)
    t0 = time.perf_counter()
    subprocess.run([a.vfw, "index", folder, "--weights", weights, "-o", os.path.join(work, "index.vfw"),
                    "--threads", str(a.threads)], check=True, capture_output=True)
    vfw_ips = a.images / (time.perf_counter() - t0)
    print(json.dumps({"images": a.images, "model": a.model, "threads": a.threads,
                      "torch_images_per_s": round(torch_ips, 1) if torch_ips else None,
                      "ort_images_per_s": round(ort_ips, 1), "vfw_images_per_s": round(vfw_ips, 1),
                      "ratio_vfw_over_torch_throughput": round(vfw_ips / torch_ips, 2) if torch_ips else None,
                      "ratio_vfw_over_ort_throughput": round(vfw_ips / ort_ips, 2)}))


if __name__ == "__main__":
    main()
