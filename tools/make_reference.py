#!/usr/bin/env python3
"""Record what real PyTorch computes, layer by layer: the reference activations `vfw verify` checks against.

            calls[base] = calls.get(base, 0) + 1
            label = base if calls[base] == 1 else f"{base}#{calls[base]}"
            if keep is None or label in keep:
                # Clone: torchvision's in-place ReLU and `out += identity` later overwrite this very tensor.
                out.append((label, output.detach().clone().contiguous()))

Then the truth: the same model in float64 (`model.double()`) on the same preprocessed batch cast to float64,
with the same hooks. A float32 run is only as close to the mathematical result as its rounding allows (two
correct float32 PyTorch runs of a deep ResNet disagree by ~6e-4); the float64 run is that result to ~1e-12, so
`vfw verify` can tell Swift's error from PyTorch's own. It is stored as the bf16 difference truth - float32
result: a bf16 holds 8 significant bits, so the stored truth is within 2^-9 (0.2%) of PyTorch's own error of it,
at half the bytes of a float32 copy (which, rounded to float32, would be off by up to half an ulp of the value:
as much as PyTorch's whole error in the first layers). Writes:

    DIR/activations.safetensors   `input` (the preprocessed batch), one float32 tensor per tap, and per tap the
                                  bf16 tensor `truth/TAP` = float64 result - float32 result
    DIR/manifest.json             what was run on what, validated against Schemas/reference-manifest.schema.json

Taps are PyTorch module names. By default the block level (ResNet: conv1, bn1, relu, maxpool, every
layerL.B, avgpool, fc); with --all every module without children plus every block. A module that runs
more than once in one forward (torchvision's BasicBlock calls its `relu` twice) is recorded once per call,
later calls suffixed `#2`, `#3`: layer1.0.relu, layer1.0.relu#2.

--taps GLOB (repeatable) records only the taps matching one of the globs (`*` any characters, dots included),
to keep a reference over many photos small.

--batch N stacks N copies of every image, copy i turned by (i // 2) % 4 counter-clockwise quarter turns and
mirrored left-right when i is odd (PIL transposes before the transforms), so the batch holds distinct images:
item b of the batch is copy b % N of image b // N (the manifest's `items`).

The same inputs give byte-identical files (sorted JSON keys, no timestamps, one thread). Bad input (missing
or unreadable file, unknown architecture, keys that do not fit the model) prints one line naming the file
and the problem on stderr and exits 2.

Model families live in tools/reference_families/, one module each, listed once in its __init__.py (the Python
twin of Swift's Families.all): each knows how to recognise its checkpoints, infer its config, load the real
library's model, which preprocessing preset it uses and which modules to tap under which names. This script
never asks which family it runs.
"""
import argparse
import copy
import fnmatch
import hashlib
import json
import math
import os
import platform
import re
import sys
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_families as _families  # noqa: E402
from reference_families.common import Family, InputError, one_line  # noqa: E402

SCHEMA_VERSION = 2
# Bump when the files this script writes change for the same inputs.
REVISION = 2
SCRIPT = "tools/make_reference.py"
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SCHEMA_PATH = os.path.join(ROOT, "Schemas", "reference-manifest.schema.json")
ACTIVATIONS = "activations.safetensors"
MANIFEST = "manifest.json"
INPUT_KEY = "input"
TRUTH_PREFIX = "truth/"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
TRUTH = {
    "dtype": "float64",
    "stored_as": "bf16-difference",
    "how": "model.double() on the preprocessed batch cast to float64, the same hooks; stored per tap as the bf16 "
           "tensor truth/TAP = float64 result - float32 result, so truth = float32 activation + float64(difference)",
}


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


