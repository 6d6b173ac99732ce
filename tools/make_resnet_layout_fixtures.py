#!/usr/bin/env python3
"""Hugging Face transformers ResNet layouts beside torchvision's names for the same network: what vfw's
recognition must map (Tests/ModelsTests/ResNetLayoutTests.swift).

    ~/.cache/vfw-venv/bin/python tools/make_resnet_layout_fixtures.py [-o Tests/Fixtures/resnet/hf-layouts.json]

For each case: the state_dict keys and shapes real transformers writes (save_pretrained of ResNetModel or
ResNetForImageClassification), the config.json it writes beside them, and — for configs torchvision's ResNet
computes — the state_dict keys and shapes of torchvision's ResNet with the same blocks and classes (the
canonical names). Cases transformers can build but torchvision cannot compute carry `refused` (the config key
whose value vfw must refuse) instead. Names and shapes only: no tensor data. Same versions → same file.
"""
import argparse
import json
import os
import tempfile


def hf_case(cls, **config):
    from safetensors import safe_open
    from transformers import ResNetConfig
    with tempfile.TemporaryDirectory() as d:
        cls(ResNetConfig(**config)).save_pretrained(d)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
            keys = [[k, list(f.get_slice(k).get_shape())] for k in f.keys()]
    cfg.pop("transformers_version", None)
    return keys, cfg


def torchvision_keys(block, layers, classes):
    import torch
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
    m = ResNet(BasicBlock if block == "basic" else Bottleneck, layers, num_classes=max(classes, 1))
    sd = m.state_dict()
    return [[k, list(v.shape)] for k, v in sd.items()
            if not k.endswith("num_batches_tracked") and (classes > 0 or not k.startswith("fc."))]


def main():
    import torch
    import torchvision
    import transformers
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default="Tests/Fixtures/resnet/hf-layouts.json")
    a = ap.parse_args()
    from transformers import ResNetForImageClassification, ResNetModel
    bottleneck = dict(layer_type="bottleneck", depths=[1, 2, 1, 1], hidden_sizes=[256, 512, 1024, 2048])
    basic = dict(layer_type="basic", depths=[2, 1, 1, 1], hidden_sizes=[64, 128, 256, 512])
    cases = []
    for name, cls, cfg, classes in [
        ("ResNetForImageClassification bottleneck", ResNetForImageClassification, dict(bottleneck, num_labels=3), 3),
        ("ResNetModel bottleneck", ResNetModel, bottleneck, 0),
        ("ResNetForImageClassification basic", ResNetForImageClassification, dict(basic, num_labels=2), 2),
        ("ResNetModel basic", ResNetModel, basic, 0),
    ]:
        keys, config = hf_case(cls, **cfg)
        cases.append({"name": name, "keys": keys, "config": config, "num_classes": classes,
                      "block": cfg["layer_type"], "layers": cfg["depths"],
                      "torchvision_keys": torchvision_keys(cfg["layer_type"], cfg["depths"], classes)})
    for name, cfg, refused in [
        ("downsample_in_bottleneck (ResNet v1 strides)", dict(bottleneck, downsample_in_bottleneck=True), "downsample_in_bottleneck"),
        ("downsample_in_first_stage", dict(bottleneck, downsample_in_first_stage=True), "downsample_in_first_stage"),
        ("hidden_act gelu", dict(basic, hidden_act="gelu"), "hidden_act"),
    ]:
        keys, config = hf_case(ResNetModel, **cfg)
        cases.append({"name": name, "keys": keys, "config": config, "refused": refused})
    os.makedirs(os.path.dirname(a.output), exist_ok=True)
    out = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                        "transformers": transformers.__version__},
           "cases": cases}
    with open(a.output, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {a.output}: {len(cases)} cases")


if __name__ == "__main__":
    main()
