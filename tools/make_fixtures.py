#!/usr/bin/env python3
"""torch.save fixtures for the TorchArchive reader, made by real torch (and fickling for one hostile file).

    ~/.cache/vfw-venv/bin/python tools/make_fixtures.py

Writes Tests/Fixtures/torch/*.pt (a few KB each), Tests/Fixtures/torch/expected.json and README.md.

expected.json holds, for every readable fixture, what torch.load itself returns: tensor names in order, vfw dtype
names, shapes, the exact little-endian bytes (hex; this machine is little-endian) and the values as lists. The Swift
tests compare vfw against these, never against vfw's own output. Names in a nested checkpoint are given after the
unwrapping of README "Finding the weights in a checkpoint": the layout cases take the truth from the wrapped module's own
state_dict() and require tools/vfw_unwrap.py (the same rule in Python, used by make_reference.py) to find exactly that;
every case also records the rule's notes, which vfw must print word for word.

Deterministic: fixed seeds and fixed values. Two files differ in bytes between runs but not in content: the legacy
format keys storages by pointer values (`str(storage._cdata)`), and torch.jit.save embeds code. The hostile files
carry payloads that only `touch /tmp/vfw-pwned-<name>`; this script loads each once with torch.load(weights_only=False)
to prove the payload is live (the marker appears), then removes the marker. The Swift tests prove vfw never runs them.
"""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import fickling
import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "torch")

VFW_DTYPE = {
    torch.float64: "f64", torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
    torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8",
    torch.bool: "bool", torch.uint16: "u16", torch.uint32: "u32", torch.uint64: "u64", torch.complex64: "c64",
    torch.float8_e4m3fn: "f8_e4m3", torch.float8_e5m2: "f8_e5m2", torch.float8_e4m3fnuz: "f8_e4m3fnuz",
    torch.float8_e5m2fnuz: "f8_e5m2fnuz", torch.float8_e8m0fnu: "f8_e8m0",
}

CASES = []  # expected.json "cases"
AMBIGUOUS = []  # expected.json "ambiguous": files the unwrapping rule refuses as ambiguous, with the candidates
FOREIGN = []  # expected.json "foreign": files whose tensors would come from objects vfw does not build
FILES = {}  # file name -> what it is (README)


def path(name):
    return os.path.join(OUT, name)


def json_value(v):
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
    return v


def tensor_record(name, t):
    t = t.detach()
    raw = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
    rec = {"name": name, "dtype": VFW_DTYPE[t.dtype], "shape": list(t.shape), "hex": raw.hex()}
    if t.dtype.is_floating_point:
        vals = t.double().reshape(-1).tolist() if t.dtype == torch.float64 else t.float().reshape(-1).tolist()
        rec["values"] = [json_value(v) for v in vals]
    elif not t.dtype.is_complex:
        rec["values"] = [int(v) for v in t.reshape(-1).tolist()]
    return rec


def expect(case_id, fname, tensors, key=None, container="pytorch-zip"):
    """Records what torch holds: `tensors` is a list of (name, tensor) taken from torch.load's result."""
    CASES.append({"id": case_id, "file": fname, "key": key, "container": container,
                  "tensors": [tensor_record(n, t) for n, t in tensors]})


def load(fname, weights_only=True):
    return torch.load(path(fname), map_location="cpu", weights_only=weights_only)


def same(a, b):
    """Bitwise equality of two state dicts (names, dtypes, shapes, strides' values, bytes)."""
    assert list(a.keys()) == list(b.keys()), (list(a.keys()), list(b.keys()))
    for k in a:
        x, y = a[k], b[k]
        assert x.dtype == y.dtype and x.shape == y.shape, k
        if x.numel():
            assert torch.equal(x.contiguous().reshape(-1).view(torch.uint8), y.contiguous().reshape(-1).view(torch.uint8)), k


def gen():
    return torch.Generator().manual_seed(1234)


def all_dtypes_state_dict():
    g = gen()
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(2, 3, generator=g)
    sd["half"] = torch.tensor([1.0, -0.0, 65504.0, float("inf"), float("-inf"), 6.1e-05, 5.96e-08, 0.333], dtype=torch.float16)
    sd["bf"] = torch.tensor([1.0, -2.5, 3.0e38, float("-inf"), 1e-40, 0.1], dtype=torch.bfloat16)
    sd["double"] = torch.tensor([[1.0 / 3.0, -2.0], [1e300, 5e-324]], dtype=torch.float64)
    sd["long"] = torch.tensor([0, -1, 2**62, -(2**63)], dtype=torch.int64)
    sd["int"] = torch.tensor([2**31 - 1, -(2**31), 7], dtype=torch.int32)
    sd["short"] = torch.tensor([-32768, 32767, 3], dtype=torch.int16)
    sd["char"] = torch.tensor([-128, 127, 0, -5], dtype=torch.int8)
    sd["byte"] = torch.tensor([0, 255, 128, 7], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False, True], dtype=torch.bool)
    sd["bn.num_batches_tracked"] = torch.tensor(42, dtype=torch.int64)  # 0-d
    sd["scalar_f32"] = torch.tensor(-7.25)  # 0-d float
    sd["empty"] = torch.zeros(0, 3)
    sd["empty_long"] = torch.zeros(0, dtype=torch.int64)
    return sd


def make_dtypes():
    sd = all_dtypes_state_dict()
    torch.save(sd, path("dtypes.pt"))
    back = load("dtypes.pt")
    same(sd, back)
    expect("dtypes", "dtypes.pt", back.items())
    FILES["dtypes.pt"] = "zip (default torch.save): f32 f16 bf16 f64 i64 i32 i16 i8 u8 bool, 0-d and empty tensors"