def tensor_digest(sd: dict) -> str:
    """The tensors' identity, independent of the file holding them (Swift: VFW's TensorDigest; schema:
    weights.tensors_sha256): SHA-256 over, for every tensor in ascending order of its name's UTF-8 bytes,
    name 0x00 dtype (safetensors' name) 0x00 shape (decimal, comma-separated) 0x00 u64-LE byte count, bytes (LE)."""
    import torch
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
             torch.bool: "BOOL"}
    h = hashlib.sha256()
    for name in sorted(sd, key=lambda n: n.encode("utf-8")):
        t = sd[name].detach().cpu().contiguous()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        h.update(name.encode("utf-8") + b"\0" + names[t.dtype].encode() + b"\0")
        h.update(",".join(str(d) for d in t.shape).encode() + b"\0")
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def is_torch_file(path: str) -> bool:
    """A zip archive (torch.save since 1.6) or a pickle stream starting with PROTO (the legacy format)."""
    import zipfile
    with open(path, "rb") as f:
        head = f.read(1)
    return zipfile.is_zipfile(path) or head == b"\x80"


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


class HFProcessorPreset:
    """A transformers image processor (`ViTImageProcessor`: transformers 5's default, torchvision backend;
    `ViTImageProcessorPil` with backend="pil"), sized to the model (config image_size). `transforms` lists the
    steps for the manifest, like a torchvision Compose."""

    def __init__(self, config: Optional[dict] = None, backend: str = "torchvision", folder: Optional[str] = None):
        if folder is not None:
            # The model folder's own preprocessor_config.json, as AutoImageProcessor reads it.
            from transformers import AutoImageProcessor
            self.processor = AutoImageProcessor.from_pretrained(folder, backend=backend)
        else:
            from transformers import ViTImageProcessor, ViTImageProcessorPil
            side = int((config or {}).get("image_size", 224))
            cls = ViTImageProcessorPil if backend == "pil" else ViTImageProcessor
            self.processor = cls(size={"height": side, "width": side})
        p = self.processor
        settings = {k: v for k, v in sorted(p.to_dict().items()) if k not in ("processor_class", "auto_map")}
        self.transforms = [f"transformers.{type(p).__name__}({settings})"]

    def __call__(self, image):
        return self.processor(images=image, return_tensors="pt", **getattr(self, "call_kwargs", {}))["pixel_values"][0]


def size_arithmetic(n: int, f: float) -> int:
    """floor(n * f + 0.5): the rounding Swift's PreprocessSpec.sized uses (not Python's round-half-even)."""
    return math.floor(n * f + 0.5)


def hf_processor_at_size(transform, size: Tuple[int, int]):
    """A transformers processor preset making H x W inputs, as Swift's PreprocessSpec.sized does: without a center
    crop `size={"height": H, "width": W}`; with one `crop_size={"height": H, "width": W}` and the resize scaled by
    f = max(H / crop height, W / crop width) (shortest_edge floor(s*f + 0.5); height and width each by its own
    ratio). The processor's own call arguments, so the manifest's repr names them."""
    h, w = size
    d = transform.processor.to_dict()
    crop = d.get("crop_size") if d.get("do_center_crop") else None
    if crop is None:
        kwargs = {"size": {"height": h, "width": w}}
    else:
        ch, cw = crop["height"], crop["width"]
        old = d["size"]
        if old.get("shortest_edge") is not None:
            new = {"shortest_edge": size_arithmetic(old["shortest_edge"], max(h / ch, w / cw))}
        else:
            new = {"height": size_arithmetic(old["height"], h / ch), "width": size_arithmetic(old["width"], w / cw)}
        kwargs = {"size": new, "crop_size": {"height": h, "width": w}}
    transform.call_kwargs = kwargs
    transform.transforms = list(transform.transforms) + [f"called with {kwargs}"]
    return transform


def timm_pretrained_cfg_preset(folder: str):
    """timm's eval transform for the pretrained_cfg of a timm folder's config.json, as timm users build it:
    create_transform(**resolve_data_config(pretrained_cfg=cfg)). A Compose: its `transforms` go in the manifest."""
    import timm.data
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)["pretrained_cfg"]
    return timm.data.create_transform(**timm.data.resolve_data_config(pretrained_cfg=cfg))


