#!/usr/bin/env python3
"""Load two weight files with the real libraries and require the same tensors, bit for bit.

    python tools/compare_tensors.py A B

Each of A and B may be .safetensors (safetensors.torch.load_file) or a torch.save file
(torch.load(weights_only=True)). Exit 0 when names, dtypes, shapes and bytes all match.
"""
import sys

import torch


def load(path):
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def raw(t):
    t = t.contiguous().reshape(-1)
    return t.view(torch.uint8) if t.numel() else torch.zeros(0, dtype=torch.uint8)


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    assert set(a) == set(b), f"names differ: {sorted(set(a) ^ set(b))[:10]}"
    for k in a:
        assert a[k].dtype == b[k].dtype, f"{k}: dtype {a[k].dtype} vs {b[k].dtype}"
        assert a[k].shape == b[k].shape, f"{k}: shape {list(a[k].shape)} vs {list(b[k].shape)}"
        assert torch.equal(raw(a[k]), raw(b[k])), f"{k}: bytes differ"
    print(f"{sys.argv[1]}: {len(a)} tensors identical to {sys.argv[2]}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}")
        sys.exit(1)
