#!/usr/bin/env python3
"""Tiny Vision Transformers in every layout vfw reads, and what real PyTorch computes with them.

    ~/.cache/vfw-venv/bin/python tools/make_vit_fixtures.py [-o Tests/Fixtures/vit]

Writes one folder per model (a Hugging Face-style folder: weights + config.json beside them):

    hf-model/            transformers ViTModel (pooler), save_pretrained: transformers-4 names, no prefix
    hf-classifier/       transformers ViTForImageClassification, 5 labels, qkv_bias=False, layer_norm_eps=1e-3,
                         torch.save-style state_dict: transformers-5 names with the `vit.` prefix
    timm/                timm VisionTransformer (global_pool='token'), 5 classes, timm.models.save_for_hf
    torchvision/         torchvision VisionTransformer, 5 classes (mlp.0 / mlp.3 names)
    torchvision-prelogits/  torchvision VisionTransformer with representation_size=24 (heads.pre_logits → tanh)

each holding model.safetensors, config.json and activations.safetensors: the float32 output of every canonical
tap (vfw's Sources/Models/ViT.swift) for the shared input in input.safetensors (`input` [2, 3, 32, 32], fixed
random), recorded with forward hooks on the modules that compute it in that library:

    embeddings        HF `embeddings`, timm `pos_drop`, torchvision `encoder.dropout` (patches + cls + positions)
    encoder.layer.N   HF `layers.N` (`encoder.layer.N` in transformers 4), timm `blocks.N`, torchvision `encoder.layers.encoder_layer_N`
    layernorm         HF `layernorm`, timm `norm`, torchvision `encoder.ln`
    pooler            HF `pooler`, torchvision `heads.act`
    classifier        HF `classifier`, timm `head`, torchvision `heads.head`

Every parameter is random (LayerNorm γ around 1, β, class token and positions all non-trivial) so that a wrong
mapping cannot pass. Parameters are rounded to float16 before the reference runs (in float32) and stored as
float16: the same values, half the bytes, and vfw's f16 → f32 load path on the way. config.json for torchvision is vfw's own convention (torchvision has none): it only says
num_attention_heads, which shapes cannot tell for a 32-wide model. Tiny config everywhere: hidden 32, 2 layers,
2 heads, MLP 64, patch 8, image 32 (17 tokens). CPU, float32, one thread, eval, no_grad; versions.json records
the library versions. Same script and versions → same files.
"""
import argparse
import json
import os
import platform
import shutil

import torch

SEED = 20261127
E, LAYERS, HEADS, MLP, PATCH, IMAGE, LABELS = 32, 2, 2, 64, 8, 32, 5