def timm_pretrained_cfg_at_size(folder: str, size: Tuple[int, int]):
    """timm's eval transform for H x W inputs, as timm users ask for it: resolve_data_config({"input_size":
    (3, H, W)}, pretrained_cfg=cfg). Square only: for H != W timm resizes with ResizeKeepRatio, which vfw does not
    implement (PreprocessSpec.sized refuses it too)."""
    import timm.data
    if size[0] != size[1]:
        raise InputError("--image-size", f"{size[0]}x{size[1]}: timm's eval transform resizes non-square inputs with ResizeKeepRatio, which vfw does not implement; give a square size or --preprocess hf-vit")
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)["pretrained_cfg"]
    return timm.data.create_transform(**timm.data.resolve_data_config({"input_size": (3, size[0], size[1])}, pretrained_cfg=cfg))


def transform_for(preset: str, config: dict, folder: Optional[str], size: Optional[Tuple[int, int]] = None):
    """The preset's transform, at the model's configured size or at `size` (H, W) when given (--image-size)."""
    if size is None:
        return PRESETS[preset](config, folder)
    if preset == "pretrained_cfg":
        return timm_pretrained_cfg_at_size(folder, size)
    if preset == "torchvision":
        from torchvision import transforms
        from torchvision.transforms import InterpolationMode
        f = max(size[0] / 224, size[1] / 224)
        return transforms.Compose([
            transforms.Resize(size_arithmetic(256, f), interpolation=InterpolationMode.BILINEAR, antialias=True),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
        ])
    transform = PRESETS[preset](config, folder)
    if hasattr(transform, "processor"):  # a transformers image processor (hf-vit, preprocessor_config.json, dinov2)
        return hf_processor_at_size(transform, size)
    raise InputError("--image-size", f"the {preset} preset cannot be made to another size here")


def parse_size(text: str) -> Tuple[int, int]:
    """N or HxW (height first), as vfw's --image-size."""
    parts = text.lower().split("x")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (1, 2) or min(nums) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not N or HxW (positive integers, height first)")
    return (nums[0], nums[-1])


# preset name -> (architecture config, model folder or None) -> transform. As `vfw convert` does, a folder holding
# preprocessor_config.json is preprocessed as it says (preset "preprocessor_config.json"), else a timm folder as its
# config.json's pretrained_cfg says (preset "pretrained_cfg"), else with the family's preset.
PRESETS: Dict[str, Callable] = {
    "torchvision": lambda config, folder: torchvision_preset(),
    "hf-vit": lambda config, folder: HFProcessorPreset(config),
    "hf-vit-pil": lambda config, folder: HFProcessorPreset(config, backend="pil"),
    "preprocessor_config.json": lambda config, folder: HFProcessorPreset(folder=folder),
    "pretrained_cfg": lambda config, folder: timm_pretrained_cfg_preset(folder),
}

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

FAMILIES = _families.FAMILIES
for _f in FAMILIES:
    PRESETS.update(_f.presets)


def family_for(sd: dict, requested: Optional[str], path: str) -> Family:
    if requested is not None:
        return next(f for f in FAMILIES if requested in f.models)
    for fam in FAMILIES:
        if fam.detect(sd):
            return fam
    sample = ", ".join(list(sd)[:3])
    raise InputError(path, f"unknown architecture: keys ({sample}, ...) match no supported family "
                           f"({', '.join(f.name for f in FAMILIES)}); pass --model NAME")


# MARK: - Recording

