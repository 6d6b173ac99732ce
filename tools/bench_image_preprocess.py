#!/usr/bin/env python3
"""Times decode + preprocess of a 1024x768 JPEG in Python, to compare with vfw's Swift Imaging module.

    ~/.cache/vfw-venv/bin/python tools/bench_image_preprocess.py [/tmp/vfw-bench-1024x768.jpg]

Makes the JPEG if it does not exist (a 2x2 mosaic of 512x384 crops of scikit-image photos at their own
resolution - astronaut, rocket, coffee, motorcycle_left - so it has a photo's detail; saved by Pillow at
quality 90, 4:2:0), then times, per run:
  torchvision: Image.open(p).convert("RGB") -> Resize(256), CenterCrop(224), ToTensor, Normalize -> [1,3,224,224]
  hf-vit:      Image.open(p).convert("RGB") -> ViTImageProcessorPil()(img)["pixel_values"]
and the decode alone. The Swift side: VFW_IMAGING_BENCH=<jpeg> swift test -c release --filter ImagingBenchmark.
"""
import os
import statistics
import sys
import time

import skimage
import torch
import transformers
from PIL import Image
from torchvision import transforms

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/vfw-bench-1024x768.jpg"
if not os.path.exists(path):
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    mosaic = Image.new("RGB", (1024, 768))
    for i, name in enumerate(["astronaut.png", "rocket.jpg", "coffee.png", "motorcycle_left.png"]):
        tile = Image.open(os.path.join(data, name)).convert("RGB").crop((0, 0, 512, 384))
        mosaic.paste(tile, (512 * (i % 2), 384 * (i // 2)))
    mosaic.save(path, "JPEG", quality=90)
torch.set_num_threads(2)
tv = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
hf = transformers.ViTImageProcessorPil()


def timed(f, n=60):
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3, min(ts) * 1e3


runs = {
    "decode (Image.open + convert RGB)": lambda: Image.open(path).convert("RGB"),
    "torchvision decode + preprocess": lambda: tv(Image.open(path).convert("RGB")).unsqueeze(0),
    "hf-vit (PIL backend) decode + preprocess": lambda: hf(Image.open(path).convert("RGB"), return_tensors="pt")["pixel_values"],
}
img = Image.open(path).convert("RGB")
runs["torchvision preprocess only"] = lambda: tv(img)
runs["PIL resize 1024x768 -> 341x256 only"] = lambda: img.resize((341, 256), Image.BILINEAR)
print(f"{path}: {img.size}")
for name, f in runs.items():
    med, best = timed(f)
    print(f"  {name:45s} median {med:7.2f} ms   min {best:7.2f} ms")
