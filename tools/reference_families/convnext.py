"""ConvNeXt V1 and V2: timm convnext_* / convnextv2_*, torchvision convnext_*, transformers ConvNextModel /
ConvNextForImageClassification / ConvNextV2*. The Swift family is Sources/Models/ConvNeXt.swift (+ ConvNeXtLayout.swift);
canonical names (keys and taps) are timm's, each library's model is loaded as that library builds it."""
import re
from typing import List, Optional, Tuple

from .common import Family, InputError, strict_load

V1 = lambda d, w: (d, w, False, True)  # noqa: E731
V2 = lambda d, w: (d, w, True, False)  # noqa: E731
# name: (depths, dims, grn, layer_scale) - timm/models/convnext.py and torchvision/models/convnext.py; the same table
# is ConvNeXtConfig.presets in Swift.
CONVNEXTS = {
    "convnext_tiny": V1([3, 3, 9, 3], [96, 192, 384, 768]),
    "convnext_small": V1([3, 3, 27, 3], [96, 192, 384, 768]),
    "convnext_base": V1([3, 3, 27, 3], [128, 256, 512, 1024]),
    "convnext_large": V1([3, 3, 27, 3], [192, 384, 768, 1536]),
    "convnext_xlarge": V1([3, 3, 27, 3], [256, 512, 1024, 2048]),
    "convnext_atto": V1([2, 2, 6, 2], [40, 80, 160, 320]),
    "convnext_femto": V1([2, 2, 6, 2], [48, 96, 192, 384]),
    "convnext_pico": V1([2, 2, 6, 2], [64, 128, 256, 512]),
    "convnext_nano": V1([2, 2, 8, 2], [80, 160, 320, 640]),
    "convnextv2_atto": V2([2, 2, 6, 2], [40, 80, 160, 320]),
    "convnextv2_femto": V2([2, 2, 6, 2], [48, 96, 192, 384]),
    "convnextv2_pico": V2([2, 2, 6, 2], [64, 128, 256, 512]),
    "convnextv2_nano": V2([2, 2, 8, 2], [80, 160, 320, 640]),
    "convnextv2_tiny": V2([3, 3, 9, 3], [96, 192, 384, 768]),
    "convnextv2_base": V2([3, 3, 27, 3], [128, 256, 512, 1024]),
    "convnextv2_large": V2([3, 3, 27, 3], [192, 384, 768, 1536]),
    "convnextv2_huge": V2([3, 3, 27, 3], [352, 704, 1408, 2816]),
}


def layout(sd: dict) -> Optional[Tuple[str, str]]:
    if "stem.0.weight" in sd and "stages.0.blocks.0.conv_dw.weight" in sd:
        return "timm", ""
    if "features.0.0.weight" in sd and "features.1.0.block.0.weight" in sd:
        return "torchvision", ""
    for p in ("", "convnext.", "convnextv2."):
        if p + "embeddings.patch_embeddings.weight" in sd and p + "encoder.stages.0.layers.0.dwconv.weight" in sd:
            return "transformers", p
    return None