def record(model, hooks: List[Tuple[str, str]], batch, keep=None):
    """Runs `model` on `batch`, returning [(tap name, output)] in execution order; `hooks` pairs each module
    name to hook with the tap name it is recorded under; `keep` (a set of tap names, or None for all) chooses
    which are returned. Outputs keep the model's dtype (float32, or float64 for the truth)."""
    import torch

    modules = dict(model.named_modules())
    calls: Dict[str, int] = {}
    out: List[Tuple[str, object]] = []

    def hook_for(name):
        def hook(_module, _inputs, output):
            if isinstance(output, (tuple, list)):  # modules returning tuples: record the first (hidden state)
                output = output[0]
            # Counted per tap name: several modules may share one (transformers' per-layer activations are
            # torchvision's one `relu`, called again).
            base = rename[name]
            calls[base] = calls.get(base, 0) + 1
            label = base if calls[base] == 1 else f"{base}#{calls[base]}"
            if keep is None or label in keep:
                # Clone: torchvision's in-place ReLU and `out += identity` later overwrite this very tensor.
                out.append((label, output.detach().clone().contiguous()))
        return hook

    rename = dict(hooks)
    names = [m for m, _ in hooks]
    handles = [modules[n].register_forward_hook(hook_for(n)) for n in names]
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for h in handles:
            h.remove()
    silent = [n for n in names if rename[n] not in calls]
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


def image_paths(given: List[str]) -> List[str]:
    """--image arguments in order; a folder stands for its .png/.jpg/.jpeg files, sorted by name."""
    paths = []
    for p in given:
        if os.path.isdir(p):
            found = sorted(f for f in os.listdir(p) if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith("."))
            if not found:
                raise InputError(p, "is a folder holding no .png, .jpg or .jpeg file")
            paths += [os.path.join(p, f) for f in found]
        else:
            paths.append(p)
    return paths


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


