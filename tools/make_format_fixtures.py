#!/usr/bin/env python3
"""Fixtures for the dtype conversions and the safetensors reader, made by the real libraries.

    ~/.cache/vfw-venv/bin/python tools/make_format_fixtures.py

Writes Tests/Fixtures/dtypes/ and Tests/Fixtures/safetensors/ (deterministic; a few KB each) and
records the library versions in each folder's versions.json. The Swift tests compare vfw with these
files: what torch computes and what the safetensors library writes is the judge.
"""
import json
import os
import struct

import numpy as np
import safetensors
import torch
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")
VERSIONS = {"torch": torch.__version__, "safetensors": safetensors.__version__, "numpy": np.__version__,
            "script": "tools/make_format_fixtures.py"}


def conversion_fixture():
    """f32 inputs chosen to hit every rounding case, and torch's f16 / bf16 results."""
    out = os.path.join(ROOT, "dtypes")
    os.makedirs(out, exist_ok=True)
    vals = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.0, -1.0, 65504.0, 65519.99, 65520.0, -65520.0,
            6.103515625e-05, 5.960464477539063e-08, 2.980232238769531e-08, 2.9802326e-08, 1e-10, 3.4028235e38,
            1.17549435e-38, 1e-45, -1e-45]
    # Midpoints between consecutive f16 values and their f32 neighbours (ties to even, off-by-one-ulp).
    h = torch.arange(0, 0x7C00, 37, dtype=torch.int32).to(torch.int16).view(torch.float16).float()
    mids = ((h[:-1].double() + h[1:].double()) / 2).float()
    # Midpoints between consecutive bf16 values.
    b = torch.arange(0, 0x7F80, 41, dtype=torch.int32).to(torch.int16).view(torch.bfloat16).float()
    bmids = ((b[:-1].double() + b[1:].double()) / 2).float()
    rnd = torch.Generator().manual_seed(7)
    randoms = torch.randn(512, generator=rnd) * torch.pow(10.0, torch.randint(-6, 6, (512,), generator=rnd).float())
    x = torch.cat([torch.tensor(vals), mids, torch.nextafter(mids, torch.full_like(mids, float("inf"))),
                   torch.nextafter(mids, torch.zeros_like(mids)), bmids,
                   torch.nextafter(bmids, torch.full_like(bmids, float("inf"))), randoms]).float()
    x = torch.cat([x, -x])
    save_file({"f32": x, "to_f16": x.to(torch.float16), "to_bf16": x.to(torch.bfloat16),
               "f64": x.double() * 1.0000001, "f64_to_f32": (x.double() * 1.0000001).float()},
              os.path.join(out, "torch_conversions.safetensors"), metadata={"made_by": "torch " + torch.__version__})
    json.dump(VERSIONS, open(os.path.join(out, "versions.json"), "w"), indent=1)


def safetensors_fixtures():
    out = os.path.join(ROOT, "safetensors")
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 3, generator=g)
    tensors = {
        "f32": f,
        "f16": torch.randn(3, 2, generator=g).half(),
        "bf16": torch.randn(4, generator=g).bfloat16(),
        "f64": torch.randn(2, 2, generator=g).double(),
        "i64": torch.tensor([-(2**40), 1, 2**40], dtype=torch.int64),
        "i32": torch.tensor([[-7, 8]], dtype=torch.int32),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 7], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "u16": torch.tensor([65535, 1], dtype=torch.uint16),
        "u32": torch.tensor([4294967295, 2], dtype=torch.uint32),
        "u64": torch.tensor([3, 4], dtype=torch.uint64),
        "f8_e4m3": torch.tensor([0.5, -448.0, 0.013671875]).to(torch.float8_e4m3fn),
        "f8_e5m2": torch.tensor([0.5, -57344.0, 1.52587890625e-05]).to(torch.float8_e5m2),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
        "nested.name.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
    }
    save_file(tensors, os.path.join(out, "all_dtypes.safetensors"), metadata={"format": "pt", "note": "made by safetensors"})
    expected = {}
    for k, v in tensors.items():
        expected[k] = {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                       "values": [float(z) for z in v.float().flatten().tolist()] if v.dtype != torch.uint64 else [int(z) for z in v.flatten().tolist()]}
    json.dump(expected, open(os.path.join(out, "all_dtypes.expected.json"), "w"), indent=1, sort_keys=True)

    # A sharded checkpoint as huggingface_hub writes it: model-0000i-of-0000n.safetensors + index.
    shard_dir = os.path.join(out, "sharded")
    os.makedirs(shard_dir, exist_ok=True)
    a = {"layer.0.weight": torch.arange(4, dtype=torch.float32), "layer.0.bias": torch.tensor([1.0])}
    b = {"layer.1.weight": torch.arange(3, dtype=torch.float32) * 2}
    save_file(a, os.path.join(shard_dir, "model-00001-of-00002.safetensors"), metadata={"format": "pt"})
    save_file(b, os.path.join(shard_dir, "model-00002-of-00002.safetensors"), metadata={"format": "pt"})
    wm = {k: "model-00001-of-00002.safetensors" for k in a} | {k: "model-00002-of-00002.safetensors" for k in b}
    total = sum(t.numel() * t.element_size() for t in list(a.values()) + list(b.values()))
    json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(wm.items()))},
              open(os.path.join(shard_dir, "model.safetensors.index.json"), "w"), indent=2)
    json.dump(VERSIONS, open(os.path.join(out, "versions.json"), "w"), indent=1)


if __name__ == "__main__":
    conversion_fixture()
    safetensors_fixtures()
    print("wrote", ROOT)
