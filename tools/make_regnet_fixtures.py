#!/usr/bin/env python3
"""Key/shape lists of real torchvision and timm RegNets, for the Swift recognition tests.

    ~/.cache/vfw-venv/bin/python tools/make_regnet_fixtures.py   # writes Tests/Fixtures/regnet/layouts.json

Each case: the library's state_dict keys and shapes (in state_dict order, num_batches_tracked included) and the
model name and config tools/reference_families/regnet.py infers (the Python twin of RegNetLayout.swift). Only names and
shapes are kept (no weights).
"""
import json
import os
import sys

import timm
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_families import regnet  # noqa: E402

CASES = [("torchvision", "regnet_y_400mf", 10), ("torchvision", "regnet_x_400mf", 1000), ("torchvision", "regnet_x_8gf", 5),
         ("timm", "regnety_002", 10), ("timm", "regnetx_002", 1000), ("timm", "regnetx_004", 3),
         ("timm", "regnety_040", 0)]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "regnet", "layouts.json")


def main():
    cases = []
    for library, name, classes in CASES:
        if library == "torchvision":
            model = getattr(torchvision.models, name)(weights=None, num_classes=classes)
        else:
            model = timm.create_model(name, pretrained=False, num_classes=classes)
        sd = model.state_dict()
        inferred, config = regnet.infer(sd, None, name, None)
        cases.append({"library": library, "model": name, "num_classes": classes, "name": inferred, "config": config,
                      "keys": [[k, list(v.shape)] for k, v in sd.items()]})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    doc = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "timm": timm.__version__},
           "generator": "tools/make_regnet_fixtures.py", "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
