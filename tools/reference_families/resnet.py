"""torchvision ResNet (resnet18 ... resnext101_64x4d): the Swift family is Sources/Models/ResNet.swift."""
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


def resnet_detect(sd: dict) -> bool:
    return all(k in sd for k in ("conv1.weight", "bn1.weight", "fc.weight", "layer1.0.conv1.weight"))


def resnet_infer(sd: dict, requested: Optional[str], path: str, hf_config: Optional[dict] = None) -> Tuple[str, dict]:
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


def resnet_load(path: str, sd: dict, name: str, config: dict):
    model = resnet_build(name, config)
    strict_load(model, sd, path, name)
    return model


def resnet_taps(model, everything: bool) -> List[Tuple[str, str]]:
    """Tap names are torchvision's module names. Block level: stem, every block, head; --all: every module
    without children, plus every block."""
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
                "minimum": 1,
                "type": "integer"
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