def make_legacy():
    g = gen()
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd = collections.OrderedDict()
    sd["weight"] = torch.randn(3, 4, generator=g)
    sd["half"] = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float16)
    sd["bf"] = torch.tensor([1.5, -3.0], dtype=torch.bfloat16)
    sd["steps"] = torch.tensor(9, dtype=torch.int64)
    sd["mask"] = torch.tensor([False, True])
    sd["bytes"] = torch.tensor([1, 2, 250], dtype=torch.uint8)
    sd["chars"] = torch.tensor([-1, 2], dtype=torch.int8)
    sd["base"] = base
    sd["base_t"] = base.t()            # shares base's storage, transposed
    sd["base_slice"] = base[1:3, 2:5]  # offset + non-contiguous
    sd["empty"] = torch.zeros(0)
    torch.save(sd, path("legacy.pt"), _use_new_zipfile_serialization=False)
    back = load("legacy.pt")
    same(sd, back)
    expect("legacy", "legacy.pt", back.items(), container="pytorch-legacy")
    FILES["legacy.pt"] = "legacy stream (_use_new_zipfile_serialization=False): dtypes, shared storage, views"


def make_shared():
    base = torch.arange(12, dtype=torch.float32) * 0.5
    sd = collections.OrderedDict()
    sd["a"] = base[:6].view(2, 3)
    sd["b"] = base[4:10]                 # storage offset 4
    sd["whole"] = base
    sd["tied.weight"] = sd["a"]          # the same tensor under two names
    sd["tied2.weight"] = sd["a"]
    torch.save(sd, path("shared_storage.pt"))
    back = load("shared_storage.pt")
    same(sd, back)
    assert back["a"].untyped_storage().data_ptr() == back["b"].untyped_storage().data_ptr()
    expect("shared_storage", "shared_storage.pt", back.items())
    FILES["shared_storage.pt"] = "zip: several views of one storage (offsets), tied weights"


def make_noncontiguous():
    g = gen()
    m = torch.randn(3, 4, generator=g)
    x = torch.randn(4, 6, generator=g)
    conv = torch.randn(2, 3, 2, 2, generator=g).to(memory_format=torch.channels_last)
    sd = collections.OrderedDict()
    sd["transposed"] = m.t()
    sd["sliced"] = x[1:, ::2]                                      # offset 6, strides (6, 2)
    sd["channels_last"] = conv                                     # strides (12, 1, 6, 3)
    sd["expanded"] = torch.tensor([1.0, 2.0, 3.0]).expand(2, 3)    # stride 0
    sd["permuted"] = torch.arange(24, dtype=torch.int16).reshape(2, 3, 4).permute(2, 0, 1)
    sd["half_t"] = torch.randn(2, 5, generator=g).half().t()
    sd["column"] = x[:, 3]                                         # 1-d with stride 6
    sd["size1_odd_stride"] = torch.randn(1, 4, generator=g)[:, :]  # contiguous with size-1 dim
    torch.save(sd, path("noncontiguous.pt"))
    back = load("noncontiguous.pt")
    same(sd, back)
    assert not back["transposed"].is_contiguous() and back["expanded"].stride() == (0, 1)
    assert back["sliced"].storage_offset() == 6
    expect("noncontiguous", "noncontiguous.pt", back.items())
    FILES["noncontiguous.pt"] = "zip: transposed, sliced with offset, channels_last, expanded (stride 0), permuted views"


def make_bigendian():
    """A faithful big-endian file. torch writes the `byteorder` record from `sys.byteorder` and the storages in native
    order, so on this little-endian machine we byte-swap every storage in place (UntypedStorage.byteswap(dtype),
    torch's own routine) and let torch.save run with sys.byteorder patched to 'big'. The archive is written by torch's
    own zip writer, so its layout is torch's. torch.load then sees byteorder 'big' != 'little', swaps back, and must
    give the original values bit for bit."""
    g = gen()
    orig = collections.OrderedDict()
    orig["w"] = torch.randn(2, 3, generator=g)
    orig["half"] = torch.tensor([1.0, -2.0, 0.1, 65504.0], dtype=torch.float16)
    orig["bf"] = torch.tensor([1.0, -2.0, 0.1], dtype=torch.bfloat16)
    orig["double"] = torch.tensor([3.141592653589793, -1e-300], dtype=torch.float64)
    orig["long"] = torch.tensor([1, -2, 2**40 + 3], dtype=torch.int64)
    orig["int"] = torch.tensor([1, -2, 70000], dtype=torch.int32)
    orig["short"] = torch.tensor([1, -2, 300], dtype=torch.int16)
    orig["char"] = torch.tensor([1, -2], dtype=torch.int8)
    orig["byte"] = torch.tensor([1, 254], dtype=torch.uint8)
    orig["mask"] = torch.tensor([True, False])
    orig["count"] = torch.tensor(5, dtype=torch.int64)
    orig["complex"] = torch.tensor([1 + 2j, -3.5 + 0.25j], dtype=torch.complex64)
    base = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    orig["t"] = base.t()  # non-contiguous view of a swapped storage
    swapped = collections.OrderedDict()
    done = {}
    for k, v in orig.items():
        if k == "t":
            continue
        c = v.clone()
        c.untyped_storage().byteswap(c.dtype)
        swapped[k] = c
    bswapped = base.clone()
    bswapped.untyped_storage().byteswap(bswapped.dtype)
    swapped["t"] = bswapped.t()
    saved = sys.byteorder
    try:
        sys.byteorder = "big"
        torch.save(swapped, path("bigendian.pt"))
    finally:
        sys.byteorder = saved
    with zipfile.ZipFile(path("bigendian.pt")) as z:
        bo = [n for n in z.namelist() if n.endswith("/byteorder")]
        assert z.read(bo[0]) == b"big", "byteorder record must say big"
    back = load("bigendian.pt")
    same(orig, back)
    expect("bigendian", "bigendian.pt", back.items())
    FILES["bigendian.pt"] = "zip with byteorder 'big' and big-endian storages (torch.load swaps them back)"


