"""RegNet X and Y: torchvision regnet_* and timm regnetx_*/regnety_*. The Swift family is Sources/Models/RegNet.swift
(+ RegNetLayout.swift, RegNetModules.swift). Canonical names (keys and taps) are torchvision's; a timm checkpoint is
loaded into the real timm model and its taps are recorded under the torchvision module names that compute the same
tensor (timm's BatchNormAct2d includes the ReLU, so `conv1.bn` is torchvision's `f.a.2`)."""
import re
from typing import List, Optional, Tuple

from .common import Family, InputError, strict_load

# name: (depths, widths, group_widths, se_ratio), stem width 32, bottleneck multiplier 1: the stage parameters
# torchvision (regnet.py) and timm (regnet.py model_cfgs) build, read from the constructed models. The same table,
# in the same order, is RegNetConfig.presets in Swift: the first name with a structure is the one both report.
REGNETS = {
    "regnet_y_400mf": ([1, 3, 6, 6], [48, 104, 208, 440], [8, 8, 8, 8], 0.25),
    "regnet_y_800mf": ([1, 3, 8, 2], [64, 144, 320, 784], [16, 16, 16, 16], 0.25),
    "regnet_y_1_6gf": ([2, 6, 17, 2], [48, 120, 336, 888], [24, 24, 24, 24], 0.25),
    "regnet_y_3_2gf": ([2, 5, 13, 1], [72, 216, 576, 1512], [24, 24, 24, 24], 0.25),
    "regnet_y_8gf": ([2, 4, 10, 1], [224, 448, 896, 2016], [56, 56, 56, 56], 0.25),
    "regnet_y_16gf": ([2, 4, 11, 1], [224, 448, 1232, 3024], [112, 112, 112, 112], 0.25),
    "regnet_y_32gf": ([2, 5, 12, 1], [232, 696, 1392, 3712], [232, 232, 232, 232], 0.25),
    "regnet_x_400mf": ([1, 2, 7, 12], [32, 64, 160, 400], [16, 16, 16, 16], 0.0),
    "regnet_x_800mf": ([1, 3, 7, 5], [64, 128, 288, 672], [16, 16, 16, 16], 0.0),
    "regnet_x_1_6gf": ([2, 4, 10, 2], [72, 168, 408, 912], [24, 24, 24, 24], 0.0),
    "regnet_x_3_2gf": ([2, 6, 15, 2], [96, 192, 432, 1008], [48, 48, 48, 48], 0.0),
    "regnet_x_8gf": ([2, 5, 15, 1], [80, 240, 720, 1920], [80, 120, 120, 120], 0.0),
    "regnet_x_16gf": ([2, 6, 13, 1], [256, 512, 896, 2048], [128, 128, 128, 128], 0.0),
    "regnet_x_32gf": ([2, 7, 13, 1], [336, 672, 1344, 2520], [168, 168, 168, 168], 0.0),
    "regnetx_002": ([1, 1, 4, 7], [24, 56, 152, 368], [8, 8, 8, 8], 0.0),
    "regnetx_004": ([1, 2, 7, 12], [32, 64, 160, 384], [16, 16, 16, 16], 0.0),
    "regnetx_004_tv": ([1, 2, 7, 12], [32, 64, 160, 400], [16, 16, 16, 16], 0.0),
    "regnetx_006": ([1, 3, 5, 7], [48, 96, 240, 528], [24, 24, 24, 24], 0.0),
    "regnetx_008": ([1, 3, 7, 5], [64, 128, 288, 672], [16, 16, 16, 16], 0.0),
    "regnetx_016": ([2, 4, 10, 2], [72, 168, 408, 912], [24, 24, 24, 24], 0.0),
    "regnetx_032": ([2, 6, 15, 2], [96, 192, 432, 1008], [48, 48, 48, 48], 0.0),
    "regnetx_040": ([2, 5, 14, 2], [80, 240, 560, 1360], [40, 40, 40, 40], 0.0),
    "regnetx_064": ([2, 4, 10, 1], [168, 392, 784, 1624], [56, 56, 56, 56], 0.0),
    "regnetx_080": ([2, 5, 15, 1], [80, 240, 720, 1920], [80, 120, 120, 120], 0.0),
    "regnetx_120": ([2, 5, 11, 1], [224, 448, 896, 2240], [112, 112, 112, 112], 0.0),
    "regnetx_160": ([2, 6, 13, 1], [256, 512, 896, 2048], [128, 128, 128, 128], 0.0),
    "regnetx_320": ([2, 7, 13, 1], [336, 672, 1344, 2520], [168, 168, 168, 168], 0.0),
    "regnety_002": ([1, 1, 4, 7], [24, 56, 152, 368], [8, 8, 8, 8], 0.25),
    "regnety_004": ([1, 3, 6, 6], [48, 104, 208, 440], [8, 8, 8, 8], 0.25),
    "regnety_006": ([1, 3, 7, 4], [48, 112, 256, 608], [16, 16, 16, 16], 0.25),
    "regnety_008": ([1, 3, 8, 2], [64, 128, 320, 768], [16, 16, 16, 16], 0.25),
    "regnety_008_tv": ([1, 3, 8, 2], [64, 144, 320, 784], [16, 16, 16, 16], 0.25),
    "regnety_016": ([2, 6, 17, 2], [48, 120, 336, 888], [24, 24, 24, 24], 0.25),
    "regnety_032": ([2, 5, 13, 1], [72, 216, 576, 1512], [24, 24, 24, 24], 0.25),
    "regnety_040": ([2, 6, 12, 2], [128, 192, 512, 1088], [64, 64, 64, 64], 0.25),
    "regnety_064": ([2, 7, 14, 2], [144, 288, 576, 1296], [72, 72, 72, 72], 0.25),
    "regnety_080": ([2, 4, 10, 1], [168, 448, 896, 2016], [56, 56, 56, 56], 0.25),
    "regnety_080_tv": ([2, 4, 10, 1], [224, 448, 896, 2016], [56, 56, 56, 56], 0.25),
    "regnety_120": ([2, 5, 11, 1], [224, 448, 896, 2240], [112, 112, 112, 112], 0.25),
    "regnety_160": ([2, 4, 11, 1], [224, 448, 1232, 3024], [112, 112, 112, 112], 0.25),
    "regnety_320": ([2, 5, 12, 1], [232, 696, 1392, 3712], [232, 232, 232, 232], 0.25),
    "regnety_640": ([2, 5, 12, 1], [328, 984, 1968, 4920], [328, 328, 328, 328], 0.25),
    "regnety_1280": ([2, 7, 17, 1], [528, 1056, 2904, 7392], [264, 264, 264, 264], 0.25),
    "regnety_2560": ([2, 7, 17, 1], [746, 1492, 4103, 10444], [373, 373, 373, 373], 0.25),
}
TORCHVISION = tuple(n for n in REGNETS if n.startswith("regnet_"))
TIMM = tuple(n for n in REGNETS if not n.startswith("regnet_"))
REGNET_CUSTOM = "regnet-custom"

