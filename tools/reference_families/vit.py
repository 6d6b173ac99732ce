"""Vision Transformers: Hugging Face ViTModel / ViTForImageClassification, timm VisionTransformer, torchvision
VisionTransformer. The Swift family is Sources/Models/ViT.swift (+ ViTLayout.swift)."""
import os
import re
from typing import List, Optional, Tuple

from .common import Family, InputError, strict_load

# ViT: Hugging Face ViTModel / ViTForImageClassification (transformers 4 or 5 key names, with or without
# `vit.`), timm VisionTransformer, torchvision VisionTransformer. Config vocabulary = the .vfw header's
# (Sources/Models/ViT.swift); tap names = the canonical ones, the same for every layout and transformers version.
VITS = ("vit-tiny-patch16-224", "vit-small-patch16-224", "vit-base-patch16-224", "vit-base-patch32-224",
        "vit-large-patch16-224", "vit-large-patch32-224", "vit-huge-patch14-224", "vit-base")
VIT_SIZES = {(192, 12, 3, 768): "tiny", (384, 12, 6, 1536): "small", (768, 12, 12, 3072): "base",
             (1024, 24, 16, 4096): "large", (1280, 32, 16, 5120): "huge"}


def vit_layout(sd: dict) -> Optional[str]:
    if any(k.startswith(("embeddings.patch_embeddings.", "vit.embeddings.patch_embeddings.")) for k in sd):
        return "hf"
    if "patch_embed.proj.weight" in sd and "pos_embed" in sd:
        return "timm"
    if "conv_proj.weight" in sd and "encoder.pos_embedding" in sd:
        return "torchvision"
    return None


def vit_detect(sd: dict) -> bool:
    return vit_layout(sd) is not None


def _count(sd, pattern):
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd for m in [rx.match(k)] if m})


def vit_infer(sd: dict, requested: Optional[str], path: str, hf_config: Optional[dict] = None) -> Tuple[str, dict]:
    layout = vit_layout(sd)
    try:
        if layout == "hf":
            p = "vit." if any(k.startswith("vit.") for k in sd) else ""
            proj = sd[p + "embeddings.patch_embeddings.projection.weight"]
            tokens = sd[p + "embeddings.position_embeddings"].shape[1]
            layers = _count(sd, re.escape(p) + r"(?:encoder\.layer|layers)\.(\d+)\.")
            fc1 = sd.get(p + "encoder.layer.0.intermediate.dense.weight", sd.get(p + "layers.0.mlp.fc1.weight"))
            qkv_bias = (p + "encoder.layer.0.attention.attention.query.bias") in sd or (p + "layers.0.attention.q_proj.bias") in sd
            pooler = sd.get(p + "pooler.dense.weight")
            labels = sd["classifier.weight"].shape[0] if "classifier.weight" in sd else 0
            eps = float((hf_config or {}).get("layer_norm_eps", 1e-12))
            heads = (hf_config or {}).get("num_attention_heads")
        elif layout == "timm":
            proj = sd["patch_embed.proj.weight"]
            tokens = sd["pos_embed"].shape[1]
            layers = _count(sd, r"blocks\.(\d+)\.")
            fc1 = sd["blocks.0.mlp.fc1.weight"]
            qkv_bias = "blocks.0.attn.qkv.bias" in sd
            pooler = None
            labels = sd["head.weight"].shape[0] if "head.weight" in sd else 0
            # timm's save_for_hf config.json states the heads under model_args, as vfw reads it.
            eps, heads = 1e-6, ((hf_config or {}).get("model_args") or {}).get("num_heads")
        else:
            proj = sd["conv_proj.weight"]
            tokens = sd["encoder.pos_embedding"].shape[1]
            layers = _count(sd, r"encoder\.layers\.encoder_layer_(\d+)\.")
            fc1 = sd.get("encoder.layers.encoder_layer_0.mlp.0.weight", sd.get("encoder.layers.encoder_layer_0.mlp.linear_1.weight"))
            qkv_bias = True
            pooler = sd.get("heads.pre_logits.weight")
            labels = sd["heads.head.weight"].shape[0] if "heads.head.weight" in sd else 0
            eps, heads = 1e-6, None
    except KeyError as e:
        raise InputError(path, f"keys do not match a {layout} ViT: missing {e}")
    hidden, channels, patch = int(proj.shape[0]), int(proj.shape[1]), int(proj.shape[2])
    grid = int(round((tokens - 1) ** 0.5))
    if grid * grid != tokens - 1 or fc1 is None:
        raise InputError(path, f"keys do not match a ViT: {tokens} position embeddings is not 1 + a square number")
    intermediate = int(fc1.shape[0])
    if heads is None:
        heads = next((h for (e, l, h, i) in VIT_SIZES if e == hidden), hidden // 64)
    config = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": int(heads),
              "intermediate_size": intermediate, "patch_size": patch, "image_size": grid * patch,
              "num_channels": channels, "layer_norm_eps": eps, "num_labels": int(labels),
              "has_pooler": pooler is not None, "qkv_bias": bool(qkv_bias), "layout": layout}
    # How the library runs other input sizes (Swift ViTConfig.positionResampling): transformers'
    # interpolate_pos_encoding (bicubic), timm's dynamic_img_size (bicubic, antialias); torchvision does not.
    if layout in ("hf", "timm"):
        config["position_resampling"] = "bicubic" if layout == "hf" else "bicubic-antialias"
    if pooler is not None:
        config["pooler_output_size"] = int(pooler.shape[0])
    if hf_config and hf_config.get("id2label") and labels:
        config["id2label"] = {str(k): str(v) for k, v in hf_config["id2label"].items()}
    size = VIT_SIZES.get((hidden, layers, int(heads), intermediate))
    name = f"vit-{size}-patch{patch}-{grid * patch}" if size and channels == 3 else "vit-custom"
    if name == "vit-base-patch16-224" and pooler is not None and labels == 0 and eps == 1e-12:
        name = "vit-base"  # google/vit-base-patch16-224-in21k: ViTModel with its pooler
    return requested or name, config


