#!/usr/bin/env python3
"""Tiny DINOv2 models and position-table resamplings, and what real PyTorch computes with them.

    ~/.cache/vfw-venv/bin/python tools/make_dinov2_fixtures.py [-o Tests/Fixtures/dinov2]

Writes
    hf/        transformers Dinov2Model (save_pretrained: Hub names), bicubic table resampling
    hf-reg/    transformers Dinov2WithRegistersForImageClassification, 2 registers, 3 labels (`dinov2_with_registers.`
               prefix, classifier on cat(CLS, patch mean)), antialiased resampling
    timm-reg/  timm VisionTransformer as *_reg4_dinov2 defines it (2 registers, no_embed_class, LayerScale,
               dynamic_img_size), head of 3 classes on the CLS token; config.json = timm's hub config (num_heads)
each with model.safetensors, config.json and activations-S.safetensors: every canonical tap (Sources/Models/
DINOv2.swift) for `input-S` (in input.safetensors, [2, 3, S, S] fixed random) at S = 16 (the native 4x4 grid of
4-pixel patches), 24 (6x6: the table upsampled) and 12 (3x3: downsampled).
    resample.safetensors  `grid` [1, 5, 5, 3] and F.interpolate of its [1, 3, 5, 5] image to 2, 3, 7 and 9 per side,
               mode bicubic with (`aa-N`) and without (`bicubic-N`) antialias, as [N·N, 3] rows.
Weights random (layer scale 0.1-0.8, LayerNorm γ around 1); float32, CPU, one thread, eval, no_grad.
versions.json records the library versions. Same script and versions → same files.
"""
import argparse
import json
import os
import platform

import torch

SEED = 20261204
E, LAYERS, HEADS, MLP, PATCH, IMAGE, LABELS, REGS = 32, 2, 2, 64, 4, 16, 3, 2
SIZES = (16, 24, 12)


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("lambda1", "gamma")):
                p.copy_(torch.rand(p.shape, generator=g) * 0.7 + 0.1)
            elif p.ndim == 1 and name.endswith("weight"):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            elif p.ndim == 1:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif any(t in name for t in ("token", "pos")):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
    return model.eval()


def taps(model, x, hooks):
    out = {}
    modules = dict(model.named_modules())
    handles = [modules[m].register_forward_hook(
        lambda _m, _i, o, n=n: out.__setitem__(n, (o[0] if isinstance(o, tuple) else o).detach().clone().contiguous()))
        for m, n in hooks]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default="Tests/Fixtures/dinov2")
    out = ap.parse_args().output
    import timm
    import transformers as tf
    from safetensors.torch import save_file
    from timm.models.vision_transformer import VisionTransformer
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(SEED)
    inputs = {f"input-{s}": torch.randn((2, 3, s, s), generator=g) for s in SIZES}
    save_file(inputs, f"{out}/input.safetensors")

    common = dict(hidden_size=E, num_hidden_layers=LAYERS, num_attention_heads=HEADS, mlp_ratio=MLP // E,
                  patch_size=PATCH, image_size=IMAGE)
    layers = [(f"{{p}}encoder.layer.{i}", f"encoder.layer.{i}") for i in range(LAYERS)]
    models = {
        "hf": (perturb(tf.Dinov2Model(tf.Dinov2Config(**common)), 1), "", False),
        "hf-reg": (perturb(tf.Dinov2WithRegistersForImageClassification(tf.Dinov2WithRegistersConfig(
            **common, num_register_tokens=REGS, num_labels=LABELS)), 2), "dinov2_with_registers.", True),
    }
    for name, (m, p, head) in models.items():
        os.makedirs(f"{out}/{name}", exist_ok=True)
        m.save_pretrained(f"{out}/{name}")
        hooks = [(p + "embeddings", "embeddings")] + [(a.format(p=p), b) for a, b in layers] + [(p + "layernorm", "layernorm")]
        if head:
            hooks.append(("classifier", "classifier"))
        for s in SIZES:
            save_file(taps(m, inputs[f"input-{s}"], hooks), f"{out}/{name}/activations-{s}.safetensors")

    t = perturb(VisionTransformer(img_size=IMAGE, patch_size=PATCH, embed_dim=E, depth=LAYERS, num_heads=HEADS, mlp_ratio=MLP / E,
                                  init_values=1e-5, reg_tokens=REGS, no_embed_class=True, num_classes=LABELS,
                                  dynamic_img_size=True), 3)
    os.makedirs(f"{out}/timm-reg", exist_ok=True)
    save_file({k: v.contiguous() for k, v in t.state_dict().items()}, f"{out}/timm-reg/model.safetensors")
    with open(f"{out}/timm-reg/config.json", "w") as f:
        json.dump({"architecture": "vit_small_patch14_reg4_dinov2", "model_args": {"num_heads": HEADS}}, f, indent=2, sort_keys=True)
    hooks = [("pos_drop", "embeddings")] + [(f"blocks.{i}", f"encoder.layer.{i}") for i in range(LAYERS)] + \
        [("norm", "layernorm"), ("head", "classifier")]
    for s in SIZES:
        save_file(taps(t, inputs[f"input-{s}"], hooks), f"{out}/timm-reg/activations-{s}.safetensors")

    grid = torch.randn((1, 5, 5, 3), generator=g)
    image = grid.permute(0, 3, 1, 2)
    resampled = {"grid": grid.contiguous()}
    for n in (2, 3, 7, 9):
        for label, aa in (("bicubic", False), ("aa", True)):
            r = torch.nn.functional.interpolate(image, size=(n, n), mode="bicubic", align_corners=False, antialias=aa)
            resampled[f"{label}-{n}"] = r.permute(0, 2, 3, 1).reshape(n * n, 3).contiguous()
    save_file(resampled, f"{out}/resample.safetensors")
    with open(f"{out}/versions.json", "w") as f:
        json.dump({"python": platform.python_version(), "torch": torch.__version__, "transformers": tf.__version__,
                   "timm": timm.__version__, "script": "tools/make_dinov2_fixtures.py"}, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"{out}: hf, hf-reg, timm-reg at {SIZES}, resample.safetensors")


if __name__ == "__main__":
    main()
