#!/usr/bin/env python3
"""What transformers and timm compute from image files for model folders that carry their own preprocessing: the
fixtures of vfw's wiring of PreprocessSpec (convert stores the folder's spec, VisionModel / `vfw embed` run it).

    ~/.cache/vfw-venv/bin/python tools/make_preprocess_wiring_fixtures.py [-o Tests/Fixtures/vit/preprocess]

The models are the tiny ViTs of tools/make_vit_fixtures.py (Tests/Fixtures/vit: image 32, hidden 32); the tests
copy their weights and config.json into a temporary folder beside the preprocessing file named here. Cases:

    hf-default    Tests/Fixtures/vit/hf-model as it is (no preprocessor_config.json): transformers 5's default
                  pipeline for a ViT, ViTImageProcessor (torchvision backend) sized to config image_size (32x32)
    hf-folder     the same weights with hf-folder/preprocessor_config.json, written by transformers'
                  ViTImageProcessor(size 32x32, resample BICUBIC, ImageNet mean/std).save_pretrained:
                  AutoImageProcessor.from_pretrained(folder) (torchvision backend) and backend="pil"
    timm-cfg      Tests/Fixtures/vit/timm (config.json with pretrained_cfg: input 32, crop_pct 0.9, bicubic,
                  mean/std 0.5): timm.data.create_transform(**resolve_data_config(pretrained_cfg=...))

For each case and backend, expected.safetensors holds `CASE/BACKEND/pixel_values` [N, 3, 32, 32] (the real
pipeline's float32 tensor for each photo, fed one at a time) and `CASE/BACKEND/feature` [N, 32] (the model's CLS
token after the final norm: transformers ViTModel last_hidden_state[:, 0], timm forward_features(x)[:, 0]), for
the photos listed in expected.json (Tests/Fixtures/images/preset, `Image.open(p).convert("RGB")` as the libraries'
users feed them: none of these pipelines composites transparency).
CPU, float32, one thread, eval, no_grad; versions.json records the libraries. Same script, same versions → same
files.
"""
import argparse
import json
import os
import platform
import shutil
import tempfile

import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
VIT = os.path.join(ROOT, "Tests", "Fixtures", "vit")
PHOTOS = ["rocket.jpg", "portrait.png", "chelsea_451x97.jpg", "tiny_13x9.png"]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default=os.path.join(VIT, "preprocess"))
    out = ap.parse_args().output
    torch.set_num_threads(1)
    import PIL
    import timm
    import transformers
    from PIL import Image
    from safetensors.torch import save_file
    from transformers import AutoImageProcessor, ViTImageProcessor, ViTModel

    os.makedirs(os.path.join(out, "hf-folder"), exist_ok=True)
    photos = [os.path.join(ROOT, "Tests", "Fixtures", "images", "preset", p) for p in PHOTOS]
    tensors = {}

    def run(case, backend, preprocess, model):
        xs, fs = [], []
        for p in photos:
            # As the libraries' users feed them: Pillow's convert("RGB") (none of these processors has do_convert_rgb).
            x = preprocess(Image.open(p).convert("RGB"))
            with torch.no_grad():
                fs.append(model(x)[0])
            xs.append(x[0])
        tensors[f"{case}/{backend}/pixel_values"] = torch.stack(xs).contiguous()
        tensors[f"{case}/{backend}/feature"] = torch.stack(fs).contiguous()

    hf = ViTModel.from_pretrained(os.path.join(VIT, "hf-model")).eval()
    hf_feature = lambda x: hf(pixel_values=x).last_hidden_state[:, 0]  # noqa: E731
    default = ViTImageProcessor(size={"height": hf.config.image_size, "width": hf.config.image_size})
    run("hf-default", "torchvision", lambda im: default(images=[im], return_tensors="pt")["pixel_values"], hf_feature)

    ViTImageProcessor(size={"height": 32, "width": 32}, resample=Image.Resampling.BICUBIC, image_mean=IMAGENET_MEAN,
                      image_std=IMAGENET_STD).save_pretrained(os.path.join(out, "hf-folder"))
    with tempfile.TemporaryDirectory() as tmp:
        for f in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(VIT, "hf-model", f), tmp)
        shutil.copy(os.path.join(out, "hf-folder", "preprocessor_config.json"), tmp)
        for backend in ("torchvision", "pil"):
            proc = AutoImageProcessor.from_pretrained(tmp, backend=backend)
            run("hf-folder", backend, lambda im: proc(images=[im], return_tensors="pt")["pixel_values"], hf_feature)

    with open(os.path.join(VIT, "timm", "config.json")) as f:
        cfg = json.load(f)
    tm = timm.create_model(cfg["architecture"], pretrained=False, num_classes=cfg["num_classes"], **{
        k: v for k, v in cfg["model_args"].items() if k != "num_classes"})
    from safetensors.torch import load_file
    tm.load_state_dict(load_file(os.path.join(VIT, "timm", "model.safetensors")), strict=True)
    tm = tm.float().eval()
    transform = timm.data.create_transform(**timm.data.resolve_data_config(pretrained_cfg=cfg["pretrained_cfg"]))
    run("timm-cfg", "pil", lambda im: transform(im).unsqueeze(0), lambda x: tm.forward_features(x)[:, 0])

    save_file(tensors, os.path.join(out, "expected.safetensors"), metadata={"format": "pt"})
    os.chmod(os.path.join(out, "expected.safetensors"), 0o644)  # the writer creates its file 0600
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"photos": PHOTOS, "timm_transform": repr(transform),
                   "hf_default": repr(default), "cases": sorted({k.rsplit("/", 1)[0] for k in tensors})},
                  f, indent=2, sort_keys=True)
        f.write("\n")
    versions = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
                "timm": timm.__version__, "pillow": PIL.__version__,
                "script": "tools/make_preprocess_wiring_fixtures.py"}
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump(versions, f, indent=2, sort_keys=True)
        f.write("\n")
    print("wrote", out, {k: list(v.shape) for k, v in tensors.items()})


if __name__ == "__main__":
    main()
