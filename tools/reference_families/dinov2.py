"""DINOv2, with and without registers: transformers Dinov2Model / Dinov2WithRegistersModel (+ ForImageClassification),
timm vit_*_patch14_dinov2 / vit_*_patch14_reg4_dinov2. The Swift family is Sources/Models/DINOv2.swift
(+ DINOv2Layout.swift); the config vocabulary is its Codable config, the tap names its canonical ones."""
import os
import re
from typing import List, Optional, Tuple

from .common import Family, InputError, strict_load

DINOV2_SIZES = {(384, 12, 1536): ("small", 6), (768, 12, 3072): ("base", 12), (1024, 24, 4096): ("large", 16)}
DINOV2S = tuple(f"dinov2-{s}" for s, _ in DINOV2_SIZES.values()) + \
    tuple(f"dinov2-with-registers-{s}" for s, _ in DINOV2_SIZES.values())
HF_PREFIXES = ("dinov2_with_registers.", "dinov2.", "")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def _hf_prefix(sd: dict) -> Optional[str]:
    for p in HF_PREFIXES:
        if p + "embeddings.patch_embeddings.projection.weight" in sd and p + "encoder.layer.0.layer_scale1.lambda1" in sd:
            return p
    return None


def dinov2_layout(sd: dict) -> Optional[str]:
    if _hf_prefix(sd) is not None:
        return "hf"
    if "patch_embed.proj.weight" in sd and "blocks.0.ls1.gamma" in sd:
        return "timm"
    return None


def _count(sd, pattern):
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd for m in [rx.match(k)] if m})


def dinov2_infer(sd: dict, requested: Optional[str], path: str, hf_config: Optional[dict] = None) -> Tuple[str, dict]:
    layout = dinov2_layout(sd)
    hf_config = hf_config or {}
    try:
        if layout == "hf":
            p = _hf_prefix(sd)
            proj = sd[p + "embeddings.patch_embeddings.projection.weight"]
            pos = sd[p + "embeddings.position_embeddings"]
            regs = sd.get(p + "embeddings.register_tokens")
            layers = _count(sd, re.escape(p) + r"encoder\.layer\.(\d+)\.")
            fc1 = sd[p + "encoder.layer.0.mlp.fc1.weight"]
            qkv_bias = (p + "encoder.layer.0.attention.attention.query.bias") in sd or (p + "encoder.layer.0.attention.q_proj.bias") in sd
            head = sd.get("classifier.weight")
            class_row = True
        else:
            proj = sd["patch_embed.proj.weight"]
            pos = sd["pos_embed"]
            regs = sd.get("reg_token")
            layers = _count(sd, r"blocks\.(\d+)\.")
            fc1 = sd["blocks.0.mlp.fc1.weight"]
            qkv_bias = "blocks.0.attn.qkv.bias" in sd
            head = sd.get("head.weight")
            # no_embed_class (the register models): the table is a square grid without a class row
            class_row = round(pos.shape[1] ** 0.5) ** 2 != pos.shape[1]
    except KeyError as e:
        raise InputError(path, f"keys do not match a {layout} DINOv2: missing {e}")
    hidden, channels, patch = int(proj.shape[0]), int(proj.shape[1]), int(proj.shape[2])
    registers = int(regs.shape[1]) if regs is not None else 0
    rows = int(pos.shape[1]) - (1 if class_row else 0)
    grid = int(round(rows ** 0.5))
    if grid * grid != rows:
        raise InputError(path, f"keys do not match a DINOv2: {pos.shape[1]} position embeddings is not a square grid")
    intermediate = int(fc1.shape[0])
    size = DINOV2_SIZES.get((hidden, layers, intermediate))
    heads = hf_config.get("num_attention_heads") or (size[1] if size else hidden // 64)
    config = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": int(heads),
              "intermediate_size": intermediate, "patch_size": patch, "image_size": int(hf_config.get("image_size", grid * patch)),
              "num_channels": channels, "layer_norm_eps": float(hf_config.get("layer_norm_eps", 1e-6)),
              "num_register_tokens": registers, "qkv_bias": bool(qkv_bias),
              "position_resampling": "bicubic-antialias" if layout == "timm" or registers > 0 else "bicubic",
              "class_position_embedding": class_row, "num_labels": int(head.shape[0]) if head is not None else 0,
              "classifier_patch_mean": head is not None and int(head.shape[1]) == 2 * hidden, "layout": layout}
    if head is None:
        config["classifier_patch_mean"] = True
    if hf_config.get("id2label") and config["num_labels"]:
        config["id2label"] = {str(k): str(v) for k, v in hf_config["id2label"].items()}
    name = "dinov2-custom"
    if size and channels == 3 and patch == 14:
        name = f"dinov2-with-registers-{size[0]}" if registers else f"dinov2-{size[0]}"
    return requested or name, config


