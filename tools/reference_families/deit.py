"""Distilled DeiT: transformers DeiTModel / DeiTForImageClassification / DeiTForImageClassificationWithTeacher,
timm VisionTransformerDistilled (deit_*_distilled_*). The Swift family is Sources/Models/DeiT.swift (+ DeiTLayout.swift);
DeiT without a distillation token is a plain VisionTransformer (vit.py)."""
import os
import re
from typing import List, Optional, Tuple

from .common import Family, InputError, strict_load

DEIT_SIZES = {(192, 12, 768): ("tiny", 3), (384, 12, 1536): ("small", 6), (768, 12, 3072): ("base", 12)}
DEITS = tuple(f"deit-{s}-distilled-patch16-224" for s, _ in DEIT_SIZES.values())
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def deit_layout(sd: dict) -> Optional[str]:
    if "embeddings.distillation_token" in sd or "deit.embeddings.distillation_token" in sd:
        return "hf"
    if "dist_token" in sd and "patch_embed.proj.weight" in sd:
        return "timm"
    return None


def _count(sd, pattern):
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd for m in [rx.match(k)] if m})


def deit_infer(sd: dict, requested: Optional[str], path: str, hf_config: Optional[dict] = None) -> Tuple[str, dict]:
    layout = deit_layout(sd)
    hf_config = hf_config or {}
    try:
        if layout == "hf":
            p = "deit." if "deit.embeddings.distillation_token" in sd else ""
            proj = sd[p + "embeddings.patch_embeddings.projection.weight"]
            tokens = sd[p + "embeddings.position_embeddings"].shape[1]
            layers = _count(sd, re.escape(p) + r"(?:encoder\.layer|layers)\.(\d+)\.")
            fc1 = sd.get(p + "encoder.layer.0.intermediate.dense.weight", sd.get(p + "layers.0.mlp.fc1.weight"))
            qkv_bias = (p + "encoder.layer.0.attention.attention.query.bias") in sd or (p + "layers.0.attention.q_proj.bias") in sd
            pooler = sd.get(p + "pooler.dense.weight")
            eps = float(hf_config.get("layer_norm_eps", 1e-12))
            head = "cls" if "classifier.weight" in sd else "averaged" if "cls_classifier.weight" in sd else "none"
            labels = sd["classifier.weight"].shape[0] if head == "cls" else sd["cls_classifier.weight"].shape[0] if head == "averaged" else 0
        else:
            proj = sd["patch_embed.proj.weight"]
            tokens = sd["pos_embed"].shape[1]
            layers = _count(sd, r"blocks\.(\d+)\.")
            fc1 = sd["blocks.0.mlp.fc1.weight"]
            qkv_bias = "blocks.0.attn.qkv.bias" in sd
            pooler = None
            eps = 1e-6
            head = "averaged" if "head.weight" in sd else "none"
            labels = sd["head.weight"].shape[0] if head == "averaged" else 0
    except KeyError as e:
        raise InputError(path, f"keys do not match a {layout} DeiT: missing {e}")
    hidden, channels, patch = int(proj.shape[0]), int(proj.shape[1]), int(proj.shape[2])
    grid = int(round((tokens - 2) ** 0.5))
    if grid * grid != tokens - 2 or fc1 is None:
        raise InputError(path, f"keys do not match a DeiT: {tokens} position embeddings is not 2 + a square number")
    intermediate = int(fc1.shape[0])
    size = DEIT_SIZES.get((hidden, layers, intermediate))
    heads = hf_config.get("num_attention_heads") or (hf_config.get("model_args") or {}).get("num_heads") or \
        (size[1] if size else hidden // 64)
    config = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": int(heads),
              "intermediate_size": intermediate, "patch_size": patch, "image_size": grid * patch, "num_channels": channels,
              "layer_norm_eps": eps, "qkv_bias": bool(qkv_bias), "has_pooler": pooler is not None,
              "pooler_output_size": int(pooler.shape[0]) if pooler is not None else hidden, "head": head,
              "num_labels": int(labels), "layout": layout}
    if hf_config.get("id2label") and labels:
        config["id2label"] = {str(k): str(v) for k, v in hf_config["id2label"].items()}
    name = f"deit-{size[0]}-distilled-patch16-224" if size and patch == 16 and grid == 14 and channels == 3 else "deit-distilled-custom"
    return requested or name, config


