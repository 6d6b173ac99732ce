#!/usr/bin/env python3
"""Plant one fault in a safetensors checkpoint with torch, for tests and pictures of `vfw verify` failing.

    python tools/plant_fault.py IN.safetensors OUT.safetensors --transpose layer2.1.conv1.weight
    python tools/plant_fault.py IN.safetensors OUT.safetensors --scale layer3.0.conv1.weight 1.001
    python tools/plant_fault.py IN.safetensors OUT.safetensors --swap layer3.0.bn2.running_mean layer3.0.bn2.running_var

--transpose swaps a weight's first two dimensions (out and in channels: loading [in, out] as [out, in]; the
weight must be square in them); --scale multiplies one tensor; --swap exchanges two tensors of one shape. Every
other tensor and the file's metadata are copied unchanged.
"""
import argparse
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--transpose", metavar="TENSOR")
    ap.add_argument("--scale", nargs=2, metavar=("TENSOR", "FACTOR"))
    ap.add_argument("--swap", nargs=2, metavar=("A", "B"))
    a = ap.parse_args()
    with safe_open(a.input, "pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}

    def need(name):
        if name not in tensors:
            sys.exit(f"{a.input}: no tensor named {name}")
        return tensors[name]

    if a.transpose:
        w = need(a.transpose)
        if w.dim() < 2 or w.shape[0] != w.shape[1]:
            sys.exit(f"{a.input}: {a.transpose} {list(w.shape)} is not square in its first two dimensions")
        tensors[a.transpose] = w.transpose(0, 1).contiguous()
    if a.scale:
        tensors[a.scale[0]] = need(a.scale[0]) * torch.tensor(float(a.scale[1]), dtype=need(a.scale[0]).dtype)
    if a.swap:
        x, y = need(a.swap[0]), need(a.swap[1])
        if x.shape != y.shape:
            sys.exit(f"{a.input}: {a.swap[0]} {list(x.shape)} and {a.swap[1]} {list(y.shape)} differ in shape")
        tensors[a.swap[0]], tensors[a.swap[1]] = y, x
    save_file(tensors, a.output, metadata=metadata)
    print(f"{a.output}: {a.input} with one fault planted")


if __name__ == "__main__":
    main()