def make_deflate():
    src = path("dtypes.pt")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path("deflate.pt"), "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, zin.read(item.filename), compress_type=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path("deflate.pt")) as z:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
    back = load("deflate.pt")
    same(load("dtypes.pt"), back)
    expect("deflate", "deflate.pt", back.items())
    FILES["deflate.pt"] = "dtypes.pt re-zipped by Python zipfile with DEFLATE (torch.load still reads it)"
    with zipfile.ZipFile(path("shared_storage.pt")) as zin, \
            zipfile.ZipFile(path("deflate_shared.pt"), "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, zin.read(item.filename), compress_type=zipfile.ZIP_DEFLATED)
    back = load("deflate_shared.pt")
    same(load("shared_storage.pt"), back)
    expect("deflate_shared", "deflate_shared.pt", back.items())
    FILES["deflate_shared.pt"] = "shared_storage.pt re-zipped with DEFLATE: views of one inflated storage"


def make_zip64_extras():
    """torch's archive rewritten the way miniz writes records >= 4 GiB: local headers with zero CRC/sizes, FB padding to
    64 bytes and data descriptors; central-directory sizes and offsets all 0xFFFFFFFF with the real values in a ZIP64
    extra (0x0001); ZIP64 end record + locator, and a classic end record full of 0xFFFF. torch.load must read it."""
    with zipfile.ZipFile(path("shared_storage.pt")) as z:
        records = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    import zlib
    out = io.BytesIO()
    central = []
    for name, data in records:
        nb = name.encode()
        offset = out.tell()
        start = offset + 30 + len(nb) + 4
        pad = (64 - start % 64) % 64
        extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0x0808, 0, 0, 0, 0, 0, 0, len(nb), len(extra)))
        out.write(nb + extra)
        assert out.tell() % 64 == 0
        out.write(data)
        crc = zlib.crc32(data)
        out.write(struct.pack("<IIQQ", 0x08074B50, crc, len(data), len(data)))
        central.append((nb, crc, len(data), offset))
    cd_start = out.tell()
    for nb, crc, size, offset in central:
        z64 = struct.pack("<HHQQQ", 0x0001, 24, size, size, offset)
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0x0808, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                              len(nb), len(z64), 0, 0, 0, 0, 0xFFFFFFFF))
        out.write(nb + z64)
    cd_size = out.tell() - cd_start
    z64_eocd = out.tell()
    n = len(central)
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_start))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, z64_eocd, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    with open(path("zip64_extras.pt"), "wb") as f:
        f.write(out.getvalue())
    back = load("zip64_extras.pt")
    same(load("shared_storage.pt"), back)
    expect("zip64_extras", "zip64_extras.pt", back.items())
    FILES["zip64_extras.pt"] = "shared_storage.pt rewritten with ZIP64 extra fields for every size/offset (torch.load reads it)"


def make_checkpoints():
    g = gen()
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    dp = nn.DataParallel(model)  # the real `module.` prefix
    sd = dp.state_dict()
    assert all(k.startswith("module.") for k in sd)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(4, 3, generator=g)).sum().backward()
    opt.step()
    ckpt = {"state_dict": sd, "optimizer": opt.state_dict(), "epoch": 3}
    torch.save(ckpt, path("checkpoint_module_prefix.pt"))
    back = load("checkpoint_module_prefix.pt")
    expect("checkpoint_module_prefix", "checkpoint_module_prefix.pt",
           [(k[len("module."):], v) for k, v in back["state_dict"].items()])
    FILES["checkpoint_module_prefix.pt"] = "{'state_dict': DataParallel state_dict ('module.'), 'optimizer': Adam state, 'epoch': 3}"

    a = collections.OrderedDict(w=torch.tensor([1.0, 2.0]), b=torch.tensor([3.0]))
    ema = collections.OrderedDict(w=torch.tensor([1.5, 2.5]), b=torch.tensor([3.5]))
    extra = collections.OrderedDict(w=torch.tensor([9.0, 8.0]), b=torch.tensor([7.0]))
    torch.save({"model": a, "model_ema": ema, "extra": {"ema": extra}, "epoch": 5}, path("checkpoint_keys.pt"))
    back = load("checkpoint_keys.pt")
    AMBIGUOUS.append({"file": "checkpoint_keys.pt", "key": None, "candidates": ["model", "model_ema", "extra.ema"]})
    expect("checkpoint_keys#model", "checkpoint_keys.pt", back["model"].items(), key="model")
    expect("checkpoint_keys#model_ema", "checkpoint_keys.pt", back["model_ema"].items(), key="model_ema")
    expect("checkpoint_keys#extra.ema", "checkpoint_keys.pt", back["extra"]["ema"].items(), key="extra.ema")
    FILES["checkpoint_keys.pt"] = "{'model', 'model_ema', 'extra': {'ema'}, 'epoch'}: ambiguous without --key; --key paths"

    torch.save({"model_ema": ema, "epoch": 1}, path("checkpoint_ema_only.pt"))
    back = load("checkpoint_ema_only.pt")
    expect("checkpoint_ema_only", "checkpoint_ema_only.pt", back["model_ema"].items())
    FILES["checkpoint_ema_only.pt"] = "{'model_ema': ..., 'epoch': 1}: EMA weights used when nothing else is there"

    torch.save({"encoder": a, "decoder": ema}, path("ambiguous.pt"))
    AMBIGUOUS.append({"file": "ambiguous.pt", "key": None, "candidates": ["encoder", "decoder"]})
    FILES["ambiguous.pt"] = "{'encoder': sd, 'decoder': sd}: ambiguous without --key"
    torch.save({"optimizer": opt.state_dict(), "epoch": 3}, path("no_tensors.pt"))
    FILES["no_tensors.pt"] = "{'optimizer': ..., 'epoch': 3}: no state_dict"
    torch.save(torch.tensor([1.0, 2.0]), path("bare_tensor.pt"))
    FILES["bare_tensor.pt"] = "torch.save(tensor): not a state_dict"

    compiled = torch.compile(nn.Linear(2, 2))  # state_dict keys get torch.compile's `_orig_mod.` prefix
    sd = compiled.state_dict()
    assert all(k.startswith("_orig_mod.") for k in sd), list(sd)
    torch.save(sd, path("orig_mod_prefix.pt"))
    back = load("orig_mod_prefix.pt")
    expect("orig_mod_prefix", "orig_mod_prefix.pt", [(k[len("_orig_mod."):], v) for k, v in back.items()])
    FILES["orig_mod_prefix.pt"] = "state_dict of torch.compile(model): every key has '_orig_mod.'"


