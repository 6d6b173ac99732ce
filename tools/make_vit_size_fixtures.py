#!/usr/bin/env python3
"""ViTs run on inputs of other sizes by the real libraries: position tables resampled and end-to-end taps.

    ~/.cache/vfw-venv/bin/python tools/make_vit_size_fixtures.py [-o Tests/Fixtures/vit/sizes]

A tiny ViT (hidden 32, 2 layers, 2 heads, MLP 64, 5 classes) with patch 4 built for 28x28 inputs: a 7x7 grid of
patches, the grid a patch-32 ViT has at 224. It runs at 20x20 (5x5: the grid of 160 px at patch 32, table shrunk),
28x28 (its own grid: table untouched), 36x36 (9x9: 288 px, table grown), 48x28 (12x7: 384x224) and 16x36 (4x9:
shrunk in height, grown in width), in two libraries:

    hf/    transformers ViTForImageClassification, save_pretrained (transformers-4 names), run with
           interpolate_pos_encoding=True (ViTEmbeddings.interpolate_pos_encoding: F.interpolate bicubic,
           align_corners=False, to the new grid; the table as it is when the grid is the same)
    timm/  timm VisionTransformer (global_pool='token') with dynamic_img_size=True, timm.models.save_for_hf
           (_pos_embed -> resample_abs_pos_embed: bicubic with antialias=True, prefix tokens kept)

Each folder holds model.safetensors, config.json and activations-HxW.safetensors: the float32 output of every
canonical tap (embeddings, encoder.layer.N, layernorm, classifier) for `input-HxW` of input.safetensors
([1, 3, H, W], fixed random). resample.safetensors holds the library functions alone on the 7x7 table of the
hf model (`grid` [49, 32]): `hf-HxW` from transformers' interpolate_pos_encoding, `timm-HxW` from timm's
resample_abs_pos_embed, for 3x3, 5x5, 9x9, 12x7, 4x9 and 14x14 (both directions, non-square, 2x). CPU, float32,
one thread, eval, no_grad; every parameter random (see perturb). versions.json records the versions. Same script
and versions -> same files.
"""
import argparse
import json
import os
import platform
import shutil

import torch

SEED = 20261205
E, LAYERS, HEADS, MLP, PATCH, IMAGE, LABELS = 32, 2, 2, 64, 4, 28, 5
SIZES = [(20, 20), (28, 28), (36, 36), (48, 28), (16, 36)]
GRIDS = [(3, 3), (5, 5), (9, 9), (12, 7), (4, 9), (14, 14)]


def perturb(model: torch.nn.Module, seed: int) -> None:
    """Every parameter random: 2-D and conv weights ~ N(0, 1/fan_in), LayerNorm γ ~ U(0.5, 1.5), other 1-D
    ~ N(0, 0.1), class token and position table ~ N(0, 0.5)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2 and not any(t in name for t in ("cls_token", "pos")):
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
            elif p.dim() == 1 and name.endswith("weight"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))


def record(model, taps, x, **kwargs):
    out, handles = {}, []
    for name, module in taps:
        def hook(_m, _inp, o, name=name):
            o = o[0] if isinstance(o, (tuple, list)) else o
            out[name] = o.detach().clone().contiguous()
        handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(x, **kwargs)
    for h in handles:
        h.remove()
    return out


def label(h, w):
    return f"{h}x{w}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "vit", "sizes"))
    args = ap.parse_args()
    out = os.path.normpath(args.output)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    import safetensors
    import timm
    import transformers
    from safetensors.torch import save_file
    from timm.layers import resample_abs_pos_embed
    from timm.models.vision_transformer import VisionTransformer as TimmViT
    from transformers import ViTConfig, ViTForImageClassification

    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    g = torch.Generator().manual_seed(SEED)
    inputs = {f"input-{label(h, w)}": torch.randn(1, 3, h, w, generator=g) for h, w in SIZES}
    save_file(inputs, os.path.join(out, "input.safetensors"))

    def folder(name):
        d = os.path.join(out, name)
        os.makedirs(d)
        return d

    # transformers ViTForImageClassification, run with interpolate_pos_encoding=True.
    cfg = ViTConfig(hidden_size=E, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=MLP,
                    patch_size=PATCH, image_size=IMAGE, num_labels=LABELS, attn_implementation="eager")
    hf = ViTForImageClassification(cfg).eval()
    perturb(hf, SEED + 1)
    d = folder("hf")
    hf.save_pretrained(d)
    layers = hf.vit.layers if hasattr(hf.vit, "layers") else hf.vit.encoder.layer
    taps = [("embeddings", hf.vit.embeddings)] + [(f"encoder.layer.{i}", l) for i, l in enumerate(layers)]
    taps += [("layernorm", hf.vit.layernorm), ("classifier", hf.classifier)]
    for h, w in SIZES:
        acts = record(hf, taps, inputs[f"input-{label(h, w)}"], interpolate_pos_encoding=True)
        save_file(acts, os.path.join(d, f"activations-{label(h, w)}.safetensors"))

    # timm VisionTransformer with dynamic_img_size=True.
    model_args = dict(img_size=IMAGE, patch_size=PATCH, embed_dim=E, depth=LAYERS, num_heads=HEADS, mlp_ratio=MLP / E,
                      num_classes=LABELS, global_pool="token", dynamic_img_size=True)
    tm = timm.create_model("vit_tiny_patch16_224", pretrained=False, **model_args).eval()
    assert isinstance(tm, TimmViT) and tm.dynamic_img_size
    perturb(tm, SEED + 2)
    d = folder("timm")
    timm.models.save_for_hf(tm, d, safe_serialization=True, model_args=model_args)
    if os.path.exists(os.path.join(d, "pytorch_model.bin")):
        os.remove(os.path.join(d, "pytorch_model.bin"))
    taps = [("embeddings", tm.pos_drop)] + [(f"encoder.layer.{i}", b) for i, b in enumerate(tm.blocks)]
    taps += [("layernorm", tm.norm), ("classifier", tm.head)]
    for h, w in SIZES:
        acts = record(tm, taps, inputs[f"input-{label(h, w)}"])
        save_file(acts, os.path.join(d, f"activations-{label(h, w)}.safetensors"))

    # The resampling functions alone, on the hf model's table.
    table = hf.vit.embeddings.position_embeddings.detach().clone()
    res = {"grid": table[0, 1:].contiguous()}
    with torch.no_grad():
        for h, w in GRIDS:
            x = torch.zeros(1, 1 + h * w, E)
            hf_out = hf.vit.embeddings.interpolate_pos_encoding(x, h * PATCH, w * PATCH)
            res[f"hf-{label(h, w)}"] = hf_out[0, 1:].contiguous()
            assert torch.equal(hf_out[0, :1], table[0, :1])
            timm_out = resample_abs_pos_embed(table, new_size=(h, w), old_size=(IMAGE // PATCH,) * 2, num_prefix_tokens=1)
            res[f"timm-{label(h, w)}"] = timm_out[0, 1:].contiguous()
    save_file(res, os.path.join(out, "resample.safetensors"))

    versions = {"torch": torch.__version__, "transformers": transformers.__version__, "timm": timm.__version__,
                "safetensors": safetensors.__version__, "python": platform.python_version(), "seed": SEED,
                "script": "tools/make_vit_size_fixtures.py"}
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump(versions, f, indent=2, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(r, fn)) for r, _, fs in os.walk(out) for fn in fs)
    print(f"wrote {out}: {total // 1024} KB")


if __name__ == "__main__":
    main()
