#!/usr/bin/env python3
"""Seed inputs for the fuzz targets, cut from the committed fixtures (Python standard library only).

    python3 Fuzz/seed.py OUTDIR      # writes OUTDIR/<target>/<sha1>

`bash Fuzz/run.sh --reseed` merges these into Fuzz/corpus/<target> (libFuzzer -merge=1 keeps only inputs that add
coverage). Run it after adding fixtures; the committed corpora already hold what it gave.
"""
import glob
import hashlib
import io
import os
import pickletools
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures")


def put(out, target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def pickles_in(data):
    """Each pickle of a stream of pickles (the legacy format is five in a row, then raw storages)."""
    out, pos = [], 0
    while pos < len(data):
        try:
            end = None
            for op, arg, at in pickletools.genops(io.BytesIO(data[pos:])):
                if op.name == "STOP":
                    end = pos + at + 1
                    break
        except Exception:
            break
        if end is None:
            break
        out.append(data[pos:end])
        pos = end
        if len(out) == 5:
            break
    return out


def safetensors(header, data=b""):
    h = header.encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def main(out):
    torch_files = sorted(glob.glob(os.path.join(FIX, "torch", "*.pt"))) + sorted(glob.glob(os.path.join(FIX, "malicious", "*.pt")))
    for p in torch_files:
        data = read(p)
        if data[:4] == b"PK\x03\x04":
            if len(data) < 64 * 1024:
                put(out, "zip", data)
            try:
                z = zipfile.ZipFile(p)
                for n in z.namelist():
                    if n.endswith("data.pkl") and z.getinfo(n).file_size < 64 * 1024:
                        put(out, "pickle", z.read(n))
            except Exception:
                pass
        elif data[:1] == b"\x80" and len(data) < 64 * 1024:
            put(out, "legacy", data)
            for pk in pickles_in(data)[1:4]:
                put(out, "pickle", pk)
    put(out, "vfw", read(os.path.join(FIX, "vfw", "golden.vfw")))
    for p in glob.glob(os.path.join(FIX, "malicious", "*.vfw")):
        put(out, "vfw", read(p))
    for p in [os.path.join(FIX, "safetensors", "all_dtypes.safetensors")] + sorted(glob.glob(os.path.join(FIX, "safetensors", "sharded", "*.safetensors"))) \
            + sorted(glob.glob(os.path.join(FIX, "malicious", "*.safetensors"))):
        put(out, "safetensors", read(p))
    put(out, "safetensors", safetensors("{}"))
    put(out, "safetensors", safetensors('{"__metadata__":{"format":"pt"},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},'
                                        '"e":{"dtype":"BF16","shape":[0,3],"data_offsets":[4,4]}}', b"\x00\x00\x80\x3f"))
    put(out, "sharded", read(os.path.join(FIX, "safetensors", "sharded", "model.safetensors.index.json")))
    put(out, "sharded", b'{"metadata":{"total_size":0},"weight_map":{}}')
    for ext, target in (("png", "png"), ("jpg", "jpeg")):
        for p in sorted(glob.glob(os.path.join(FIX, "images", "*", "*." + ext))):
            data = read(p)
            if len(data) <= 16 * 1024:
                put(out, target, data)


if __name__ == "__main__":
    main(sys.argv[1])