def make_protocols():
    g = gen()
    sd = collections.OrderedDict()
    sd["layer.weight"] = torch.randn(2, 2, generator=g)
    sd["layer.bias"] = torch.randn(2, generator=g).half()
    sd["layer.steps"] = torch.tensor(3)
    sd["layer.t"] = torch.randn(3, 2, generator=g).t()
    for proto in (4, 5):
        fname = f"protocol{proto}.pt"
        torch.save(sd, path(fname), pickle_protocol=proto)
        with zipfile.ZipFile(path(fname)) as z:
            pkl = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
            assert pkl[:2] == bytes([0x80, proto])
        back = load(fname, weights_only=False)  # torch's weights_only unpickler has no FRAME opcode; we made this file
        same(sd, back)
        expect(f"protocol{proto}", fname, back.items())
        FILES[fname] = f"zip with pickle_protocol={proto} (FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE)"


def make_parameters():
    g = gen()
    model = nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(torch.randn(2, 3, generator=g))
        model.bias.copy_(torch.randn(2, generator=g))
    sd = model.state_dict(keep_vars=True)  # nn.Parameter values: _rebuild_parameter
    assert isinstance(sd["weight"], nn.Parameter)
    t = torch.tensor([4.0, 5.0])
    t.note = "python attribute"  # a tensor with __dict__ goes through torch._tensor._rebuild_from_type_v2
    sd["tagged"] = t
    torch.save(sd, path("parameters.pt"))
    with zipfile.ZipFile(path("parameters.pt")) as z:
        pkl = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
        assert b"_rebuild_parameter" in pkl and b"_rebuild_from_type_v2" in pkl
    back = load("parameters.pt")
    expect("parameters", "parameters.pt", back.items())
    FILES["parameters.pt"] = "state_dict(keep_vars=True) (nn.Parameter) and a tensor with a Python attribute"


def make_v3_dtypes():
    sd = collections.OrderedDict()
    sd["f8_e4m3"] = torch.tensor([1.0, -2.0, 0.5, 448.0, 0.001953125], dtype=torch.float32).to(torch.float8_e4m3fn)
    sd["f8_e5m2"] = torch.tensor([1.0, -2.0, 57344.0, 1.5e-5], dtype=torch.float32).to(torch.float8_e5m2)
    sd["u16"] = torch.tensor([0, 65535, 300], dtype=torch.uint16)
    sd["u32"] = torch.tensor([0, 2**32 - 1, 70000], dtype=torch.uint32)
    sd["u64"] = torch.tensor([0, 2**63 + 5, 1], dtype=torch.uint64)
    sd["u16_t"] = torch.arange(6, dtype=torch.int32).to(torch.uint16).reshape(2, 3).t()
    torch.save(sd, path("v3_dtypes.pt"))
    with zipfile.ZipFile(path("v3_dtypes.pt")) as z:
        pkl = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
        assert b"_rebuild_tensor_v3" in pkl and b"UntypedStorage" in pkl
    back = load("v3_dtypes.pt")
    same(sd, back)
    rec = []
    for k, v in back.items():
        rec.append((k, v))
    CASES.append({"id": "v3_dtypes", "file": "v3_dtypes.pt", "key": None, "container": "pytorch-zip",
                  "tensors": [v3_record(n, t) for n, t in rec]})
    FILES["v3_dtypes.pt"] = "_rebuild_tensor_v3 over UntypedStorage: float8_e4m3fn, float8_e5m2, uint16/32/64"


def v3_record(name, t):
    raw = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    rec = {"name": name, "dtype": VFW_DTYPE[t.dtype], "shape": list(t.shape), "hex": raw.hex()}
    if t.dtype in (torch.float8_e4m3fn, torch.float8_e5m2):
        rec["values"] = [json_value(v) for v in t.float().reshape(-1).tolist()]
    elif t.dtype == torch.uint64:
        rec["values"] = [int.from_bytes(raw[i:i + 8], "little") for i in range(0, len(raw), 8)]
    else:
        rec["values"] = [int(v) for v in t.to(torch.int64).reshape(-1).tolist()]
    return rec


def make_complex_and_unsupported():
    c = collections.OrderedDict(z=torch.tensor([1 + 2j, -0.5 - 4j, 3j], dtype=torch.complex64))
    torch.save(c, path("complex64.pt"))
    back = load("complex64.pt")
    expect("complex64", "complex64.pt", back.items())
    FILES["complex64.pt"] = "complex64 (vfw c64)"

    torch.save(collections.OrderedDict(ok=torch.ones(2), x=torch.tensor([1 + 1j], dtype=torch.complex128)),
               path("complex128.pt"))
    FILES["complex128.pt"] = "a complex128 tensor: unsupported dtype"

    z = torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64).conj()
    assert z.is_conj()
    torch.save(collections.OrderedDict(zc=z), path("conj.pt"))
    with zipfile.ZipFile(path("conj.pt")) as zf:
        pkl = zf.read([n for n in zf.namelist() if n.endswith("data.pkl")][0])
        assert b"conj" in pkl
    FILES["conj.pt"] = "a complex tensor with the conjugate bit set: refused"

    q = torch.quantize_per_tensor(torch.tensor([0.5, 1.0, -1.0]), scale=0.1, zero_point=3, dtype=torch.qint8)
    torch.save(collections.OrderedDict(q=q, ok=torch.ones(1)), path("quantized.pt"))
    FILES["quantized.pt"] = "a quantized tensor (_rebuild_qtensor): refused"


class Net(nn.Module):  # pickled as __main__.Net
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)