_TIMM_BLOCK = re.compile(r"s(\d+)\.b(\d+)\.(conv1|conv2|conv3|downsample|se)\.(conv|bn|fc1|fc2)\.(.+)")
_TIMM_SUB = {("conv1", "conv"): "f.a.0", ("conv1", "bn"): "f.a.1", ("conv2", "conv"): "f.b.0", ("conv2", "bn"): "f.b.1",
             ("conv3", "conv"): "f.c.0", ("conv3", "bn"): "f.c.1", ("downsample", "conv"): "proj.0",
             ("downsample", "bn"): "proj.1", ("se", "fc1"): "f.se.fc1", ("se", "fc2"): "f.se.fc2"}
_TV_BLOCK = re.compile(r"trunk_output\.block\d+\.block\d+-\d+")
_TIMM_BLOCK_MODULE = re.compile(r"s(\d+)\.b(\d+)")


def layout(sd: dict) -> Optional[str]:
    if "stem.0.weight" in sd and "trunk_output.block1.block1-0.f.a.0.weight" in sd:
        return "torchvision"
    if "stem.conv.weight" in sd and "s1.b1.conv1.conv.weight" in sd:
        return "timm"
    return None


def canonical_timm(name: str) -> str:
    """timm's key → torchvision's (Swift: RegNetLayout.canonical(timm:)); unknown keys unchanged."""
    for old, new in (("stem.conv.", "stem.0."), ("stem.bn.", "stem.1."), ("head.fc.", "fc.")):
        if name.startswith(old):
            return new + name[len(old):]
    m = _TIMM_BLOCK.fullmatch(name)
    if not m or (m.group(3), m.group(4)) not in _TIMM_SUB:
        return name
    s, b = int(m.group(1)), int(m.group(2))
    return f"trunk_output.block{s}.block{s}-{b - 1}.{_TIMM_SUB[(m.group(3), m.group(4))]}.{m.group(5)}"


