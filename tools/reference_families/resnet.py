"""torchvision ResNet (resnet18 ... resnext101_64x4d), and the same network as Hugging Face transformers saves it
(ResNetModel / ResNetForImageClassification, microsoft/resnet-*): the Swift family is Sources/Models/ResNet.swift,
its recognition Sources/Models/ResNetLayout.swift (HFResNet holds the same name map as `hf_canonical` here)."""
import re
from typing import List, Optional, Tuple

from .common import Family, InputError, strict_load

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


# transformers' names (modeling_resnet.py), `resnet.` in front of the body in ResNetForImageClassification:
#   embedder.embedder.convolution / .normalization                  -> conv1 / bn1
#   encoder.stages.S.layers.B.layer.K.convolution / .normalization  -> layerS+1.B.convK+1 / bnK+1
#   encoder.stages.S.layers.B.shortcut.convolution / .normalization -> layerS+1.B.downsample.0 / .1
#   classifier.1                                                    -> fc (ResNetModel has no head)
_HF_STEM = re.compile(r"embedder\.embedder\.(convolution|normalization)\.(\w+)")
_HF_LAYER = re.compile(r"encoder\.stages\.(\d+)\.layers\.(\d+)\.layer\.(\d+)\.(convolution|normalization)\.(\w+)")
_HF_SHORTCUT = re.compile(r"encoder\.stages\.(\d+)\.layers\.(\d+)\.shortcut\.(convolution|normalization)\.(\w+)")


def hf_prefix(sd: dict) -> Optional[str]:
    """'' or 'resnet.' for a transformers ResNet state_dict, None for anything else."""
    return next((p for p in ("", "resnet.") if p + "embedder.embedder.convolution.weight" in sd), None)


def hf_canonical(name: str, prefix: str) -> Optional[str]:
    if name.startswith("classifier.1."):
        return "fc." + name[len("classifier.1."):]
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    if m := _HF_STEM.fullmatch(rest):
        return f"{'conv1' if m[1] == 'convolution' else 'bn1'}.{m[2]}"
    if m := _HF_LAYER.fullmatch(rest):
        k = int(m[3]) + 1
        return f"layer{int(m[1]) + 1}.{m[2]}.{'conv' if m[4] == 'convolution' else 'bn'}{k}.{m[5]}"
    if m := _HF_SHORTCUT.fullmatch(rest):
        return f"layer{int(m[1]) + 1}.{m[2]}.downsample.{0 if m[3] == 'convolution' else 1}.{m[4]}"
    return None


def hf_check(config: dict, hf_config: Optional[dict], path: str):
    """transformers' ResNetConfig against what torchvision's ResNet computes (Swift: HFResNet.check)."""
    if not hf_config:
        return
    expansion = 4 if config["block"] == "bottleneck" else 1
    widths = [w * expansion for w in (64, 128, 256, 512)]
    problems = []
    if hf_config.get("layer_type", config["block"]) != config["block"]:
        problems.append(f"layer_type {hf_config['layer_type']!r}, the tensors have {config['block']} blocks")
    if list(hf_config.get("depths", config["layers"])) != config["layers"]:
        problems.append(f"depths {hf_config['depths']}, the tensors have {config['layers']}")
    if list(hf_config.get("hidden_sizes", widths)) != widths:
        problems.append(f"hidden_sizes {hf_config['hidden_sizes']}; torchvision's ResNet has {widths}")
    if hf_config.get("embedding_size", 64) != 64 or hf_config.get("num_channels", 3) != 3:
        problems.append("embedding_size / num_channels other than 64 / 3")
    if hf_config.get("hidden_act", "relu") != "relu":
        problems.append(f"hidden_act {hf_config['hidden_act']!r} (only 'relu')")
    if hf_config.get("downsample_in_first_stage"):
        problems.append("downsample_in_first_stage (stride 2 in stage 1; torchvision keeps stride 1 there)")
    if config["block"] == "bottleneck" and hf_config.get("downsample_in_bottleneck"):
        problems.append("downsample_in_bottleneck (stride on the first 1x1 conv, ResNet v1; torchvision strides the 3x3)")
    if problems:
        raise InputError(path, "ResNet (Hugging Face transformers layout): config.json sets " + "; ".join(problems))


def resnet_detect(sd: dict) -> bool:
    if hf_prefix(sd) is not None:
        return True
    return all(k in sd for k in ("conv1.weight", "bn1.weight", "fc.weight", "layer1.0.conv1.weight"))


def resnet_infer(sd: dict, requested: Optional[str], path: str, hf_config: Optional[dict] = None) -> Tuple[str, dict]:
    prefix = hf_prefix(sd)
    if prefix is not None:
        canonical = {}
        for k, v in sd.items():
            c = hf_canonical(k, prefix)
            if c is None:
                raise InputError(path, f"ResNet (Hugging Face transformers layout): {k} is not a ResNet tensor")
            canonical[c] = v
        name, config = _infer(canonical, requested, path, headless=True)
        hf_check(config, hf_config, path)
        if config["num_classes"] and (hf_config or {}).get("id2label"):
            labels = {str(k): str(v) for k, v in hf_config["id2label"].items()}
            if sorted(labels, key=int) == [str(i) for i in range(config["num_classes"])]:
                config["id2label"] = labels
        return name, config
    return _infer(sd, requested, path, headless=False)