def perturb(model: torch.nn.Module, seed: int) -> None:
    """Every parameter random: 2-D and conv weights ~ N(0, 1/fan_in), LayerNorm γ ~ U(0.5, 1.5), other 1-D ~ N(0, 0.1),
    tokens ~ N(0, 0.5); then rounded to the nearest float16 (the model still computes in float32)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2 and not any(t in name for t in ("cls_token", "class_token", "pos", "position")):
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            elif p.dim() == 1 and name.endswith("weight"):  # LayerNorm γ
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:  # class token, position embeddings [1, T, E]
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            p.copy_(p.half().float())


def record(model, taps, x):
    """Runs model(x) with a forward hook on each (tap name, module); returns {tap: output}."""
    out = {}
    handles = []
    for name, module in taps:
        def hook(_m, _inp, o, name=name):
            o = o[0] if isinstance(o, (tuple, list)) else o
            out[name] = o.detach().clone().contiguous()
        handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return out


def hf_layers(vit):
    # transformers 5: ViTModel.layers; transformers 4: ViTModel.encoder.layer.
    return vit.layers if hasattr(vit, "layers") else vit.encoder.layer


def save(folder, tensors, activations):
    """Weights (as float16; `tensors` None: re-encode the model.safetensors a library wrote) and activations."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = os.path.join(folder, "model.safetensors")
    metadata = {"format": "pt"}
    if tensors is None:
        with safe_open(path, "pt") as f:
            metadata = f.metadata() or metadata
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    for k, v in tensors.items():
        assert torch.equal(v.half().float(), v.float()), f"{k} is not float16-exact"
    save_file({k: v.half().contiguous() for k, v in tensors.items()}, path, metadata=metadata)
    save_file({k: v.float().contiguous() for k, v in activations.items()}, os.path.join(folder, "activations.safetensors"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "vit"))
    args = ap.parse_args()
    out = os.path.normpath(args.output)

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    import timm
    import torchvision
    import transformers
    import safetensors
    from transformers import ViTConfig, ViTModel, ViTForImageClassification
    from timm.models.vision_transformer import VisionTransformer as TimmViT
    from torchvision.models.vision_transformer import VisionTransformer as TVViT

    x = torch.randn(2, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(SEED))
    os.makedirs(out, exist_ok=True)
    from safetensors.torch import save_file
    save_file({"input": x}, os.path.join(out, "input.safetensors"))

    def folder(name):
        d = os.path.join(out, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    # Hugging Face ViTModel with pooler; save_pretrained writes the Hub's transformers-4 names.
    cfg = ViTConfig(hidden_size=E, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=MLP,
                    patch_size=PATCH, image_size=IMAGE, attn_implementation="eager")
    m = ViTModel(cfg, add_pooling_layer=True).eval()
    perturb(m, SEED + 1)
    d = folder("hf-model")
    m.save_pretrained(d)
    taps = [("embeddings", m.embeddings)] + [(f"encoder.layer.{i}", l) for i, l in enumerate(hf_layers(m))]
    taps += [("layernorm", m.layernorm), ("pooler", m.pooler)]
    save(d, None, record(m, taps, x))

    # ViTForImageClassification, transformers-5 in-memory names (`vit.layers.N.attention.q_proj`), no qkv bias.
    cfg = ViTConfig(hidden_size=E, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=MLP,
                    patch_size=PATCH, image_size=IMAGE, qkv_bias=False, layer_norm_eps=1e-3, num_labels=LABELS,
                    id2label={i: f"class {chr(65 + i)}" for i in range(LABELS)}, attn_implementation="eager")
    m = ViTForImageClassification(cfg).eval()
    perturb(m, SEED + 2)
    d = folder("hf-classifier")
    m.config.save_pretrained(d)
    taps = [("embeddings", m.vit.embeddings)] + [(f"encoder.layer.{i}", l) for i, l in enumerate(hf_layers(m.vit))]
    taps += [("layernorm", m.vit.layernorm), ("classifier", m.classifier)]
    save(d, m.state_dict(), record(m, taps, x))

    # timm VisionTransformer (fused qkv), saved as timm's Hub export does.
    m = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=IMAGE, patch_size=PATCH, embed_dim=E,
                          depth=LAYERS, num_heads=HEADS, mlp_ratio=MLP / E, num_classes=LABELS).eval()
    assert isinstance(m, TimmViT) and m.global_pool == "token"
    perturb(m, SEED + 3)
    d = folder("timm")
    timm.models.save_for_hf(m, d, safe_serialization=True,
                            model_args=dict(img_size=IMAGE, patch_size=PATCH, embed_dim=E, depth=LAYERS, num_heads=HEADS,
                                            mlp_ratio=MLP / E))
    if os.path.exists(os.path.join(d, "pytorch_model.bin")):
        os.remove(os.path.join(d, "pytorch_model.bin"))
    taps = [("embeddings", m.pos_drop)] + [(f"encoder.layer.{i}", b) for i, b in enumerate(m.blocks)]
    taps += [("layernorm", m.norm), ("classifier", m.head)]
    save(d, None, record(m, taps, x))

    # torchvision VisionTransformer (in_proj_weight, mlp.0 / mlp.3), and one with a representation layer.
    for name, layers, rep, seed in [("torchvision", LAYERS, None, SEED + 4), ("torchvision-prelogits", 1, 24, SEED + 5)]:
        m = TVViT(image_size=IMAGE, patch_size=PATCH, num_layers=layers, num_heads=HEADS, hidden_dim=E, mlp_dim=MLP,
                  num_classes=LABELS, representation_size=rep).eval()
        perturb(m, seed)
        d = folder(name)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"num_attention_heads": HEADS}, f)
        taps = [("embeddings", m.encoder.dropout)] + [(f"encoder.layer.{i}", l) for i, l in enumerate(m.encoder.layers)]
        taps += [("layernorm", m.encoder.ln)]
        if rep is not None:
            taps += [("pooler", m.heads.act)]
        taps += [("classifier", m.heads.head)]
        save(d, m.state_dict(), record(m, taps, x))

    versions = {"torch": torch.__version__, "transformers": transformers.__version__, "timm": timm.__version__,
                "torchvision": torchvision.__version__, "safetensors": safetensors.__version__,
                "python": platform.python_version(), "seed": SEED, "script": "tools/make_vit_fixtures.py"}
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump(versions, f, indent=2, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(r, fn)) for r, _, fs in os.walk(out) for fn in fs)
    print(f"wrote {out}: {total // 1024} KB")


if __name__ == "__main__":
    main()