class Evil:
    """A pickle payload: unpickling calls os.system (pickled as posix.system on Linux)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))


def prove_live(fname, marker):
    """Loads the hostile file with torch (weights_only=False) to show its payload runs there, then cleans up."""
    if os.path.exists(marker):
        os.remove(marker)
    try:
        torch.load(path(fname), map_location="cpu", weights_only=False)
    except Exception:
        pass
    assert os.path.exists(marker), f"payload of {fname} did not run under torch.load(weights_only=False)"
    os.remove(marker)
    try:  # and torch's own safe loader refuses it
        torch.load(path(fname), map_location="cpu", weights_only=True)
        raise AssertionError(f"weights_only=True loaded {fname}")
    except Exception as e:  # noqa: PERF203
        assert "weights_only" in str(e) or "Unsupported" in str(e) or "global" in str(e).lower(), e
    assert not os.path.exists(marker)


REFUSALS = []  # expected.json "refusals": the first non-allowlisted global of each hostile pickle, found by pickletools
SAFE_MODULES = ("torch", "collections", "_codecs")


def first_foreign_global(ops):
    """(module.name, byte) of the first GLOBAL / STACK_GLOBAL outside torch / collections, as pickletools sees it."""
    strings = []
    for op, arg, pos in ops:
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        if op.name in ("GLOBAL", "INST"):
            module, name = arg.split(" ", 1)
        elif op.name == "STACK_GLOBAL":
            module, name = strings[-2], strings[-1]
        else:
            continue
        module = {"__builtin__": "builtins"}.get(module, module)
        if not module.startswith(SAFE_MODULES) or module.startswith("torch.nn.modules"):
            return f"{module}.{name}", pos
    return None


def record_refusal(fname, kind):
    import pickletools
    if kind == "legacy":
        with open(path(fname), "rb") as f:
            for stream in ("magic", "protocol", "sys_info", "the legacy object pickle"):
                found = first_foreign_global(list(pickletools.genops(f)))  # positions are file offsets
            name, pos = found
    else:
        with zipfile.ZipFile(path(fname)) as z:
            pkl = z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])
        stream = "data.pkl"
        name, pos = first_foreign_global(list(pickletools.genops(pkl)))
    REFUSALS.append({"file": fname, "stream": stream, "global": name, "offset": pos})


def make_refused():
    torch.manual_seed(0)
    torch.save(Net(), path("whole_model.pt"))
    FILES["whole_model.pt"] = "torch.save(model) of a class defined in the script (__main__.Net)"
    record_refusal("whole_model.pt", "zip")
    torch.save(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), path("whole_model_sequential.pt"))
    FILES["whole_model_sequential.pt"] = "torch.save(nn.Sequential(...)): torch.nn.modules classes"
    record_refusal("whole_model_sequential.pt", "zip")

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x)

    torch.jit.save(torch.jit.script(Tiny()), path("torchscript.pt"))
    FILES["torchscript.pt"] = "torch.jit.save(torch.jit.script(model))"

    w = torch.tensor([1.0, 2.0])
    torch.save({"weight": w, "evil": Evil("/tmp/vfw-pwned-system")}, path("malicious_system.pt"))
    prove_live("malicious_system.pt", "/tmp/vfw-pwned-system")
    record_refusal("malicious_system.pt", "zip")
    FILES["malicious_system.pt"] = "data.pkl calls os.system('touch /tmp/vfw-pwned-system') (a __reduce__ payload)"

    torch.save({"weight": w, "evil": Evil("/tmp/vfw-pwned-legacy")}, path("malicious_legacy.pt"),
               _use_new_zipfile_serialization=False)
    prove_live("malicious_legacy.pt", "/tmp/vfw-pwned-legacy")
    record_refusal("malicious_legacy.pt", "legacy")
    FILES["malicious_legacy.pt"] = "legacy stream whose object pickle calls os.system('touch /tmp/vfw-pwned-legacy')"

    # fickling: inject a payload into a real, clean torch checkpoint.
    from fickling.pytorch import PyTorchModelWrapper
    clean = path("fickling_clean.tmp")
    torch.save(collections.OrderedDict(weight=torch.tensor([1.0, 2.0, 3.0])), clean)
    wrapper = PyTorchModelWrapper(clean)
    wrapper.inject_payload("import os; os.system('touch /tmp/vfw-pwned-fickling')", path("malicious_fickling.pt"),
                           injection="insertion", overwrite=False)
    os.remove(clean)
    from fickling.analysis import Severity, check_safety
    injected = PyTorchModelWrapper(path("malicious_fickling.pt")).pickled
    assert check_safety(injected).severity != Severity.LIKELY_SAFE  # fickling itself flags what it injected
    prove_live("malicious_fickling.pt", "/tmp/vfw-pwned-fickling")
    record_refusal("malicious_fickling.pt", "zip")
    FILES["malicious_fickling.pt"] = "fickling PyTorchModelWrapper.inject_payload(insertion) of os.system('touch /tmp/vfw-pwned-fickling')"



# MARK: - Checkpoint layouts from the wild (issue 15): the shared unwrapping rule

sys.path.insert(0, HERE)
import vfw_unwrap  # noqa: E402  (tools/vfw_unwrap.py: the rule make_reference.py uses, vfw's twin)

LAYOUT_NOTES = {}  # case id -> the rule's notes (expected.json "cases"[i]["notes"])


class TinyNet(nn.Module):
    """A ResNet-shaped miniature (conv1, bn1, fc): the layouts below wrap it as training code does."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.bn1(self.conv1(x))).mean((2, 3)))


class Wrapper(nn.Module):
    """Training code's own module holding the network under an attribute (`net`, `backbone`, `model` ...)."""

    def __init__(self, attr, inner):
        super().__init__()
        setattr(self, attr, inner)

    def forward(self, x):
        return next(self.children())(x)


class Mode(__import__("enum").Enum):  # pickled as __main__.Mode, as a training script's enum is
    TRAIN = "train"
    EVAL = "eval"