def canonical(name: str, source: str, prefix: str) -> str:
    """A source key as timm names it (Swift: ConvNeXtLayout.canonical); unknown keys unchanged."""
    if source == "torchvision":
        m = re.fullmatch(r"classifier\.([02])\.(.+)", name)
        if m:
            return ("head.norm." if m.group(1) == "0" else "head.fc.") + m.group(2)
        m = re.fullmatch(r"features\.(\d+)\.(.+)", name)
        if not m:
            return name
        f, rest = int(m.group(1)), m.group(2)
        if f == 0:
            return "stem." + rest
        if f % 2 == 0:
            return f"stages.{f // 2}.downsample.{rest}"
        m = re.fullmatch(r"(\d+)\.(layer_scale|block\.(\d)\.(.+))", rest)
        if not m:
            return name
        block = f"stages.{(f - 1) // 2}.blocks.{m.group(1)}."
        if m.group(2) == "layer_scale":
            return block + "gamma"
        sub = {"0": "conv_dw", "2": "norm", "3": "mlp.fc1", "5": "mlp.fc2"}.get(m.group(3))
        return block + sub + "." + m.group(4) if sub else name
    if source == "transformers":
        if name.startswith("classifier."):
            return "head.fc." + name[len("classifier."):]
        if not name.startswith(prefix):
            return name
        n = name[len(prefix):]
        m = re.fullmatch(r"layernorm\.(weight|bias)", n)
        if m:
            return "head.norm." + m.group(1)
        m = re.fullmatch(r"embeddings\.(patch_embeddings|layernorm)\.(weight|bias)", n)
        if m:
            return ("stem.0." if m.group(1) == "patch_embeddings" else "stem.1.") + m.group(2)
        m = re.fullmatch(r"encoder\.stages\.(\d+)\.downsampling_layer\.(.+)", n)
        if m:
            return f"stages.{m.group(1)}.downsample.{m.group(2)}"
        m = re.fullmatch(r"encoder\.stages\.(\d+)\.layers\.(\d+)\.(\w+)(?:\.(.+))?", n)
        if not m:
            return name
        block = f"stages.{m.group(1)}.blocks.{m.group(2)}."
        if m.group(3) == "layer_scale_parameter":
            return block + "gamma"
        sub = {"dwconv": "conv_dw", "layernorm": "norm", "pwconv1": "mlp.fc1", "pwconv2": "mlp.fc2", "grn": "mlp.grn"}.get(m.group(3))
        return block + sub + "." + m.group(4) if sub and m.group(4) else name
    return name


def detect(sd: dict) -> bool:
    return layout(sd) is not None


def canonical_shapes(sd: dict) -> dict:
    source, prefix = layout(sd)
    return {canonical(k, source, prefix): tuple(v.shape) for k, v in sd.items()}


def structure(config: dict):
    return tuple(config["depths"]), tuple(config["dims"]), bool(config["grn"]), bool(config["layer_scale"])


def infer(sd: dict, requested: Optional[str], path: str, hf_config: Optional[dict] = None) -> Tuple[str, dict]:
    shapes = canonical_shapes(sd)
    fc = shapes.get("head.fc.weight")
    num_classes = int(fc[0]) if fc is not None else 0
    if requested is not None:
        d, w, grn, ls = CONVNEXTS[requested]
        return requested, {"depths": list(d), "dims": list(w), "grn": grn, "layer_scale": ls, "num_classes": num_classes}
    depths, dims = [], []
    while f"stages.{len(depths)}.blocks.0.conv_dw.weight" in shapes:
        i = len(depths)
        n = 0
        while f"stages.{i}.blocks.{n}.conv_dw.weight" in shapes:
            n += 1
        depths.append(n)
        dims.append(int(shapes[f"stages.{i}.blocks.0.conv_dw.weight"][0]))
    if not depths:
        raise InputError(path, "keys do not match a ConvNeXt: no first stage")
    config = {"depths": depths, "dims": dims, "grn": "stages.0.blocks.0.mlp.grn.weight" in shapes,
              "layer_scale": "stages.0.blocks.0.gamma" in shapes, "num_classes": num_classes}
    name = next((n for n, s in CONVNEXTS.items() if (tuple(s[0]), tuple(s[1]), s[2], s[3]) == structure(config)),
                "convnextv2-custom" if config["grn"] else "convnext-custom")
    return name, config


