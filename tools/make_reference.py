#!/usr/bin/env python3
"""Record what real PyTorch computes, layer by layer: the reference activations `vfw verify` checks against.

    ~/.cache/vfw-venv/bin/python tools/make_reference.py --weights FILE --image IMAGE -o DIR
        [--key K] [--model NAME] [--all] [--batch N] [--synth-seed N]

Loads FILE (a torch.save checkpoint or a .safetensors file, its weights found by the rule `vfw convert` follows:
tools/vfw_unwrap.py, README "Finding the weights in a checkpoint") into
the real torchvision model with a strict load_state_dict, preprocesses IMAGE with the real torchvision
transforms, runs the model (eval, float32, CPU, one thread, no_grad) and records the outputs of the tapped
modules with forward hooks in the order they execute. Writes:

    DIR/activations.safetensors   `input` (the preprocessed batch) and one float32 tensor per tap
    DIR/manifest.json             what was run on what, validated against Schemas/reference-manifest.schema.json

Taps are PyTorch module names. By default the block level (ResNet: conv1, bn1, relu, maxpool, every
layerL.B, avgpool, fc); with --all every module without children plus every block. A module that runs
more than once in one forward (torchvision's BasicBlock calls its `relu` twice) is recorded once per call,
later calls suffixed `#2`, `#3`: layer1.0.relu, layer1.0.relu#2.

--batch N stacks N copies of the image, copy i turned by (i // 2) % 4 counter-clockwise quarter turns and
mirrored left-right when i is odd (PIL transposes before the transforms), so the batch holds distinct images.

The same inputs give byte-identical files (sorted JSON keys, no timestamps, one thread). Bad input (missing
or unreadable file, unknown architecture, keys that do not fit the model) prints one line naming the file
and the problem on stderr and exits 2.

Model families live in FAMILIES: each knows how to recognise its checkpoints, infer its config, build the
real model, which preprocessing preset it uses and which modules to tap. A ViT family (Hugging Face
ViTModel / ViTForImageClassification folders, timm VisionTransformer, torchvision vit_b_16) is added by
writing those functions and one FAMILIES entry.
"""
import argparse
import hashlib
import json
import os
import platform
import re
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

SCHEMA_VERSION = 1
# Bump when the files this script writes change for the same inputs.
REVISION = 1
SCRIPT = "tools/make_reference.py"
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SCHEMA_PATH = os.path.join(ROOT, "Schemas", "reference-manifest.schema.json")
ACTIVATIONS = "activations.safetensors"
MANIFEST = "manifest.json"
INPUT_KEY = "input"


class InputError(Exception):
    """A problem with what the user gave us: reported as `path: problem` and exit status 2."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")


def one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 300 else text[:297] + "..."


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# MARK: - Checkpoints

def load_state_dict(path: str, key: Optional[str] = None):
    """The checkpoint's tensors by name, found by the rule `vfw convert` follows (README "Finding the weights in a
    checkpoint"; tools/vfw_unwrap.py): the one plausible state_dict (or the entry --key names), wrapper prefixes
    stripped. The rule's notes go to stderr as vfw prints them."""
    import pickle
    import vfw_unwrap

    if not os.path.exists(path):
        raise InputError(path, "no such file")
    if os.path.isdir(path):
        raise InputError(path, "is a directory; expected a torch.save file (.pth, .pt) or a .safetensors file")
    try:
        tensors, notes = vfw_unwrap.load_weights(path, key)
    except vfw_unwrap.RuleError as e:
        raise InputError(path, str(e))
    except pickle.UnpicklingError as e:
        raise InputError(path, one_line(e))
    except Exception as e:  # the libraries raise many types; all mean "not a checkpoint we can read"
        if not path.endswith(".safetensors") and not is_torch_file(path):
            raise InputError(path, "cannot read checkpoint: not a torch.save file (neither a zip archive nor a pickle "
                                   "stream) and not named .safetensors")
        raise InputError(path, f"cannot read checkpoint: {one_line(e)}")
    for n in notes:
        print(f"note: {n}", file=sys.stderr)
    return dict(tensors)