def deit_load(path: str, sd: dict, name: str, config: dict):
    import tempfile
    E, L, H, I = config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"], config["intermediate_size"]
    P, S, C, labels, head = config["patch_size"], config["image_size"], config["num_channels"], config["num_labels"], config["head"]
    if config["layout"] == "hf":
        from safetensors.torch import save_file
        import transformers as tf
        cfg = tf.DeiTConfig(hidden_size=E, num_hidden_layers=L, num_attention_heads=H, intermediate_size=I, patch_size=P,
                            image_size=S, num_channels=C, layer_norm_eps=config["layer_norm_eps"], qkv_bias=config["qkv_bias"],
                            num_labels=max(labels, 1))
        if config.get("has_pooler") and config.get("pooler_output_size", E) != E:
            cfg.pooler_output_size = config["pooler_output_size"]
        cls = {"none": tf.DeiTModel, "cls": tf.DeiTForImageClassification, "averaged": tf.DeiTForImageClassificationWithTeacher}[head]
        with tempfile.TemporaryDirectory() as d:
            cfg.save_pretrained(d)
            save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
            extra = {"add_pooling_layer": config["has_pooler"]} if head == "none" else {}
            model, info = cls.from_pretrained(d, output_loading_info=True, **extra)
        problems = [f"{k} {v[:3]}" for k, v in info.items() if v]
        if problems:
            raise InputError(path, "keys do not match transformers' DeiT: " + "; ".join(problems))
        return model
    from timm.models.deit import VisionTransformerDistilled
    model = VisionTransformerDistilled(img_size=S, patch_size=P, in_chans=C, num_classes=labels, embed_dim=E, depth=L,
                                       num_heads=H, mlp_ratio=I / E, qkv_bias=config["qkv_bias"])
    strict_load(model, sd, path, name)
    return model


def deit_taps(model, everything: bool) -> List[Tuple[str, str]]:
    names = [n for n, _ in model.named_modules()]
    if "patch_embed" in names:  # timm
        out = [("pos_drop", "embeddings")]
        out += [(n, "encoder.layer." + n.split(".")[1]) for n in names if re.fullmatch(r"blocks\.\d+", n)]
        out.append(("norm", "layernorm"))
        import torch
        if isinstance(getattr(model, "head", None), torch.nn.Linear):
            out += [("head", "cls_classifier"), ("head_dist", "distillation_classifier")]
        return out
    p = "deit." if "deit" in names else ""
    out = [(p + "embeddings", "embeddings")]
    rx = re.compile(re.escape(p) + r"(?:encoder\.layer|layers)\.(\d+)")
    out += [(n, f"encoder.layer.{rx.fullmatch(n).group(1)}") for n in names if rx.fullmatch(n)]
    out.append((p + "layernorm", "layernorm"))
    if p + "pooler" in names:
        out.append((p + "pooler", "pooler"))
    for head in ("classifier", "cls_classifier", "distillation_classifier"):
        if head in names:
            out.append((head, head))
    return out


class TimmPreset:
    """timm's eval transform for deit_* as timm users build it, resolve_data_config(pretrained_cfg=...) of
    deit_tiny_distilled_patch16_224.fb_in1k (timm/models/deit.py _cfg: crop_pct 0.9, bicubic, ImageNet mean/std):
    shorter side floor(224 / 0.9) = 248, CenterCrop(224); Swift's `timm,crop_pct=0.9`."""

    def __init__(self, config=None, folder=None):
        import timm
        import timm.data
        cfg = timm.models.get_pretrained_cfg("deit_tiny_distilled_patch16_224.fb_in1k").to_dict()
        self.transform = timm.data.create_transform(**timm.data.resolve_data_config(pretrained_cfg=cfg))
        self.transforms = list(self.transform.transforms)

    def __call__(self, image):
        return self.transform(image)


class HFDeiTPreset:
    """facebook/deit-*-distilled-patch16-224's preprocessor_config.json (size 256, crop_size 224, resample 3,
    ImageNet mean/std) as transformers 5's AutoImageProcessor runs it: DeiTImageProcessor, torchvision backend;
    Swift's DeiT.transformersPreprocessing."""

    def __init__(self, config=None, folder=None):
        from transformers import DeiTImageProcessor
        self.processor = DeiTImageProcessor(size={"height": 256, "width": 256}, crop_size={"height": 224, "width": 224},
                                            resample=3, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
        p = self.processor
        settings = {k: v for k, v in sorted(p.to_dict().items()) if k not in ("processor_class", "auto_map")}
        self.transforms = [f"transformers.{type(p).__name__}({settings})"]

    def __call__(self, image):
        return self.processor(images=image, return_tensors="pt", **getattr(self, "call_kwargs", {}))["pixel_values"][0]


_INT = {"minimum": 1, "type": "integer"}
FAMILY = Family(
    name="deit",
    models=DEITS,
    detect=lambda sd: deit_layout(sd) is not None,
    infer=deit_infer,
    load=deit_load,
    preset=lambda sd, config: "deit-timm" if config.get("layout") == "timm" else "deit-hf",
    taps=deit_taps,
    config_schema={
        "properties": {
            "hidden_size": _INT, "num_hidden_layers": _INT, "num_attention_heads": _INT, "intermediate_size": _INT,
            "patch_size": _INT, "image_size": _INT, "num_channels": _INT, "pooler_output_size": _INT,
            "layer_norm_eps": {"minimum": 0, "type": "number"},
            "qkv_bias": {"type": "boolean"}, "has_pooler": {"type": "boolean"},
            "head": {"enum": ["none", "cls", "averaged"]},
            "num_labels": {"minimum": 0, "type": "integer"},
            "id2label": {"additionalProperties": {"type": "string"}, "type": "object"},
            "layout": {"description": "The source layout the reference was recorded from.", "enum": ["hf", "timm"]},
        },
        "required": ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "patch_size",
                     "image_size", "layer_norm_eps", "head"],
    },
    has_all_level=False,
    presets={"deit-timm": TimmPreset, "deit-hf": HFDeiTPreset},
)