def load(path: str, sd: dict, name: str, config: dict):
    source, prefix = layout(sd)
    n = config["num_classes"]
    if source == "timm":
        from timm.models.convnext import ConvNeXt
        conv_mlp = len(sd["stages.0.blocks.0.mlp.fc1.weight"].shape) == 4
        model = ConvNeXt(depths=config["depths"], dims=config["dims"], num_classes=n, conv_mlp=conv_mlp,
                         use_grn=config["grn"], ls_init_value=1e-6 if config["layer_scale"] else None)
    elif source == "torchvision":
        import torchvision.models as tvm
        from torchvision.models.convnext import CNBlockConfig, ConvNeXt
        if name in CONVNEXTS and hasattr(tvm, name):
            model = getattr(tvm, name)(weights=None, num_classes=n)
        else:
            dims, depths = config["dims"], config["depths"]
            setting = [CNBlockConfig(dims[i], dims[i + 1] if i + 1 < len(dims) else None, depths[i]) for i in range(len(dims))]
            model = ConvNeXt(setting, num_classes=n)
    else:
        import transformers
        v2 = config["grn"]
        cfg = (transformers.ConvNextV2Config if v2 else transformers.ConvNextConfig)(
            depths=config["depths"], hidden_sizes=config["dims"], num_labels=max(n, 1))
        if prefix:
            cls = transformers.ConvNextV2ForImageClassification if v2 else transformers.ConvNextForImageClassification
        else:
            cls = transformers.ConvNextV2Model if v2 else transformers.ConvNextModel
        model = cls(cfg)
    strict_load(model, sd, path, name)
    return model


def taps(model, everything: bool) -> List[Tuple[str, str]]:
    """Block level (timm names): stem, every downsample, block and stage, the pooled vector, its norm, the classifier."""
    modules = dict(model.named_modules())
    out = []
    if "features" in modules:  # torchvision
        out.append(("features.0", "stem"))
        for n in modules:
            m = re.fullmatch(r"features\.(\d+)(?:\.(\d+))?", n)
            if not m or m.group(1) == "0":
                continue
            f = int(m.group(1))
            if f % 2 == 0 and m.group(2) is None:
                out.append((n, f"stages.{f // 2}.downsample"))
            elif f % 2 == 1:
                out.append((n, f"stages.{(f - 1) // 2}" + (f".blocks.{m.group(2)}" if m.group(2) is not None else "")))
        out += [("avgpool", "head.global_pool"), ("classifier.0", "head.norm"), ("classifier.2", "head.fc")]
    elif "stem" in modules:  # timm
        out.append(("stem", "stem"))
        out += [(n, n) for n in modules if re.fullmatch(r"stages\.\d+(\.downsample|\.blocks\.\d+)?", n)
                and type(modules[n]).__name__ != "Identity"]  # stage 0's downsample is an Identity
        out += [("head.global_pool", "head.global_pool"), ("head.norm", "head.norm")]
        if type(modules["head.fc"]).__name__ != "Identity":
            out.append(("head.fc", "head.fc"))
    else:  # transformers: the head's norm runs on the flattened pool (another shape), so it is not tapped
        p = next(n for n in modules if n.endswith("embeddings"))[: -len("embeddings")]
        out.append((p + "embeddings", "stem"))
        for n in modules:
            m = re.fullmatch(re.escape(p) + r"encoder\.stages\.(\d+)(\.downsampling_layer|\.layers\.(\d+))?", n)
            if m:
                tail = "" if m.group(2) is None else ".downsample" if m.group(3) is None else f".blocks.{m.group(3)}"
                if tail == ".downsample":
                    # A ModuleList its stage runs item by item (no hook of its own): its conv's output is its output.
                    if n + ".1" not in modules:
                        continue
                    n += ".1"
                out.append((n, f"stages.{m.group(1)}{tail}"))
        if "classifier" in modules:
            out.append(("classifier", "head.fc"))
    return out


FAMILY = Family(
    name="convnext",
    models=tuple(CONVNEXTS),
    detect=detect,
    infer=infer,
    load=load,
    preset=lambda sd, config: "torchvision",
    taps=taps,
    has_all_level=False,
    config_schema={
        "additionalProperties": False,
        "properties": {
            "depths": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "dims": {"items": {"minimum": 1, "type": "integer"}, "minItems": 1, "type": "array"},
            "grn": {"type": "boolean"},
            "layer_scale": {"type": "boolean"},
            "num_classes": {"minimum": 0, "type": "integer"},
        },
        "required": ["depths", "dims", "grn", "layer_scale", "num_classes"],
    },
)