def resolve_weights(path: str):
    """(weights file, Hugging Face config or None): a folder is a Hugging Face model folder."""
    if not os.path.isdir(path):
        return path, None
    cfg_path = os.path.join(path, "config.json")
    if not os.path.exists(cfg_path):
        raise InputError(path, "is a folder without config.json; expected a Hugging Face model folder or a checkpoint file")
    with open(cfg_path) as f:
        config = json.load(f)
    for name in ("model.safetensors", "pytorch_model.bin"):
        if os.path.exists(os.path.join(path, name)):
            return os.path.join(path, name), config
    raise InputError(path, "holds no model.safetensors or pytorch_model.bin")


def synth_identity(path: str) -> Optional[dict]:
    """{model, seed} when the file was written by `vfw synth` (its safetensors metadata says so)."""
    if not path.endswith(".safetensors"):
        return None
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    if "vfw.synth.model" in meta and "vfw.synth.seed" in meta:
        return {"model": meta["vfw.synth.model"], "seed": int(meta["vfw.synth.seed"])}
    return None


def is_torch_file(path: str) -> bool:
    """A zip archive (torch.save since 1.6) or a pickle stream starting with PROTO (the legacy format)."""
    import zipfile
    with open(path, "rb") as f:
        head = f.read(1)
    return zipfile.is_zipfile(path) or head == b"\x80"


def strict_load(model, state_dict, path: str, name: str):
    """load_state_dict(strict=True), its multi-line complaint folded into one line."""
    missing = [k for k in model.state_dict() if k not in state_dict]
    unexpected = [k for k in state_dict if k not in model.state_dict()]
    wrong = [f"{k} is {list(state_dict[k].shape)} not {list(v.shape)}" for k, v in model.state_dict().items()
             if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape:", wrong)):
        if items:
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            problems.append(f"{label} {', '.join(items[:3])}{more}")
    if problems:
        raise InputError(path, f"keys do not match {name}: " + "; ".join(problems))
    try:
        model.load_state_dict(state_dict, strict=True)
    except Exception as e:
        raise InputError(path, f"keys do not match {name}: {one_line(e)}")


# MARK: - Preprocessing presets

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def torchvision_preset():
    from torchvision import transforms
    from torchvision.transforms import InterpolationMode
    return transforms.Compose([
        transforms.Resize(256, interpolation=InterpolationMode.BILINEAR, antialias=True),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
    ])


class HFViTPreset:
    """transformers' ViTImageProcessorPil (the PIL backend): resize 224x224 bilinear, rescale 1/255,
    normalize mean = std = 0.5. `transforms` lists the steps for the manifest, like a torchvision Compose."""

    def __init__(self):
        from transformers import ViTImageProcessorPil
        self.processor = ViTImageProcessorPil()
        p = self.processor
        self.transforms = [f"transformers.ViTImageProcessorPil(size={dict(p.size)}, resample={int(p.resample)} (PIL bilinear), "
                           f"rescale_factor={p.rescale_factor}, image_mean={list(p.image_mean)}, image_std={list(p.image_std)})"]

    def __call__(self, image):
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]


PRESETS: Dict[str, Callable] = {"torchvision": torchvision_preset, "hf-vit": HFViTPreset}

BATCH_COPIES = ("copy i of the batch: the image turned (i // 2) % 4 counter-clockwise quarter turns "
                "(PIL Image.Transpose.ROTATE_90/180/270) then mirrored left-right (FLIP_LEFT_RIGHT) when i is odd, "
                "before the transforms; copy 0 is the image itself")


