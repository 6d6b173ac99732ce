#!/usr/bin/env python3
"""Key/shape lists of real torchvision, timm and transformers ConvNeXts (V1, V2), for the Swift recognition tests.

    ~/.cache/vfw-venv/bin/python tools/make_convnext_fixtures.py   # writes Tests/Fixtures/convnext/layouts.json

Each case: the library's state_dict keys and shapes (state_dict order) and the model name and config
tools/reference_families/convnext.py infers (the Python twin of ConvNeXtLayout.swift). Only names and shapes are kept.
"""
import json
import os
import sys

import timm
import torch
import torchvision
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_families import convnext  # noqa: E402

SMALL = dict(depths=[2, 2, 2, 2], hidden_sizes=[32, 64, 128, 256])
CASES = [
    ("torchvision convnext_tiny", lambda: torchvision.models.convnext_tiny(num_classes=10)),
    ("timm convnext_atto (conv mlp)", lambda: timm.create_model("convnext_atto", num_classes=10)),
    ("timm convnext_tiny (linear mlp)", lambda: timm.create_model("convnext_tiny", num_classes=0)),
    ("timm convnextv2_atto", lambda: timm.create_model("convnextv2_atto", num_classes=5)),
    ("transformers ConvNextModel", lambda: transformers.ConvNextModel(transformers.ConvNextConfig())),
    ("transformers ConvNextForImageClassification", lambda: transformers.ConvNextForImageClassification(transformers.ConvNextConfig(num_labels=3, **SMALL))),
    ("transformers ConvNextV2Model", lambda: transformers.ConvNextV2Model(transformers.ConvNextV2Config(**SMALL))),
    ("transformers ConvNextV2ForImageClassification", lambda: transformers.ConvNextV2ForImageClassification(transformers.ConvNextV2Config(num_labels=4, **SMALL))),
]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "convnext", "layouts.json")


def main():
    cases = []
    for label, make in CASES:
        sd = make().state_dict()
        name, config = convnext.infer(sd, None, label, None)
        cases.append({"label": label, "name": name, "config": config, "keys": [[k, list(v.shape)] for k, v in sd.items()]})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    doc = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "timm": timm.__version__,
                        "transformers": transformers.__version__},
           "generator": "tools/make_convnext_fixtures.py", "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