@__import__("dataclasses").dataclass
class TrainConfig:  # __main__.TrainConfig: a config dataclass kept in the checkpoint
    lr: float = 0.1
    epochs: int = 90
    mode: Mode = Mode.TRAIN


def tiny(seed):
    torch.manual_seed(seed)
    net = TinyNet()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, b in net.named_buffers():
            if b.dtype.is_floating_point:
                b.add_(torch.rand(b.shape, generator=g))
    return net


def trained(net, steps=2, momentum=0.9):
    """A few real SGD steps (so the optimizer holds momentum tensors) and back to eval."""
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=momentum)
    sched = torch.optim.lr_scheduler.StepLR(opt, 30)
    g = torch.Generator().manual_seed(7)
    net.train()
    for _ in range(steps):
        opt.zero_grad()
        net(torch.randn(2, 3, 6, 6, generator=g)).sum().backward()
        opt.step()
        sched.step()
    net.eval()
    return opt, sched


def imagenet_args():
    """The argparse.Namespace torchvision's references/classification/train.py keeps in `args` (a subset of its
    fields, with their types: strings, ints, floats, bools, None, lists)."""
    import argparse
    return argparse.Namespace(data_path="/datasets01/imagenet_full_size/061417/", model="resnet18", device="cuda",
                              batch_size=32, epochs=90, workers=16, opt="sgd", lr=0.1, momentum=0.9,
                              weight_decay=1e-4, label_smoothing=0.0, lr_scheduler="steplr", lr_step_size=30,
                              lr_gamma=0.1, print_freq=10, output_dir=".", resume="", start_epoch=0,
                              sync_bn=False, test_only=False, auto_augment=None, model_ema=False,
                              model_ema_steps=32, model_ema_decay=0.99998, amp=False, world_size=1,
                              dist_url="env://", val_resize_size=256, train_crop_size=224, distributed=False)


class ExponentialMovingAverage(torch.optim.swa_utils.AveragedModel):
    """torchvision references/classification/utils.py's EMA, as written there (an AveragedModel with use_buffers)."""

    def __init__(self, model, decay, device="cpu"):
        def ema_avg(avg_model_param, model_param, num_averaged):
            return decay * avg_model_param + (1 - decay) * model_param
        super().__init__(model, device, ema_avg, use_buffers=True)


def layout_case(case_id, fname, truth, key=None, container="pytorch-zip", what=""):
    """Loads `fname` by the rule (tools/vfw_unwrap.py) and requires exactly `truth` (name -> tensor, taken from the
    real module's own state_dict()); records it and the rule's notes for the Swift tests."""
    got, notes = vfw_unwrap.load_weights(path(fname), key)
    assert list(got) == list(truth), (case_id, list(got), list(truth))
    for k in truth:
        assert torch.equal(got[k], truth[k]), (case_id, k)
    expect(case_id, fname, list(truth.items()), key=key, container=container)
    LAYOUT_NOTES[case_id] = notes
    if what:
        FILES[fname] = what


def layout_refused(kind, fname, key=None, candidates=None, entry=None, class_name=None, what=""):
    try:
        vfw_unwrap.load_weights(path(fname), key)
    except vfw_unwrap.RuleError as e:
        msg = str(e)
    else:
        raise AssertionError(f"{fname}: the rule loaded it")
    if kind == "ambiguous":
        assert msg == f"several entries hold tensors: {', '.join(candidates)}; pass --key to choose one", msg
        AMBIGUOUS.append({"file": fname, "key": key, "candidates": candidates})
    else:
        assert class_name in msg, msg
        FOREIGN.append({"file": fname, "key": key, "entry": entry, "class": class_name, "whole_model": kind == "whole"})
    if what:
        FILES[fname] = what