def _infer(sd: dict, requested: Optional[str], path: str, headless: bool) -> Tuple[str, dict]:
    fc = sd.get("fc.weight")
    if (fc is None and not headless) or (fc is not None and fc.dim() != 2):
        raise InputError(path, "keys do not match a ResNet: no 2-d fc.weight to take num_classes from")
    num_classes = int(fc.shape[0]) if fc is not None else 0
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


def resnet_load(path: str, sd: dict, name: str, config: dict):
    prefix = hf_prefix(sd)
    if prefix is not None:
        return hf_load(path, sd, name, config, prefix)
    model = resnet_build(name, config)
    strict_load(model, sd, path, name)
    return model


def hf_load(path: str, sd: dict, name: str, config: dict, prefix: str):
    """transformers' own model: ResNetForImageClassification for `resnet.` names (a head of num_classes, an
    Identity when 0), ResNetModel for unprefixed ones; every tensor loaded strictly."""
    from transformers import ResNetConfig, ResNetForImageClassification, ResNetModel
    expansion = 4 if config["block"] == "bottleneck" else 1
    if config["groups"] != 1 or config["width_per_group"] != 64:
        raise InputError(path, "transformers' ResNet has no groups or width_per_group")
    cfg = ResNetConfig(layer_type=config["block"], depths=config["layers"],
                       hidden_sizes=[w * expansion for w in (64, 128, 256, 512)], num_labels=config["num_classes"])
    if prefix:
        model = ResNetForImageClassification(cfg)
    elif config["num_classes"]:
        raise InputError(path, "keys do not match transformers' ResNet: classifier.1 without the resnet. prefix")
    else:
        model = ResNetModel(cfg)
    strict_load(model, sd, path, name)
    return model


def hf_taps(model, everything: bool) -> List[Tuple[str, str]]:
    """transformers' modules under torchvision's names (the canonical taps). A torchvision block calls its one
    `relu` after each conv-bn but the last and after the add (relu, relu#2, relu#3); transformers has one
    activation per ResNetConvLayer (an Identity after the last, not tapped) and one per layer, mapped in that
    order onto the same name."""
    modules = dict(model.named_modules())
    p = "resnet." if "resnet" in modules else ""
    out = [(p + "embedder.embedder.convolution", "conv1"), (p + "embedder.embedder.normalization", "bn1"),
           (p + "embedder.embedder.activation", "relu"), (p + "embedder.pooler", "maxpool")]
    for s, stage in enumerate(modules[p + "encoder.stages"]):
        for b, layer in enumerate(stage.layers):
            hf, tv = f"{p}encoder.stages.{s}.layers.{b}", f"layer{s + 1}.{b}"
            if everything:
                for k in range(len(layer.layer)):
                    out += [(f"{hf}.layer.{k}.convolution", f"{tv}.conv{k + 1}"),
                            (f"{hf}.layer.{k}.normalization", f"{tv}.bn{k + 1}")]
                    if k < len(layer.layer) - 1:
                        out.append((f"{hf}.layer.{k}.activation", f"{tv}.relu"))
                if f"{hf}.shortcut.convolution" in modules:
                    out += [(f"{hf}.shortcut.convolution", f"{tv}.downsample.0"),
                            (f"{hf}.shortcut.normalization", f"{tv}.downsample.1")]
                out.append((f"{hf}.activation", f"{tv}.relu"))
            out.append((hf, tv))
    out.append((p + "pooler", "avgpool"))
    if "classifier.1" in modules and not isinstance(modules["classifier.1"], __import__("torch").nn.Identity):
        out.append(("classifier.1", "fc"))
    return out


def resnet_taps(model, everything: bool) -> List[Tuple[str, str]]:
    """Tap names are torchvision's module names. Block level: stem, every block, head; --all: every module
    without children, plus every block."""
    if "embedder" in dict(model.named_children()) or "resnet" in dict(model.named_children()):
        return hf_taps(model, everything)
    blocks = [n for n, _ in model.named_modules() if _BLOCK.fullmatch(n)]
    if not everything:
        names = ["conv1", "bn1", "relu", "maxpool", *blocks, "avgpool", "fc"]
    else:
        names = [n for n, m in model.named_modules() if n and (not any(True for _ in m.children()) or _BLOCK.fullmatch(n))]
    return [(n, n) for n in names]


FAMILY = Family(
    name="resnet",
    models=tuple(RESNETS),
    detect=resnet_detect,
    infer=resnet_infer,
    load=resnet_load,
    preset=lambda sd, config: "torchvision",
    taps=resnet_taps,
    config_schema={
        "additionalProperties": False,
        "properties": {
            "block": {
                "enum": [
                    "basic",
                    "bottleneck"
                ]
            },
            "groups": {
                "minimum": 1,
                "type": "integer"
            },
            "layers": {
                "items": {
                    "minimum": 1,
                    "type": "integer"
                },
                "maxItems": 4,
                "minItems": 4,
                "type": "array"
            },
            "num_classes": {
                "minimum": 0,
                "type": "integer"
            },
            "id2label": {
                "additionalProperties": {"type": "string"},
                "type": "object"
            },
            "width_per_group": {
                "minimum": 1,
                "type": "integer"
            }
        },
        "required": [
            "block",
            "layers",
            "groups",
            "width_per_group",
            "num_classes"
        ]
    },
)
