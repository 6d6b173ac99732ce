#!/usr/bin/env python3
"""Key/shape lists of real torchvision and timm EfficientNets, for the Swift recognition tests.

    ~/.cache/vfw-venv/bin/python tools/make_efficientnet_fixtures.py   # writes Tests/Fixtures/efficientnet/layouts.json

Each case: the library's state_dict keys and shapes (state_dict order) and the model name and config
tools/reference_families/efficientnet.py infers (the Python twin of EfficientNetLayout.swift), with the batch-norm eps
the library's model really has. Only names and shapes are kept.
"""
import json
import os
import sys

import timm
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_families import efficientnet  # noqa: E402

CASES = [
    ("torchvision efficientnet_b0", lambda: torchvision.models.efficientnet_b0(num_classes=10)),
    ("torchvision efficientnet_b5 (eps 1e-3)", lambda: torchvision.models.efficientnet_b5(num_classes=4)),
    ("timm efficientnet_b0", lambda: timm.create_model("efficientnet_b0", num_classes=10)),
    ("timm efficientnet_b2 (no classifier)", lambda: timm.create_model("efficientnet_b2", num_classes=0)),
    ("timm efficientnet_b5 (eps 1e-5)", lambda: timm.create_model("efficientnet_b5", num_classes=7)),
]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "efficientnet", "layouts.json")


def main():
    cases = []
    for label, make in CASES:
        model = make()
        sd = model.state_dict()
        name, config = efficientnet.infer(sd, None, label, None)
        eps = next(m.eps for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
        assert config["eps"] == eps, (label, config["eps"], eps)
        cases.append({"label": label, "name": name, "config": config, "keys": [[k, list(v.shape)] for k, v in sd.items()]})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    doc = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "timm": timm.__version__},
           "generator": "tools/make_efficientnet_fixtures.py", "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