def make_layouts():
    import argparse
    import datetime
    import pathlib
    import numpy
    # 1. pytorch/examples imagenet/main.py save_checkpoint: DataParallel weights, best_acc1 a 1-element tensor beside.
    net = tiny(1)
    dp = nn.DataParallel(net)
    opt, sched = trained(dp)
    ck = {"epoch": 4, "arch": "resnet18", "state_dict": dp.state_dict(), "best_acc1": torch.tensor([37.5]),
          "optimizer": opt.state_dict(), "scheduler": sched.state_dict()}
    torch.save(ck, path("layout_imagenet_example.pth"))
    layout_case("layout_imagenet_example", "layout_imagenet_example.pth", net.state_dict(),
                what="pytorch/examples ImageNet checkpoint: {epoch, arch, state_dict (DataParallel 'module.'), best_acc1: tensor, optimizer, scheduler}")
    torch.save(ck, path("layout_imagenet_legacy.pth"), _use_new_zipfile_serialization=False)
    layout_case("layout_imagenet_legacy", "layout_imagenet_legacy.pth", net.state_dict(), container="pytorch-legacy",
                what="the same in the legacy format (torch <= 1.5)")

    # 2. torchvision references/classification/train.py: args is an argparse.Namespace; model_ema an AveragedModel.
    net = tiny(2)
    opt, sched = trained(net)
    ck = {"model": net.state_dict(), "optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict(), "epoch": 7,
          "args": imagenet_args()}
    torch.save(ck, path("layout_torchvision_train.pth"))
    layout_case("layout_torchvision_train", "layout_torchvision_train.pth", net.state_dict(),
                what="torchvision references/classification/train.py: {model, optimizer, lr_scheduler, epoch, args: argparse.Namespace}")
    torch.save(ck, path("layout_torchvision_train_p4.pth"), pickle_protocol=4)
    layout_case("layout_torchvision_train_p4", "layout_torchvision_train_p4.pth", net.state_dict(),
                what="the same saved with pickle_protocol=4 (STACK_GLOBAL, MEMOIZE, FRAME)")
    ema = ExponentialMovingAverage(net, decay=0.9)
    ema.update_parameters(net)
    ema.update_parameters(net)
    args = imagenet_args()
    args.model_ema = True
    ck = {"model": net.state_dict(), "optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict(), "epoch": 7,
          "args": args, "model_ema": ema.state_dict()}
    torch.save(ck, path("layout_torchvision_train_ema.pth"))
    layout_refused("ambiguous", "layout_torchvision_train_ema.pth", candidates=["model", "model_ema"],
                   what="train.py --model-ema: model and model_ema (AveragedModel: n_averaged, 'module.') both full: --key")
    layout_case("layout_torchvision_train_ema#model_ema", "layout_torchvision_train_ema.pth", ema.module.state_dict(), key="model_ema")
    layout_case("layout_torchvision_train_ema#model", "layout_torchvision_train_ema.pth", net.state_dict(), key="model")

    # 3. PyTorch Lightning: a real Trainer.fit and save_checkpoint; hyper_parameters hold a path, an enum, a dataclass.
    import lightning as L

    class Classifier(L.LightningModule):
        def __init__(self, lr=0.1, data_dir=pathlib.Path("/data/imagenet"), mode=Mode.TRAIN, config=TrainConfig(),
                     with_ema=False):
            super().__init__()
            self.save_hyperparameters()
            self.model = tiny(3)
            if with_ema:
                self.model_ema = torch.optim.swa_utils.AveragedModel(
                    self.model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))

        def forward(self, x):
            return self.model(x)

        def training_step(self, batch, _):
            x, y = batch
            loss = nn.functional.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss

        def on_train_batch_end(self, *_):
            if self.hparams.with_ema:
                self.model_ema.update_parameters(self.model)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)
            return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1)}

    import logging
    import tempfile
    import warnings
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    g = torch.Generator().manual_seed(3)
    data = torch.utils.data.TensorDataset(torch.randn(4, 3, 6, 6, generator=g), torch.tensor([0, 1, 2, 0]))
    for name, with_ema in (("layout_lightning.ckpt", False), ("layout_lightning_ema.ckpt", True)):
        module = Classifier(with_ema=with_ema)
        with tempfile.TemporaryDirectory() as d:
            trainer = L.Trainer(max_steps=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
                                accelerator="cpu", default_root_dir=d, deterministic=True,
                                callbacks=[L.pytorch.callbacks.ModelCheckpoint(dirpath=d, save_last=True),
                                           L.pytorch.callbacks.EarlyStopping(monitor="train_loss")])
            trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=2))
            trainer.save_checkpoint(path(name))
        module.eval()
        if not with_ema:
            layout_case("layout_lightning", name, module.model.state_dict(),
                        what=f"PyTorch Lightning {L.__version__} Trainer.save_checkpoint: state_dict ('model.'), hyper_parameters "
                             "(pathlib path, enum, dataclass), optimizer_states, lr_schedulers, callbacks, loops")
        else:
            layout_refused("ambiguous", name, candidates=["state_dict.model", "state_dict.model_ema"],
                           what="Lightning module holding model and model_ema (an AveragedModel): two copies in one state_dict")
            layout_case("layout_lightning_ema#state_dict.model_ema", name, module.model_ema.module.state_dict(),
                        key="state_dict.model_ema")
            layout_case("layout_lightning_ema#state_dict.model", name, module.model.state_dict(), key="state_dict.model")

    # 4. timm train.py CheckpointSaver: state_dict and state_dict_ema (ModelEmaV3) both full; args and a numpy metric.
    import timm.utils
    net = tiny(4)
    opt, _ = trained(net)
    model_ema = timm.utils.ModelEmaV3(net, decay=0.9)
    model_ema.update(net)
    ck = {"epoch": 11, "arch": "resnet18", "state_dict": timm.utils.get_state_dict(net, timm.utils.unwrap_model),
          "optimizer": opt.state_dict(), "version": 2, "args": imagenet_args(),
          "state_dict_ema": timm.utils.get_state_dict(model_ema, timm.utils.unwrap_model), "metric": numpy.float64(61.25)}
    torch.save(ck, path("layout_timm_train.pth"))
    layout_refused("ambiguous", "layout_timm_train.pth", candidates=["state_dict", "state_dict_ema"],
                   what="timm train.py checkpoint: state_dict and state_dict_ema (ModelEmaV3), args, numpy metric: --key")
    layout_case("layout_timm_train#state_dict_ema", "layout_timm_train.pth", model_ema.module.state_dict(), key="state_dict_ema")

    # 5. EMA weights alone, under the names EMA code uses.
    net = tiny(5)
    torch.save({"ema": net.state_dict(), "step": 1000, "decay": 0.9999}, path("layout_ema_only.pth"))
    layout_case("layout_ema_only", "layout_ema_only.pth", net.state_dict(), what="{'ema': state_dict, 'step', 'decay'}: the only weights")

    # 6. Prefixes alone and combined: a Lightning-style `model.` around torch.compile's `_orig_mod.` around
    # DataParallel's `module.`; the PyTorch tutorial's general checkpoint around a `net.` attribute; `backbone.`.
    net = tiny(6)
    wrapped = Wrapper("model", torch.compile(nn.DataParallel(net)))
    sd = wrapped.state_dict()
    assert all(k.startswith("model._orig_mod.module.") for k in sd), list(sd)
    torch.save(sd, path("layout_prefixes_combined.pth"))
    layout_case("layout_prefixes_combined", "layout_prefixes_combined.pth", net.state_dict(),
                what="state_dict of Wrapper(model=torch.compile(DataParallel(net))): 'model._orig_mod.module.'")
    net = tiny(7)
    holder = Wrapper("net", net)
    opt, _ = trained(holder)
    torch.save({"epoch": 5, "model_state_dict": holder.state_dict(), "optimizer_state_dict": opt.state_dict(),
                "loss": torch.tensor(0.4375)}, path("layout_tutorial_net.pth"))
    layout_case("layout_tutorial_net", "layout_tutorial_net.pth", net.state_dict(),
                what="PyTorch tutorial general checkpoint {epoch, model_state_dict ('net.'), optimizer_state_dict, loss: tensor}")
    net = tiny(8)
    torch.save({"backbone_weights": Wrapper("backbone", net).state_dict(), "meta": {"source": "ssl", "epoch": 100}},
               path("layout_backbone.pth"))
    layout_case("layout_backbone", "layout_backbone.pth", net.state_dict(),
                what="{'backbone_weights': 'backbone.' state_dict, 'meta': {...}}")

    # 7. Objects vfw does not build, in entries it does not use: inert placeholders, skipped with notes.
    net = tiny(9)
    from collections import defaultdict
    ck = {"state_dict": net.state_dict(), "config": TrainConfig(), "args": argparse.Namespace(lr=0.1, out=pathlib.Path("/runs/1")),
          "data_dir": pathlib.PosixPath("/data/imagenet"), "mode": Mode.EVAL, "best": numpy.float32(0.75),
          "confusion": numpy.arange(6).reshape(2, 3), "history": defaultdict(list, {"loss": [1.0, 0.5]}),
          "saved_at": datetime.datetime(2026, 1, 2, 3, 4, 5), "counts": collections.Counter(a=2), "ids": {1, 2},
          "ns": __import__("types").SimpleNamespace(a=1)}
    torch.save(ck, path("layout_objects.pth"))
    layout_case("layout_objects", "layout_objects.pth", net.state_dict(),
                what="state_dict beside a dataclass, argparse.Namespace, pathlib path, enum, numpy scalar and array, "
                     "defaultdict, datetime, Counter, set, SimpleNamespace: all placeholders, skipped with notes")

    # 8. Tensors that would come from objects vfw does not build: refused, saying so.
    net = tiny(10)
    torch.save({"weights": argparse.Namespace(**{k.replace(".", "_"): v for k, v in net.state_dict().items()}), "epoch": 1},
               path("layout_tensors_in_namespace.pth"))
    layout_refused("foreign", "layout_tensors_in_namespace.pth", entry="weights", class_name="argparse.Namespace",
                   what="the only tensors are attributes of an argparse.Namespace: refused, naming it")
    torch.save({"model": tiny(11), "epoch": 1}, path("layout_whole_model_nested.pth"))
    layout_refused("whole", "layout_whole_model_nested.pth", entry="model", class_name="__main__.TinyNet",
                   what="{'model': torch.save'd nn.Module, 'epoch'}: a whole pickled model, refused as such")
    torch.save({"state_dict": net.state_dict(), "args": argparse.Namespace(lr=0.1)}, path("layout_key_into_object.pth"))
    layout_refused("foreign", "layout_key_into_object.pth", key="args.lr", entry="args", class_name="argparse.Namespace",
                   what="--key args.lr walks into an argparse.Namespace: refused")