def vit_load(path: str, sd: dict, name: str, config: dict):
    """The real model of the checkpoint's own library, every tensor loaded (strictly)."""
    import tempfile
    import torch
    layout = config["layout"]
    E, L, H, I = config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"], config["intermediate_size"]
    P, S, C, labels = config["patch_size"], config["image_size"], config["num_channels"], config["num_labels"]
    if layout == "hf":
        # from_pretrained maps transformers-4 names (every checkpoint on the Hub) onto transformers-5 modules and
        # handles the `vit.` prefix; load_state_dict would not.
        from safetensors.torch import save_file
        from transformers import ViTConfig, ViTForImageClassification, ViTModel
        cfg = ViTConfig(hidden_size=E, num_hidden_layers=L, num_attention_heads=H, intermediate_size=I, patch_size=P,
                        image_size=S, num_channels=C, layer_norm_eps=config["layer_norm_eps"], qkv_bias=config["qkv_bias"],
                        num_labels=max(labels, 1))
        if config.get("has_pooler") and config.get("pooler_output_size", E) != E:
            cfg.pooler_output_size = config["pooler_output_size"]
        with tempfile.TemporaryDirectory() as d:
            cfg.save_pretrained(d)
            save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
            if labels:
                model, info = ViTForImageClassification.from_pretrained(d, output_loading_info=True)
            else:
                model, info = ViTModel.from_pretrained(d, add_pooling_layer=config["has_pooler"], output_loading_info=True)
        problems = [f"{k} {v[:3]}" for k, v in info.items() if v]
        if problems:
            raise InputError(path, f"keys do not match transformers' ViT: " + "; ".join(problems))
        # Every forward with interpolate_pos_encoding=True, so inputs of any size run as transformers runs them
        # (ViTEmbeddings.interpolate_pos_encoding returns the table untouched at the configured grid).
        model.register_forward_pre_hook(lambda _m, a, kw: (a, dict(kw, interpolate_pos_encoding=True)), with_kwargs=True)
        return model
    if layout == "timm":
        from timm.models.vision_transformer import VisionTransformer
        model = VisionTransformer(img_size=S, patch_size=P, in_chans=C, num_classes=labels, embed_dim=E, depth=L,
                                  num_heads=H, mlp_ratio=I / E, qkv_bias=config["qkv_bias"], global_pool="token",
                                  dynamic_img_size=True)  # other input sizes: resample_abs_pos_embed per forward
    else:
        from torchvision.models.vision_transformer import VisionTransformer
        model = VisionTransformer(image_size=S, patch_size=P, num_layers=L, num_heads=H, hidden_dim=E, mlp_dim=I,
                                  num_classes=labels, representation_size=config.get("pooler_output_size"))
        if labels == 0:
            raise InputError(path, "a torchvision ViT without heads.head is not supported")
    strict_load(model, sd, path, name)
    return model


