"""EfficientNet B0-B7: torchvision efficientnet_b* and timm efficientnet_b*. The Swift family is
Sources/Models/EfficientNet.swift (+ EfficientNetLayout.swift). Canonical names (keys and taps) are torchvision's; a
timm checkpoint is loaded into the real timm model and its taps are recorded under the torchvision module names that
compute the same tensor (timm's conv_stem + bn1 (BatchNormAct2d with SiLU) is torchvision's `features.0`)."""
import math
import re
from typing import List, Optional, Tuple

from .common import Family, InputError, strict_load

BASE_WIDTHS = [16, 24, 40, 80, 112, 192, 320]
BASE_DEPTHS = [1, 2, 2, 3, 3, 4, 1]
BASE_EXPAND = [1, 6, 6, 6, 6, 6, 6]
BASE_KERNELS = [3, 3, 5, 3, 5, 5, 3]
BASE_STRIDES = [1, 2, 2, 2, 1, 2, 1]
# name: (width multiplier, depth multiplier, torchvision's batch-norm eps) - torchvision/models/efficientnet.py; the
# same table is EfficientNetConfig.presets in Swift. timm's efficientnet_b* have the same structure, eps 1e-5.
EFFICIENTNETS = {
    "efficientnet_b0": (1.0, 1.0, 1e-5), "efficientnet_b1": (1.0, 1.1, 1e-5), "efficientnet_b2": (1.1, 1.2, 1e-5),
    "efficientnet_b3": (1.2, 1.4, 1e-5), "efficientnet_b4": (1.4, 1.8, 1e-5), "efficientnet_b5": (1.6, 2.2, 1e-3),
    "efficientnet_b6": (1.8, 2.6, 1e-3), "efficientnet_b7": (2.0, 3.1, 1e-3),
}