README = """# torch.save fixtures

Made by `tools/make_fixtures.py` with real torch; regenerate with

    ~/.cache/vfw-venv/bin/python tools/make_fixtures.py

(the venv is made by `tools/venv.sh` from the pinned `tools/requirements.txt`). Versions used for the committed files:

{versions}

`expected.json` holds what `torch.load` returns for every readable fixture: tensor names in file order (after the
unwrapping vfw is specified to do: `state_dict` chosen, `module.` / `_orig_mod.` stripped), vfw dtype names, shapes,
the exact little-endian bytes as hex, and the values. The Swift tests (Tests/TorchArchiveTests) compare vfw with it.

The hostile fixtures only `touch /tmp/vfw-pwned-<name>`. The generator loads each once with
`torch.load(weights_only=False)` to prove the payload is live, then deletes the marker; the Swift tests prove that
vfw refuses them and that the marker does not appear.

Regenerating changes the bytes of `legacy.pt` / `malicious_legacy.pt` (storage keys are pointer values) and of
`torchscript.pt`, never their content.

| file | what |
|---|---|
{files}
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)  # the modules below draw their initial weights from the global generator
    for f in os.listdir(OUT):
        if f.endswith((".pt", ".pth", ".ckpt")):
            os.remove(os.path.join(OUT, f))
    make_dtypes()
    make_legacy()
    make_shared()
    make_noncontiguous()
    make_bigendian()
    make_deflate()
    make_zip64_extras()
    make_checkpoints()
    make_protocols()
    make_parameters()
    make_v3_dtypes()
    make_complex_and_unsupported()
    make_refused()
    make_layouts()
    import lightning
    import timm
    versions = {"torch": torch.__version__, "fickling": getattr(fickling, "__version__", "0.1.12"),
                "numpy": np.__version__, "python": sys.version.split()[0], "lightning": lightning.__version__,
                "timm": timm.__version__}
    # Every readable fixture through the rule (tools/vfw_unwrap.py): it must name the tensors torch holds, and its
    # notes are what vfw must say too. Every refused one: the rule must refuse it the same way.
    for c in CASES:
        got, notes = vfw_unwrap.load_weights(path(c["file"]), c["key"])
        assert list(got) == [t["name"] for t in c["tensors"]], (c["id"], list(got))
        c["notes"] = notes
    for a in AMBIGUOUS:
        try:
            vfw_unwrap.load_weights(path(a["file"]), a["key"])
            raise AssertionError(a)
        except vfw_unwrap.RuleError as e:
            assert str(e).startswith("several entries hold tensors: " + ", ".join(a["candidates"]) + ";"), (a, str(e))
    with open(path("expected.json"), "w") as f:
        json.dump({"versions": versions, "script": "tools/make_fixtures.py", "cases": CASES,
                   "refusals": REFUSALS, "ambiguous": AMBIGUOUS, "foreign": FOREIGN}, f, indent=1)
        f.write("\n")
    with open(path("README.md"), "w") as f:
        f.write(README.format(
            versions="\n".join(f"- {k} {v}" for k, v in versions.items()),
            files="\n".join(f"| `{k}` | {v} |" for k, v in sorted(FILES.items()))))
    for f in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(os.path.join(OUT, f)):8d}  {f}")


if __name__ == "__main__":
    main()