def vit_module_taps(model) -> List[Tuple[str, str]]:
    """(module name, canonical tap name) in execution order."""
    names = [n for n, _ in model.named_modules()]
    out = []
    if any(n.endswith("embeddings.patch_embeddings") for n in names):  # Hugging Face
        p = "vit." if "vit" in names else ""
        out.append((p + "embeddings", "embeddings"))
        rx = re.compile(re.escape(p) + r"(?:encoder\.layer|layers)\.(\d+)")
        out += [(n, f"encoder.layer.{rx.fullmatch(n).group(1)}") for n in names if rx.fullmatch(n)]
        out.append((p + "layernorm", "layernorm"))
        if p + "pooler" in names:
            out.append((p + "pooler", "pooler"))
        if "classifier" in names:
            out.append(("classifier", "classifier"))
    elif "patch_embed" in names:  # timm: pos_drop's output is patch tokens + class token + position embeddings
        out.append(("pos_drop", "embeddings"))
        out += [(n, "encoder.layer." + n.split(".")[1]) for n in names if re.fullmatch(r"blocks\.\d+", n)]
        out.append(("norm", "layernorm"))
        if isinstance(getattr(model, "head", None), __import__("torch").nn.Linear):
            out.append(("head", "classifier"))
    else:  # torchvision: encoder.dropout's output is input + pos_embedding
        out.append(("encoder.dropout", "embeddings"))
        out += [(n, "encoder.layer." + n.rsplit("_", 1)[1]) for n in names if re.fullmatch(r"encoder\.layers\.encoder_layer_\d+", n)]
        out.append(("encoder.ln", "layernorm"))
        if "heads.act" in names:
            out.append(("heads.act", "pooler"))
        out.append(("heads.head", "classifier"))
    return out


def vit_taps(model, everything: bool) -> List[Tuple[str, str]]:
    """Block level only: --all taps the same modules (embeddings, every layer, layernorm, pooler, classifier)."""
    return vit_module_taps(model)


FAMILY = Family(
    name="vit",
    models=VITS,
    detect=vit_detect,
    infer=vit_infer,
    load=vit_load,
    # torchvision's ViT weights come with torchvision's transforms; Hugging Face and timm ViTs with transformers'
    # ViTImageProcessor (timm's own transform differs: see the Swift family's note).
    preset=lambda sd, config: "torchvision" if config.get("layout") == "torchvision" else "hf-vit",
    taps=vit_taps,
    config_schema={
        "properties": {
            "has_pooler": {
                "type": "boolean"
            },
            "hidden_size": {
                "minimum": 1,
                "type": "integer"
            },
            "id2label": {
                "additionalProperties": {
                    "type": "string"
                },
                "type": "object"
            },
            "image_size": {
                "minimum": 1,
                "type": "integer"
            },
            "intermediate_size": {
                "minimum": 1,
                "type": "integer"
            },
            "layer_norm_eps": {
                "minimum": 0,
                "type": "number"
            },
            "layout": {
                "description": "The source layout the reference was recorded from.",
                "enum": [
                    "hf",
                    "timm",
                    "torchvision"
                ]
            },
            "num_attention_heads": {
                "minimum": 1,
                "type": "integer"
            },
            "num_channels": {
                "minimum": 1,
                "type": "integer"
            },
            "num_hidden_layers": {
                "minimum": 1,
                "type": "integer"
            },
            "num_labels": {
                "minimum": 0,
                "type": "integer"
            },
            "patch_size": {
                "minimum": 1,
                "type": "integer"
            },
            "pooler_output_size": {
                "minimum": 1,
                "type": "integer"
            },
            "qkv_bias": {
                "type": "boolean"
            },
            "position_resampling": {
                "description": "How the library resamples the position table for other input sizes.",
                "enum": [
                    "bicubic",
                    "bicubic-antialias"
                ]
            }
        },
        "required": [
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "patch_size",
            "image_size",
            "num_channels",
            "layer_norm_eps",
            "num_labels",
            "has_pooler",
            "qkv_bias"
        ]
    },
    has_all_level=False,
)
