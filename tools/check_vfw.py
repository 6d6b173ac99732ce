#!/usr/bin/env python3
"""An independent reader of the .vfw format (Schemas/vfw.md), written from the spec alone.

    python tools/check_vfw.py FILE.vfw [--against FILE.safetensors|FILE.pth] [--quiet]

Checks the preamble, the header JSON against Schemas/vfw-header.schema.json, alignment, bounds,
overlap and every CRC-32 (Python's zlib). With --against, loads the other file with the real
safetensors / torch libraries and requires every tensor to be bit-identical (by source_name when
the .vfw renamed tensors). Exit 0 when all holds, 1 otherwise. CI runs it on files vfw wrote.
"""
import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np

MAGIC = b"\x89VFW\r\n\x1a\n"
NP = {"f64": "<f8", "f32": "<f4", "f16": "<f2", "i64": "<i8", "i32": "<i4", "i16": "<i2", "i8": "i1",
      "u64": "<u8", "u32": "<u4", "u16": "<u2", "u8": "u1", "bool": "u1", "bf16": "<u2"}
SIZE = {"f64": 8, "f32": 4, "f16": 2, "bf16": 2, "i64": 8, "i32": 4, "i16": 2, "i8": 1, "u64": 8, "u32": 4, "u16": 2,
        "u8": 1, "bool": 1, "c64": 8, "f8_e4m3": 1, "f8_e5m2": 1, "f8_e8m0": 1, "f8_e4m3fnuz": 1, "f8_e5m2fnuz": 1}


def read_vfw(path):
    data = open(path, "rb").read()
    assert data[:8] == MAGIC, "bad magic"
    major, minor, flags, n = struct.unpack_from("<HHIQ", data, 8)
    assert major == 1 and flags == 0, f"version {major}.{minor} flags {flags}"
    start = 24 + n
    assert start % 64 == 0, "data section not 64-byte aligned"
    header = json.loads(data[24:start].decode("utf-8"))
    schema_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Schemas", "vfw-header.schema.json")
    if os.path.exists(schema_path):
        import jsonschema
        jsonschema.validate(header, json.load(open(schema_path)))
    tensors = {}
    spans = []
    for t in header["tensors"]:
        assert t["name"] not in tensors, f"duplicate {t['name']}"
        count = int(np.prod(t["shape"])) if t["shape"] else 1
        assert count * SIZE[t["dtype"]] == t["length"], f"{t['name']}: length"
        assert t["offset"] % 64 == 0, f"{t['name']}: misaligned"
        b = data[start + t["offset"]: start + t["offset"] + t["length"]]
        assert len(b) == t["length"], f"{t['name']}: out of bounds"
        assert f"{zlib.crc32(b):08x}" == t["crc32"], f"{t['name']}: crc32"
        if t["length"]:
            spans.append((t["offset"], t["offset"] + t["length"], t["name"]))
        tensors[t["name"]] = (t, b)
    spans.sort()
    for a, b in zip(spans, spans[1:]):
        assert a[1] <= b[0], f"{a[2]} overlaps {b[2]}"
    return header, tensors


def load_other(path):
    """name -> (dtype string in vfw spelling, shape, raw little-endian bytes), by the real libraries."""
    import torch
    names = {torch.float64: "f64", torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.int64: "i64",
             torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8", torch.bool: "bool",
             torch.uint16: "u16", torch.uint32: "u32", torch.uint64: "u64", torch.float8_e4m3fn: "f8_e4m3",
             torch.float8_e5m2: "f8_e5m2"}
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        sd = load_file(path)
    else:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    out = {}
    for k, v in sd.items():
        v = v.contiguous()
        raw = v.reshape(-1).view(torch.uint8).numpy().tobytes() if v.numel() else b""
        out[k] = (names[v.dtype], list(v.shape), raw)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--against")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    header, tensors = read_vfw(a.file)
    if a.against:
        other = load_other(a.against)
        used = set()
        for name, (t, b) in tensors.items():
            src = t.get("source_name") or name
            assert src in other, f"{name}: source tensor {src} not in {a.against}"
            dt, shape, raw = other[src]
            assert (dt, shape) == (t["dtype"], t["shape"]), f"{name}: {t['dtype']} {t['shape']} vs {dt} {shape}"
            assert raw == b, f"{name}: bytes differ from {src} in {a.against}"
            used.add(src)
        missing = set(other) - used
        if missing and not a.quiet:
            print(f"note: {len(missing)} source tensors not in the .vfw: {sorted(missing)[:5]}")
    if not a.quiet:
        print(f"{a.file}: OK, {len(tensors)} tensors" + (f", bit-identical to {a.against}" if a.against else ""))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"{sys.argv[1]}: FAIL: {e}")
        sys.exit(1)