def structure(config: dict):
    return (config["stem_width"], tuple(config["depths"]), tuple(config["widths"]), tuple(config["group_widths"]),
            float(config["bottleneck_multiplier"]), float(config["se_ratio"]))


def preset_config(name: str, num_classes: int) -> dict:
    depths, widths, group_widths, se = REGNETS[name]
    return {"stem_width": 32, "depths": list(depths), "widths": list(widths), "group_widths": list(group_widths),
            "bottleneck_multiplier": 1.0, "se_ratio": se, "num_classes": num_classes}


def detect(sd: dict) -> bool:
    return layout(sd) is not None


def infer(sd: dict, requested: Optional[str], path: str, hf_config: Optional[dict] = None) -> Tuple[str, dict]:
    shapes = {(canonical_timm(k) if layout(sd) == "timm" else k): tuple(v.shape) for k, v in sd.items()}
    fc = shapes.get("fc.weight")
    num_classes = int(fc[0]) if fc is not None else 0
    if requested is not None:
        return requested, preset_config(requested, num_classes)
    stem = shapes.get("stem.0.weight")
    depths, widths, group_widths = [], [], []
    multiplier = 1.0
    s = 1
    while f"trunk_output.block{s}.block{s}-0.f.a.0.weight" in shapes:
        n = 0
        while f"trunk_output.block{s}.block{s}-{n}.f.a.0.weight" in shapes:
            n += 1
        p = f"trunk_output.block{s}.block{s}-0."
        b, c = shapes.get(p + "f.b.0.weight"), shapes.get(p + "f.c.0.weight")
        if b is None or c is None or len(b) != 4 or len(c) != 4:
            raise InputError(path, f"keys do not match a RegNet: block{s}-0 has no 3x3 conv f.b.0 or 1x1 conv f.c.0")
        depths.append(n)
        widths.append(int(c[0]))
        group_widths.append(int(b[1]))
        if s == 1:
            multiplier = int(b[0]) / int(c[0])
        s += 1
    if stem is None or not depths:
        raise InputError(path, "keys do not match a RegNet: no stem convolution or first stage")
    se = shapes.get("trunk_output.block1.block1-0.f.se.fc1.weight")
    se_ratio = int(se[0]) / int(stem[0]) if se is not None else 0.0
    config = {"stem_width": int(stem[0]), "depths": depths, "widths": widths, "group_widths": group_widths,
              "bottleneck_multiplier": float(multiplier), "se_ratio": float(se_ratio), "num_classes": num_classes}
    name = next((n for n in REGNETS if structure(preset_config(n, 0)) == structure(config)), REGNET_CUSTOM)
    return name, config


def build_torchvision(name: str, config: dict):
    import torchvision.models as tvm
    from torchvision.models.regnet import BlockParams, RegNet
    if name in TORCHVISION and structure(preset_config(name, 0)) == structure(config):
        return getattr(tvm, name)(weights=None, num_classes=config["num_classes"])
    n = len(config["depths"])
    params = BlockParams(depths=config["depths"], widths=config["widths"], group_widths=config["group_widths"],
                         bottleneck_multipliers=[config["bottleneck_multiplier"]] * n, strides=[2] * n,
                         se_ratio=config["se_ratio"] or None)
    return RegNet(params, num_classes=config["num_classes"], stem_width=config["stem_width"])