def batch_copy(image, i: int):
    from PIL import Image
    turns = (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)[(i // 2) % 4]
    if turns is not None:
        image = image.transpose(turns)
    if i % 2 == 1:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return image


# MARK: - Families

@dataclass(frozen=True)
class Family:
    """One kind of model: how to recognise it, describe it, build it, feed it and tap it."""
    name: str
    models: Tuple[str, ...]                                   # names --model accepts
    detect: Callable[[dict], bool]                            # do these keys belong to this family?
    infer: Callable[[dict, Optional[str], str], Tuple[str, dict]]  # (state_dict, --model, path) -> (name, config)
    build: Callable[[str, dict], object]                      # (name, config) -> torch.nn.Module (real library class)
    preset: str                                               # key of PRESETS
    taps: Callable[[object, bool], List[str]]                 # (model, --all) -> module names to hook
    # (path, state_dict, name, config) -> loaded model; default: build + strict load_state_dict
    load: Optional[Callable[[str, dict, str, dict], object]] = None
    # module name -> tap name (a name that does not depend on the source layout); default: the module name
    tap_name: Optional[Callable[[str], str]] = None
    # (state_dict) -> preset, when it depends on the checkpoint's layout
    preset_for: Optional[Callable[[dict], str]] = None


# ResNet (torchvision.models.resnet). Config vocabulary shared with the .vfw header.
RESNETS = {
    # name: (block, layers, groups, width_per_group)
    "resnet18": ("basic", [2, 2, 2, 2], 1, 64),
    "resnet34": ("basic", [3, 4, 6, 3], 1, 64),
    "resnet50": ("bottleneck", [3, 4, 6, 3], 1, 64),
    "resnet101": ("bottleneck", [3, 4, 23, 3], 1, 64),
    "resnet152": ("bottleneck", [3, 8, 36, 3], 1, 64),
    "wide_resnet50_2": ("bottleneck", [3, 4, 6, 3], 1, 128),
    "wide_resnet101_2": ("bottleneck", [3, 4, 23, 3], 1, 128),
    "resnext50_32x4d": ("bottleneck", [3, 4, 6, 3], 32, 4),
    "resnext101_32x8d": ("bottleneck", [3, 4, 23, 3], 32, 8),
    "resnext101_64x4d": ("bottleneck", [3, 4, 23, 3], 64, 4),
}
# A ResNet whose config is none of the above (e.g. a test model with one block per stage).
RESNET_CUSTOM = "resnet_custom"
_BLOCK = re.compile(r"layer[1-4]\.\d+")


def resnet_detect(sd: dict) -> bool:
    return all(k in sd for k in ("conv1.weight", "bn1.weight", "fc.weight", "layer1.0.conv1.weight"))


def resnet_infer(sd: dict, requested: Optional[str], path: str) -> Tuple[str, dict]:
    fc = sd.get("fc.weight")
    if fc is None or fc.dim() != 2:
        raise InputError(path, "keys do not match a ResNet: no 2-d fc.weight to take num_classes from")
    num_classes = int(fc.shape[0])
    if requested is not None:
        block, layers, groups, wpg = RESNETS[requested]
        return requested, {"block": block, "layers": list(layers), "groups": groups, "width_per_group": wpg,
                           "num_classes": num_classes}
    layers = []
    for stage in range(1, 5):
        ids = sorted({int(k.split(".")[1]) for k in sd if k.startswith(f"layer{stage}.") and k.split(".")[1].isdigit()})
        if not ids or ids != list(range(len(ids))):
            raise InputError(path, f"unknown architecture: ResNet stage layer{stage} has blocks {ids}; "
                                   "expected 0, 1, ... (pass --model NAME if this is a torchvision model)")
        layers.append(len(ids))
    block = "bottleneck" if "layer1.0.conv3.weight" in sd else "basic"
    conv2 = sd.get("layer1.0.conv2.weight")
    if conv2 is None or conv2.dim() != 4 or conv2.shape[1] == 0 or conv2.shape[0] % conv2.shape[1] != 0:
        raise InputError(path, "unknown architecture: layer1.0.conv2.weight is missing or not [width, width/groups, 3, 3]")
    width, per_group = int(conv2.shape[0]), int(conv2.shape[1])
    groups = width // per_group
    if block == "basic":
        if groups != 1 or width != 64:
            raise InputError(path, f"unknown architecture: a BasicBlock ResNet has layer1.0.conv2 [64, 64, 3, 3], "
                                   f"found {list(conv2.shape)}")
        width_per_group = 64
    else:
        width_per_group = width // groups  # torchvision: width = int(planes * width_per_group / 64) * groups, planes 64
    config = {"block": block, "layers": layers, "groups": groups, "width_per_group": width_per_group,
              "num_classes": num_classes}
    name = next((n for n, (b, l, g, w) in RESNETS.items() if (b, l, g, w) == (block, layers, groups, width_per_group)),
                RESNET_CUSTOM)
    return name, config


def resnet_build(name: str, config: dict):
    import torchvision.models as tvm
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
    if name in RESNETS:
        return getattr(tvm, name)(weights=None, num_classes=config["num_classes"])
    return ResNet(BasicBlock if config["block"] == "basic" else Bottleneck, config["layers"],
                  num_classes=config["num_classes"], groups=config["groups"],
                  width_per_group=config["width_per_group"])


def resnet_taps(model, everything: bool) -> List[str]:
    blocks = [n for n, _ in model.named_modules() if _BLOCK.fullmatch(n)]
    if not everything:
        return ["conv1", "bn1", "relu", "maxpool", *blocks, "avgpool", "fc"]
    return [n for n, m in model.named_modules() if n and (not any(True for _ in m.children()) or _BLOCK.fullmatch(n))]



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
            eps, heads = 1e-6, None
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
        return model
    if layout == "timm":
        from timm.models.vision_transformer import VisionTransformer
        model = VisionTransformer(img_size=S, patch_size=P, in_chans=C, num_classes=labels, embed_dim=E, depth=L,
                                  num_heads=H, mlp_ratio=I / E, qkv_bias=config["qkv_bias"], global_pool="token")
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


def vit_taps(model, everything: bool) -> List[str]:
    return [m for m, _ in vit_module_taps(model)]


def vit_tap_names(model) -> Callable[[str], str]:
    table = dict(vit_module_taps(model))
    return lambda n: table[n]


FAMILIES: Dict[str, Family] = {
    "resnet": Family("resnet", tuple(RESNETS), resnet_detect, resnet_infer, resnet_build, "torchvision", resnet_taps),
    "vit": Family("vit", VITS, vit_detect, vit_infer, None, "hf-vit", vit_taps, load=vit_load,
                  preset_for=lambda sd: "torchvision" if vit_layout(sd) == "torchvision" else "hf-vit"),
}


def family_for(sd: dict, requested: Optional[str], path: str) -> Family:
    if requested is not None:
        return next(f for f in FAMILIES.values() if requested in f.models)
    for fam in FAMILIES.values():
        if fam.detect(sd):
            return fam
    sample = ", ".join(list(sd)[:3])
    raise InputError(path, f"unknown architecture: keys ({sample}, ...) match no supported family "
                           f"({', '.join(FAMILIES)}); pass --model NAME")


# MARK: - Recording

def record(model, names: List[str], batch, rename: Optional[Callable[[str], str]] = None):
    """Runs `model` on `batch`, returning [(tap name, output)] in execution order (tap names via `rename`)."""
    import torch

    modules = dict(model.named_modules())
    calls: Dict[str, int] = {}
    out: List[Tuple[str, object]] = []

    def hook_for(name):
        def hook(_module, _inputs, output):
            if isinstance(output, (tuple, list)):  # modules returning tuples: record the first (hidden state)
                output = output[0]
            calls[name] = calls.get(name, 0) + 1
            base = rename(name) if rename else name
            label = base if calls[name] == 1 else f"{base}#{calls[name]}"
            # Clone: torchvision's in-place ReLU and `out += identity` later overwrite this very tensor.
            out.append((label, output.detach().to(torch.float32).clone().contiguous()))
        return hook

    handles = [modules[n].register_forward_hook(hook_for(n)) for n in names]
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for h in handles:
            h.remove()
    silent = [n for n in names if n not in calls]
    if silent:
        raise RuntimeError(f"tapped modules never ran: {silent}")
    return out


def library_versions():
    import numpy
    import PIL
    import safetensors
    import torch
    import torchvision
    return {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "pillow": PIL.__version__, "numpy": numpy.__version__, "safetensors": safetensors.__version__}


def load_image(path: str):
    from PIL import Image, UnidentifiedImageError
    if not os.path.exists(path):
        raise InputError(path, "no such file")
    try:
        with Image.open(path) as im:
            info = {"file": os.path.basename(path), "sha256": sha256_file(path), "width": im.width,
                    "height": im.height, "mode": im.mode}
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise InputError(path, f"cannot read image: {one_line(e)}")
    return rgb, info


def validate(manifest: dict):
    import jsonschema
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(manifest)


def write_atomically(path: str, write):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the safetensors writer creates its file 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def make_reference(args) -> dict:
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    torch.set_num_threads(1)  # one reduction order: the same inputs give the same bytes

    weights_file, hf_config = resolve_weights(args.weights)
    sd = load_state_dict(weights_file, args.key)
    family = family_for(sd, args.model, weights_file)
    if family.name == "vit":
        name, config = vit_infer(sd, args.model, weights_file, hf_config)
    else:
        name, config = family.infer(sd, args.model, weights_file)
    synth = synth_identity(weights_file)
    if synth:
        name = synth["model"]
    if family.load:
        model = family.load(weights_file, sd, name, config)
    else:
        model = family.build(name, config)
        strict_load(model, sd, weights_file, name)
    model = model.to(torch.float32).eval()

    image, image_info = load_image(args.image)
    preset = family.preset_for(sd) if family.preset_for else family.preset
    transform = PRESETS[preset]()
    batch = torch.stack([transform(batch_copy(image, i)) for i in range(args.batch)]).contiguous()

    if family.name == "vit" and args.all:
        print("note: --all taps the same modules as block level for ViT (embeddings, every layer, layernorm, "
              "pooler, classifier)", file=sys.stderr)
    taps = record(model, family.taps(model, args.all), batch, rename=vit_tap_names(model) if family.name == "vit" else None)
    names = [n for n, _ in taps]
    assert len(set(names)) == len(names) and INPUT_KEY not in names, names

    weights = {"file": os.path.basename(weights_file), "sha256": sha256_file(weights_file),
               "format": "safetensors" if weights_file.endswith(".safetensors") else "torch"}
    if synth:
        weights["synth"] = synth
    if args.synth_seed is not None:
        weights["synth"] = {"model": name, "seed": args.synth_seed}
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "architecture": {"name": name, "family": family.name, "config": config},
        "weights": weights,
        "image": image_info,
        "preprocessing": {
            "preset": preset,
            "steps": ["PIL.Image.open(image).convert('RGB')"] + [repr(t) for t in transform.transforms],
            "batch_copies": BATCH_COPIES,
        },
        "batch": args.batch,
        "runtime": {"device": "cpu", "dtype": "float32", "threads": 1, "mode": "eval, torch.no_grad()"},
        "input": {"name": INPUT_KEY, "shape": list(batch.shape)},
        "tap_level": "all" if args.all and family.name != "vit" else "block",
        "taps": [{"name": n, "shape": list(t.shape)} for n, t in taps],
        "activations": {"file": ACTIVATIONS, "dtype": "f32"},
        "versions": library_versions(),
        "generator": {"script": SCRIPT, "revision": REVISION},
    }
    validate(manifest)

    os.makedirs(args.output, exist_ok=True)
    tensors = {INPUT_KEY: batch}
    tensors.update(dict(taps))
    write_atomically(os.path.join(args.output, ACTIVATIONS),
                     # One metadata entry: the library keeps __metadata__ in a hash map, so two would come out in
                     # either order and the bytes would differ from run to run.
                     lambda p: save_file(tensors, p, metadata={"format": "pt"}))
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"

    def write_text(p):
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    write_atomically(os.path.join(args.output, MANIFEST), write_text)
    return manifest


def parse_args(argv):
    all_models = [m for f in FAMILIES.values() for m in f.models]
    p = argparse.ArgumentParser(prog="make_reference.py",
                                description="Record reference activations from real PyTorch for `vfw verify`.")
    p.add_argument("--weights", required=True, help="torch.save checkpoint (.pth/.pt) or .safetensors")
    p.add_argument("--image", required=True, help="the photo to run (any format PIL reads)")
    p.add_argument("-o", "--output", required=True, help="folder to write manifest.json and activations.safetensors")
    p.add_argument("--key", default=None, metavar="K",
                   help="in a training checkpoint, the entry holding the weights (as `vfw convert --key`)")
    p.add_argument("--model", choices=all_models, metavar="NAME",
                   help="architecture, when the keys do not tell it: " + ", ".join(all_models))
    p.add_argument("--all", action="store_true", help="tap every leaf module and every block, not just blocks")
    p.add_argument("--batch", type=int, default=1, help="number of (distinct) copies of the image (default 1)")
    p.add_argument("--synth-seed", type=int, default=None,
                   help="record that the weights were made by `vfw synth` with this seed")
    args = p.parse_args(argv)
    if args.batch < 1:
        raise InputError("--batch", f"must be at least 1, got {args.batch}")
    if args.synth_seed is not None and args.synth_seed < 0:
        raise InputError("--synth-seed", f"must be non-negative, got {args.synth_seed}")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise InputError(args.output, "exists and is not a folder")
    return args


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
        manifest = make_reference(args)
    except InputError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(f"{args.output}: {manifest['architecture']['name']} on {manifest['image']['file']} (batch {args.batch}), "
          f"{len(manifest['taps'])} taps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