def validate(manifest: dict, family: Family):
    """The manifest against Schemas/reference-manifest.schema.json, its config against the family's own schema."""
    import jsonschema
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    for s, doc in ((schema, manifest), (family.config_schema, manifest["architecture"]["config"])):
        jsonschema.Draft202012Validator.check_schema(s)
        jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker()).validate(doc)


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
    name, config = family.infer(sd, args.model, weights_file, hf_config)
    synth = synth_identity(weights_file)
    if synth:
        name = synth["model"]
    model = family.load(weights_file, sd, name, config).to(torch.float32).eval()

    loaded = [load_image(p) for p in image_paths(args.image)]
    preset = family.preset(sd, config)
    folder = args.weights if os.path.isdir(args.weights) else os.path.dirname(os.path.abspath(args.weights))
    if args.preprocess is not None:
        preset = args.preprocess
    elif os.path.exists(os.path.join(folder, "preprocessor_config.json")):
        preset = "preprocessor_config.json"
    elif isinstance(hf_config, dict) and isinstance(hf_config.get("pretrained_cfg"), dict):
        preset = "pretrained_cfg"
    transform = transform_for(preset, config, folder, args.image_size)
    items = [{"image": i, "copy": c} for i in range(len(loaded)) for c in range(args.batch)]
    batch = torch.stack([transform(batch_copy(loaded[it["image"]][0], it["copy"])) for it in items]).contiguous()

    if args.all and not family.has_all_level:
        print(f"note: --all taps the same modules as block level for the {family.name} family", file=sys.stderr)
    hooks = family.taps(model, args.all)
    keep = None
    if args.taps:
        labels = [n for n, _ in record(model, hooks, batch[:1])]  # every tap label, #2 suffixes included
        for g in args.taps:
            if not any(fnmatch.fnmatchcase(n, g) for n in labels):
                raise InputError("--taps", f"'{g}' matches no tap of {name} (its taps: {', '.join(labels[:6])}, ...)")
        keep = {n for n in labels if any(fnmatch.fnmatchcase(n, g) for g in args.taps)}
    taps = record(model, hooks, batch, keep)
    names = [n for n, _ in taps]
    assert len(set(names)) == len(names) and INPUT_KEY not in names, names
    assert all(t.dtype == torch.float32 for _, t in taps), "the float32 run produced another dtype"

    truths = {}
    if not args.no_truth:
        # The same model in float64 on the same preprocessed batch: the result float32 only approximates.
        model64 = copy.deepcopy(model).double().eval()
        taps64 = record(model64, hooks, batch.double(), keep)
        assert [n for n, _ in taps64] == names, "the float64 run recorded other taps"
        for (n, t32), (_, t64) in zip(taps, taps64):
            truths[n] = (t64 - t32.double()).to(torch.bfloat16).contiguous()

    weights = {"file": os.path.basename(weights_file), "sha256": sha256_file(weights_file),
               "tensors_sha256": tensor_digest(sd),
               "format": "safetensors" if weights_file.endswith(".safetensors") else "torch"}
    if synth:
        weights["synth"] = synth
    if args.synth_seed is not None:
        weights["synth"] = {"model": name, "seed": args.synth_seed}
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "architecture": {"name": name, "family": family.name, "config": config},
        "weights": weights,
        "images": [info for _, info in loaded],
        "items": items,
        "preprocessing": {
            "preset": preset,
            "steps": ["PIL.Image.open(image).convert('RGB')"] + [repr(t) for t in transform.transforms],
            "batch_copies": BATCH_COPIES,
        },
        "batch": len(items),
        "runtime": {"device": "cpu", "dtype": "float32", "threads": 1, "mode": "eval, torch.no_grad()"},
        "input": {"name": INPUT_KEY, "shape": list(batch.shape)},
        "tap_level": "all" if args.all and family.has_all_level else "block",
        "taps": [dict({"name": n, "shape": list(t.shape)}, **({"truth": TRUTH_PREFIX + n} if n in truths else {}))
                 for n, t in taps],
        "activations": {"file": ACTIVATIONS, "dtype": "f32"},
        "versions": library_versions(),
        "generator": {"script": SCRIPT, "revision": REVISION},
    }
    if args.taps:
        manifest["tap_selection"] = list(args.taps)
    if truths:
        manifest["truth"] = TRUTH
    validate(manifest, family)

    os.makedirs(args.output, exist_ok=True)
    tensors = {INPUT_KEY: batch}
    tensors.update(dict(taps))
    tensors.update({TRUTH_PREFIX + n: d for n, d in truths.items()})
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
    all_models = [m for f in FAMILIES for m in f.models]
    p = argparse.ArgumentParser(prog="make_reference.py",
                                description="Record reference activations from real PyTorch for `vfw verify`.")
    p.add_argument("--weights", required=True, help="torch.save checkpoint (.pth/.pt) or .safetensors")
    p.add_argument("--image", required=True, action="append",
                   help="a photo to run (any format PIL reads), or a folder of them; repeatable: one batch")
    p.add_argument("-o", "--output", required=True, help="folder to write manifest.json and activations.safetensors")
    p.add_argument("--key", default=None, metavar="K",
                   help="in a training checkpoint, the entry holding the weights (as `vfw convert --key`)")
    p.add_argument("--model", choices=all_models, metavar="NAME",
                   help="architecture, when the keys do not tell it: " + ", ".join(all_models))
    p.add_argument("--preprocess", choices=sorted(PRESETS), default=None,
                   help="preprocessing (default: the model folder's preprocessor_config.json, else the family's preset)")
    p.add_argument("--image-size", type=parse_size, default=None, metavar="H[xW]",
                   help="preprocess to H x W (N: N x N) instead of the model's configured size, as vfw's --image-size "
                        "does; a ViT then resamples its position table as its library does")
    p.add_argument("--all", action="store_true", help="tap every leaf module and every block, not just blocks")
    p.add_argument("--taps", action="append", metavar="GLOB",
                   help="record only taps matching GLOB (repeatable; * matches any characters, dots included)")
    p.add_argument("--batch", type=int, default=1, help="number of (distinct) copies of every image (default 1)")
    p.add_argument("--no-truth", action="store_true",
                   help="skip the float64 run (the reference then has no truth: vfw verify uses its tolerance only)")
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
    files = ", ".join(i["file"] for i in manifest["images"])
    truth = " with the float64 truth" if "truth" in manifest else ""
    print(f"{args.output}: {manifest['architecture']['name']} on {files} (batch {manifest['batch']}), "
          f"{len(manifest['taps'])} taps{truth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