def dinov2_load(path: str, sd: dict, name: str, config: dict):
    """The real model of the checkpoint's own library, every tensor loaded (strictly)."""
    import tempfile
    E, L, H, I = config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"], config["intermediate_size"]
    P, S, C, labels, R = config["patch_size"], config["image_size"], config["num_channels"], config["num_labels"], config["num_register_tokens"]
    if config["layout"] == "hf":
        # from_pretrained maps transformers-4 names (every Hub file) onto transformers-5 modules and handles the
        # `dinov2.` prefix; load_state_dict would not.
        from safetensors.torch import save_file
        import transformers as tf
        kind = "Dinov2WithRegisters" if R > 0 or any(k.startswith("dinov2_with_registers.") for k in sd) else "Dinov2"
        args = dict(hidden_size=E, num_hidden_layers=L, num_attention_heads=H, mlp_ratio=I // E if I % E == 0 else I / E, patch_size=P, image_size=S,
                    num_channels=C, layer_norm_eps=config["layer_norm_eps"], qkv_bias=config["qkv_bias"], num_labels=max(labels, 1))
        if kind == "Dinov2WithRegisters":
            args["num_register_tokens"] = R
        cfg = getattr(tf, kind + "Config")(**args)
        if int(E * cfg.mlp_ratio) != I:  # transformers sizes the MLP as int(hidden_size * mlp_ratio)
            raise InputError(path, f"transformers' {kind} cannot have an MLP of {I} for hidden size {E}")
        with tempfile.TemporaryDirectory() as d:
            cfg.save_pretrained(d)
            save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
            cls = getattr(tf, kind + ("ForImageClassification" if labels else "Model"))
            model, info = cls.from_pretrained(d, output_loading_info=True)
        problems = [f"{k} {v[:3]}" for k, v in info.items() if v]
        if problems:
            raise InputError(path, f"keys do not match transformers' {kind}: " + "; ".join(problems))
        return model
    from timm.models.vision_transformer import VisionTransformer
    # The timm dinov2 definitions (vit_*_patch14_dinov2, *_reg4_dinov2: init_values, reg_tokens, no_embed_class) at
    # the table's size, with dynamic_img_size so any input resamples the table as timm does.
    model = VisionTransformer(img_size=S, patch_size=P, in_chans=C, num_classes=labels, embed_dim=E, depth=L, num_heads=H,
                              mlp_ratio=I / E, qkv_bias=config["qkv_bias"], init_values=1e-5, reg_tokens=R,
                              no_embed_class=not config["class_position_embedding"], dynamic_img_size=True, global_pool="token")
    strict_load(model, sd, path, name)
    return model


def dinov2_taps(model, everything: bool) -> List[Tuple[str, str]]:
    """(module name, canonical tap name) in execution order; the same at --all."""
    names = [n for n, _ in model.named_modules()]
    out = []
    if "patch_embed" in names:  # timm: pos_drop's output is [cls, registers, patches] with their positions
        out.append(("pos_drop", "embeddings"))
        out += [(n, "encoder.layer." + n.split(".")[1]) for n in names if re.fullmatch(r"blocks\.\d+", n)]
        out.append(("norm", "layernorm"))
        if isinstance(getattr(model, "head", None), __import__("torch").nn.Linear):
            out.append(("head", "classifier"))
        return out
    p = next(x for x in ("dinov2_with_registers.", "dinov2.", "") if x + "embeddings" in names)
    out.append((p + "embeddings", "embeddings"))
    rx = re.compile(re.escape(p) + r"encoder\.layer\.(\d+)")
    out += [(n, f"encoder.layer.{rx.fullmatch(n).group(1)}") for n in names if rx.fullmatch(n)]
    out.append((p + "layernorm", "layernorm"))
    if "classifier" in names:
        out.append(("classifier", "classifier"))
    return out


class DINOv2Preset:
    """facebook/dinov2-* preprocessor_config.json: transformers' BitImageProcessor (transformers 5's default,
    torchvision backend), shorter side 256 bicubic, center crop 224, rescale 1/255, ImageNet mean/std."""

    def __init__(self, config=None, folder=None):
        from transformers import BitImageProcessor
        self.processor = BitImageProcessor(size={"shortest_edge": 256}, crop_size=224, image_mean=IMAGENET_MEAN,
                                           image_std=IMAGENET_STD)
        p = self.processor
        self.transforms = [f"transformers.{type(p).__name__}(size={dict(p.size)}, crop_size={dict(p.crop_size)}, "
                           f"resample={int(p.resample)} (bicubic), rescale_factor={p.rescale_factor}, "
                           f"image_mean={list(p.image_mean)}, image_std={list(p.image_std)}, do_convert_rgb={p.do_convert_rgb})"]

    def __call__(self, image):
        return self.processor(images=image, return_tensors="pt", **getattr(self, "call_kwargs", {}))["pixel_values"][0]


_INT = {"minimum": 1, "type": "integer"}
FAMILY = Family(
    name="dinov2",
    models=DINOV2S,
    detect=lambda sd: dinov2_layout(sd) is not None,
    infer=dinov2_infer,
    load=dinov2_load,
    preset=lambda sd, config: "dinov2",
    taps=dinov2_taps,
    config_schema={
        "properties": {
            "hidden_size": _INT, "num_hidden_layers": _INT, "num_attention_heads": _INT, "intermediate_size": _INT,
            "patch_size": _INT, "image_size": _INT, "num_channels": _INT,
            "layer_norm_eps": {"minimum": 0, "type": "number"},
            "num_register_tokens": {"minimum": 0, "type": "integer"},
            "qkv_bias": {"type": "boolean"},
            "position_resampling": {"enum": ["bicubic", "bicubic-antialias"]},
            "class_position_embedding": {"type": "boolean"},
            "num_labels": {"minimum": 0, "type": "integer"},
            "classifier_patch_mean": {"type": "boolean"},
            "id2label": {"additionalProperties": {"type": "string"}, "type": "object"},
            "layout": {"description": "The source layout the reference was recorded from.", "enum": ["hf", "timm"]},
        },
        "required": ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "patch_size",
                     "image_size", "layer_norm_eps", "position_resampling"],
    },
    has_all_level=False,
    presets={"dinov2": DINOv2Preset},
)