def divisible(v: float) -> int:
    """torchvision's _make_divisible(v, 8)."""
    n = max(8, int(v + 4) // 8 * 8)
    return n + 8 if n < 0.9 * v else n


def preset_config(name: str, num_classes: int) -> dict:
    w, d, eps = EFFICIENTNETS[name]
    widths = [divisible(c * w) for c in BASE_WIDTHS]
    return {"stem_width": divisible(32 * w), "widths": widths, "depths": [int(math.ceil(n * d)) for n in BASE_DEPTHS],
            "expand_ratios": list(BASE_EXPAND), "kernel_sizes": list(BASE_KERNELS), "strides": list(BASE_STRIDES),
            "head_width": 4 * widths[-1], "se_ratio": 0.25, "num_classes": num_classes, "eps": eps}


def structure(c: dict):
    return (c["stem_width"], tuple(c["widths"]), tuple(c["depths"]), tuple(c["expand_ratios"]), tuple(c["kernel_sizes"]),
            tuple(c["strides"]), c["head_width"], float(c["se_ratio"]))


def layout(sd: dict) -> Optional[str]:
    if "features.0.0.weight" in sd and "features.1.0.block.0.0.weight" in sd:
        return "torchvision"
    if "conv_stem.weight" in sd and "blocks.0.0.conv_dw.weight" in sd and "conv_head.weight" in sd:
        return "timm"
    return None


_TIMM_BLOCK = re.compile(r"blocks\.(\d+)\.(\d+)\.(\w+)\.(.+)")
_EXPANDED = {"conv_pw": "0.0", "bn1": "0.1", "conv_dw": "1.0", "bn2": "1.1", "conv_pwl": "3.0", "bn3": "3.1"}
_SEPARABLE = {"conv_dw": "0.0", "bn1": "0.1", "conv_pw": "2.0", "bn2": "2.1"}


def canonical_timm(name: str, sd: dict) -> str:
    """timm's key → torchvision's (Swift: EfficientNetLayout.canonical(timm:)); unknown keys unchanged."""
    stages = sum(1 for s in range(64) if f"blocks.{s}.0.conv_dw.weight" in sd)
    for old, new in (("conv_stem.", "features.0.0."), ("bn1.", "features.0.1."), ("conv_head.", f"features.{stages + 1}.0."),
                     ("bn2.", f"features.{stages + 1}.1."), ("classifier.", "classifier.1.")):
        if name.startswith(old):
            return new + name[len(old):]
    m = _TIMM_BLOCK.fullmatch(name)
    if not m:
        return name
    s, b, part, rest = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
    expanded = f"blocks.{s}.{b}.conv_pwl.weight" in sd
    block = f"features.{s + 1}.{b}.block."
    if part == "se":
        i = 2 if expanded else 1
        for old, new in (("conv_reduce.", "fc1."), ("conv_expand.", "fc2.")):
            if rest.startswith(old):
                return f"{block}{i}.{new}{rest[len(old):]}"
        return name
    sub = (_EXPANDED if expanded else _SEPARABLE).get(part)
    return f"{block}{sub}.{rest}" if sub else name


def detect(sd: dict) -> bool:
    return layout(sd) is not None


def infer(sd: dict, requested: Optional[str], path: str, hf_config: Optional[dict] = None) -> Tuple[str, dict]:
    source = layout(sd)
    shapes = {(canonical_timm(k, sd) if source == "timm" else k): tuple(v.shape) for k, v in sd.items()}
    fc = shapes.get("classifier.1.weight")
    num_classes = int(fc[0]) if fc is not None else 0
    if requested is not None:
        config = preset_config(requested, num_classes)
        if source == "timm":
            config["eps"] = 1e-5
        return requested, config
    stem = shapes.get("features.0.0.weight")
    if stem is None:
        raise InputError(path, "keys do not match an EfficientNet: no stem convolution features.0.0")
    widths, depths, expand, kernels = [], [], [], []
    cin, s = int(stem[0]), 1
    while f"features.{s}.0.block.0.0.weight" in shapes:
        n = 0
        while f"features.{s}.{n}.block.0.0.weight" in shapes:
            n += 1
        p = f"features.{s}.0.block."
        expanded = p + "3.0.weight" in shapes
        dw, proj = shapes.get(p + ("1.0.weight" if expanded else "0.0.weight")), shapes.get(p + ("3.0.weight" if expanded else "2.0.weight"))
        if dw is None or proj is None:
            raise InputError(path, f"keys do not match an EfficientNet: features.{s}.0 has no depthwise or project convolution")
        widths.append(int(proj[0]))
        depths.append(n)
        expand.append(max(1, round(int(dw[0]) / cin)) if expanded else 1)
        kernels.append(int(dw[2]))
        cin = int(proj[0])
        s += 1
    head = shapes.get(f"features.{s}.0.weight")
    if not widths or head is None:
        raise InputError(path, "keys do not match an EfficientNet: no first stage or head convolution")
    fc1 = shapes.get(f"features.1.0.block.{1 if expand[0] == 1 else 2}.fc1.weight")
    config = {"stem_width": int(stem[0]), "widths": widths, "depths": depths, "expand_ratios": expand, "kernel_sizes": kernels,
              "strides": list(BASE_STRIDES) if len(widths) == len(BASE_STRIDES) else [2] * len(widths),
              "head_width": int(head[0]), "se_ratio": int(fc1[0]) / int(stem[0]) if fc1 is not None else 0.25,
              "num_classes": num_classes, "eps": 1e-5}
    name = next((n for n in EFFICIENTNETS if structure(preset_config(n, 0)) == structure(config)), "efficientnet-custom")
    if source == "torchvision" and name in EFFICIENTNETS:
        config["eps"] = EFFICIENTNETS[name][2]
    return name, config


def load(path: str, sd: dict, name: str, config: dict):
    if name not in EFFICIENTNETS:
        raise InputError(path, "keys are an EfficientNet whose stages match no efficientnet_b0 ... efficientnet_b7")
    if layout(sd) == "timm":
        import timm
        model = timm.create_model(name, pretrained=False, num_classes=config["num_classes"])
    else:
        import torchvision.models as tvm
        model = getattr(tvm, name)(weights=None, num_classes=config["num_classes"])
    strict_load(model, sd, path, name)
    return model


def taps(model, everything: bool) -> List[Tuple[str, str]]:
    """Block level (--all is the same): stem, every block, every stage, the head conv, pooled features (torchvision),
    classifier."""
    modules = dict(model.named_modules())
    if "features" in modules:
        names = ["features.0"]
        for s in range(1, 64):
            if f"features.{s}.0.block" not in modules:
                names.append(f"features.{s}")  # the head conv
                break
            names += [n for n in modules if re.fullmatch(rf"features\.{s}\.\d+", n)] + [f"features.{s}"]
        return [(n, n) for n in names + ["avgpool", "classifier.1"]]
    nstages = sum(1 for n in modules if re.fullmatch(r"blocks\.\d+", n))
    out = [("bn1", "features.0")]
    out += [(n, f"features.{int(m.group(1)) + 1}.{m.group(2)}") for n in modules for m in [re.fullmatch(r"blocks\.(\d+)\.(\d+)", n)] if m]
    out += [(f"blocks.{s}", f"features.{s + 1}") for s in range(nstages)]
    out.append(("bn2", f"features.{nstages + 1}"))
    if type(modules["classifier"]).__name__ != "Identity":
        out.append(("classifier", "classifier.1"))
    return out


FAMILY = Family(
    name="efficientnet",
    models=tuple(EFFICIENTNETS),
    detect=detect,
    infer=infer,
    load=load,
    preset=lambda sd, config: "torchvision",
    taps=taps,
    config_schema={
        "additionalProperties": False,
        "properties": {
            "stem_width": {"minimum": 1, "type": "integer"},
            "widths": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "depths": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "expand_ratios": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "kernel_sizes": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "strides": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "head_width": {"minimum": 1, "type": "integer"},
            "se_ratio": {"exclusiveMinimum": 0, "type": "number"},
            "num_classes": {"minimum": 0, "type": "integer"},
            "eps": {"minimum": 0, "type": "number"},
        },
        "required": ["stem_width", "widths", "depths", "expand_ratios", "kernel_sizes", "strides", "head_width", "se_ratio",
                     "num_classes"],
    },
    has_all_level=False,
)