def build_timm(name: str, config: dict, path: str):
    import timm
    candidates = ([name] if name in TIMM else []) + [n for n in TIMM if n != name]
    match = next((n for n in candidates if structure(preset_config(n, 0)) == structure(config)), None)
    if match is None:
        raise InputError(path, "keys are a timm RegNet whose stages match no timm model (regnetx_002 ... regnety_2560)")
    return timm.create_model(match, pretrained=False, num_classes=config["num_classes"])


def load(path: str, sd: dict, name: str, config: dict):
    model = build_timm(name, config, path) if layout(sd) == "timm" else build_torchvision(name, config)
    strict_load(model, sd, path, name)
    return model


# timm module → the torchvision module computing the same tensor (inside a block).
_TIMM_TAPS = (("downsample.conv", "proj.0"), ("downsample.bn", "proj.1"), ("conv1.conv", "f.a.0"), ("conv1.bn", "f.a.2"),
              ("conv2.conv", "f.b.0"), ("conv2.bn", "f.b.2"), ("se.fc1", "f.se.fc1"), ("se.act", "f.se.activation"),
              ("se.fc2", "f.se.fc2"), ("se.gate", "f.se.scale_activation"), ("se", "f.se"), ("conv3.conv", "f.c.0"),
              ("conv3.bn", "f.c.1"), ("act3", "activation"))


def taps(model, everything: bool) -> List[Tuple[str, str]]:
    """Block level: stem, every block, every stage, pooled features (torchvision), classifier. --all (torchvision):
    every module without children, every SE module, block and stage; --all (timm): every module with a torchvision twin."""
    modules = dict(model.named_modules())
    if "trunk_output" in modules:
        blocks = [n for n in modules if _TV_BLOCK.fullmatch(n)]
        stages = [n for n in modules if re.fullmatch(r"trunk_output\.block\d+", n)]
        if not everything:
            return [(n, n) for n in ["stem", *blocks, *stages, "avgpool", "fc"]]
        leaves = [n for n, m in modules.items() if n and not any(True for _ in m.children())]
        # The SE module's output (scale · input) is f.c.0's input: tapped so f.c.0 can run on torch's tensor.
        se = [n for n in modules if n.endswith(".f.se")]
        return [(n, n) for n in leaves + ["stem"] + se + blocks + stages]
    out = [("stem", "stem")]
    if everything:
        out += [("stem.conv", "stem.0"), ("stem.bn", "stem.2")]
    for n in modules:
        m = _TIMM_BLOCK_MODULE.fullmatch(n)
        if not m:
            continue
        s, b = int(m.group(1)), int(m.group(2))
        canon = f"trunk_output.block{s}.block{s}-{b - 1}"
        out.append((n, canon))
        if everything:
            out += [(f"{n}.{t}", f"{canon}.{c}") for t, c in _TIMM_TAPS if f"{n}.{t}" in modules
                    and type(modules[f"{n}.{t}"]).__name__ != "Identity"]
    out += [(f"s{s}", f"trunk_output.block{s}") for s in range(1, 9) if f"s{s}" in modules]
    if type(modules["head.fc"]).__name__ != "Identity":
        out.append(("head.fc", "fc"))
    return out


FAMILY = Family(
    name="regnet",
    models=tuple(REGNETS),
    detect=detect,
    infer=infer,
    load=load,
    preset=lambda sd, config: "torchvision",
    taps=taps,
    config_schema={
        "additionalProperties": False,
        "properties": {
            "stem_width": {"minimum": 1, "type": "integer"},
            "depths": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "widths": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "group_widths": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "bottleneck_multiplier": {"exclusiveMinimum": 0, "type": "number"},
            "se_ratio": {"minimum": 0, "type": "number"},
            "num_classes": {"minimum": 0, "type": "integer"},
        },
        "required": ["stem_width", "depths", "widths", "group_widths", "bottleneck_multiplier", "se_ratio", "num_classes"],
    },
)
