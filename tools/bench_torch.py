#!/usr/bin/env python3
"""PyTorch's CPU forward time for the models vfw implements, measured like `vfw bench`.

    python tools/bench_torch.py --model resnet50 --batch 8 --threads 2 [--runs 10] [--warmup 2] [--json]

Same protocol as `vfw bench`: random weights (timing does not depend on values), eval mode, no_grad,
a fixed input, median of --runs after --warmup, torch.set_num_threads(--threads). ViT models are
transformers' ViTModel with the named config.
"""
import argparse
import json
import resource
import time

import torch


def build(name):
    if name.startswith("vit"):
        from transformers import ViTConfig, ViTModel
        sizes = {"tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12), "large": (1024, 24, 16), "huge": (1280, 32, 16)}
        size = next((v for k, v in sizes.items() if k in name), sizes["base"])
        patch = 32 if "patch32" in name else 14 if "patch14" in name else 16
        cfg = ViTConfig(hidden_size=size[0], num_hidden_layers=size[1], num_attention_heads=size[2],
                        intermediate_size=4 * size[0], patch_size=patch)
        return ViTModel(cfg, add_pooling_layer=True), 224
    import torchvision
    return getattr(torchvision.models, name)(), 224


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, size = build(a.model)
    model.eval()
    x = torch.rand(a.batch, 3, size, size) * 2 - 1
    times = []
    with torch.no_grad():
        for _ in range(a.warmup):
            model(x)
        for _ in range(a.runs):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    med = times[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if a.json:
        print(json.dumps({"model": a.model, "batch": a.batch, "threads": a.threads, "median_ms": round(med, 2),
                          "min_ms": round(times[0], 2), "peak_rss_mb": round(rss), "torch": torch.__version__}))
    else:
        print(f"torch {a.model} batch {a.batch}: median {med:.1f} ms, min {times[0]:.1f} ms over {a.runs} runs; peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
