#!/usr/bin/env python3
"""The malicious-checkpoint suite: hostile .pt / .safetensors / .vfw files that vfw must refuse.

    ~/.cache/vfw-venv/bin/python tools/make_malicious.py

Writes Tests/Fixtures/malicious/* (each at most a few KB, but one zip bomb of about 1 MB), cases.json (what
Tests/CLITests/MaliciousTests.swift expects of each file: exit 2, a one-line message containing `refusal`, the
marker file its payload would create, the VFW_LIMITS it runs under) and README.md.

Code-execution payloads only `touch /tmp/vfw-pwned-mal-<name>`. Each is loaded once here with
torch.load(weights_only=False) to prove the payload is live (the marker appears), then the marker is removed;
the Swift test proves vfw refuses the file and the marker never appears. Resource bombs are built from raw
opcodes and zip records, then patched where a field must lie.

The torch fixtures of Tests/Fixtures/torch (malicious_system.pt, malicious_legacy.pt, malicious_fickling.pt,
whole_model.pt, torchscript.pt) are not repeated here: cases.json lists them by relative path so the CLI suite runs
them end to end too.
"""
import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
import zlib

import fickling
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "malicious")
CASES = []
# The limit_tensors.* files hold one tensor more than this and run under VFW_LIMITS=tensors=<this>: the mechanism
# is the same at 1,000,000 (the default), and the files stay small.
LIMIT_TENSORS = 10


def path(name):
    return os.path.join(OUT, name)


def marker(name):
    return f"/tmp/vfw-pwned-mal-{name}"


def case(file, what, refusal, marker=None, env=None, also_loads_without_env=False):
    """One expectation of MaliciousTests: `refusal` is a substring of the one-line message."""
    CASES.append({"file": file, "what": what, "refusal": refusal, "marker": marker, "env": env,
                  "loads_without_env": also_loads_without_env})


# MARK: - pickle opcodes (protocol 2 unless said)

def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def glob(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


PROTO2, PROTO4, STOP, MARK, TUPLE, REDUCE = b"\x80\x02", b"\x80\x04", b".", b"(", b"t", b"R"
EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, SETITEM, NONE = b"}", b"]", b")", b"s", b"N"
TUPLE1, TUPLE2, APPEND, APPENDS, MEMOIZE = b"\x85", b"\x86", b"a", b"e", b"\x94"


def call(callable_ops, *arg_ops):
    return callable_ops + MARK + b"".join(arg_ops) + TUPLE + REDUCE


def binput(i):
    return b"r" + struct.pack("<I", i)


def binget(i):
    return b"j" + struct.pack("<I", i)


def binint(v):
    return b"J" + struct.pack("<i", v)


def long1(v):
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


# MARK: - torch containers

def clean_records():
    """The records of a real torch.save zip of one small state_dict (name -> bytes), data.pkl included."""
    buf = io.BytesIO()
    torch.save(collections.OrderedDict(weight=torch.tensor([1.0, 2.0, 3.0])), buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as z:
        return {n: z.read(n) for n in z.namelist()}


def write_zip(name, records, deflate=()):
    """A torch-style zip of `records` (name -> bytes); names in `deflate` are DEFLATE-compressed (level 9)."""
    with zipfile.ZipFile(path(name), "w") as z:
        for n, data in records.items():
            method = zipfile.ZIP_DEFLATED if n in deflate else zipfile.ZIP_STORED
            z.writestr(zipfile.ZipInfo(n, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=method, compresslevel=9)


def torch_zip(name, pkl, storages=(), deflate=()):
    """`pkl` as archive/data.pkl with storages archive/data/0.., beside torch's other records."""
    recs = {n: d for n, d in clean_records().items() if "/data/" not in n and not n.endswith("data.pkl")}
    root = next(iter(recs)).split("/")[0]
    records = {f"{root}/data.pkl": pkl}
    for i, s in enumerate(storages):
        records[f"{root}/data/{i}"] = s
    records.update(recs)
    write_zip(name, records, deflate={f"{root}/{d}" for d in deflate})
    return root


def patch_central(name, entry, **fields):
    """Overwrites fields of `entry`'s central directory record: compressed, uncompressed, local (header offset)."""
    b = bytearray(open(path(name), "rb").read())
    offsets = {"compressed": 20, "uncompressed": 24, "local": 42}
    at = 0
    while True:
        at = b.index(b"PK\x01\x02", at)
        n_len = struct.unpack_from("<H", b, at + 28)[0]
        if b[at + 46:at + 46 + n_len].decode() == entry:
            break
        at += 4
    for k, v in fields.items():
        struct.pack_into("<I", b, at + offsets[k], v)
    open(path(name), "wb").write(bytes(b))


def prove_live(name, mark):
    """torch.load(weights_only=False) runs the payload (the marker appears); then the marker is removed."""
    if os.path.exists(mark):
        os.remove(mark)
    try:
        torch.load(path(name), map_location="cpu", weights_only=False)
    except Exception:
        pass
    import time
    for _ in range(50):  # subprocess.Popen returns before its child has run
        if os.path.exists(mark):
            break
        time.sleep(0.1)
    assert os.path.exists(mark), f"payload of {name} did not run under torch.load(weights_only=False)"
    os.remove(mark)


# MARK: - code execution

class Reduce:
    """An object whose unpickling calls fn(*args): the classic __reduce__ payload."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def state_dict_with(payload):
    sd = collections.OrderedDict(weight=torch.arange(6, dtype=torch.float32).reshape(2, 3))
    sd["evil"] = payload
    return sd


def make_code_execution():
    import builtins
    import subprocess as sp

    m = marker("popen")
    torch.save(state_dict_with(Reduce(sp.Popen, ["touch", m])), path("popen.pt"))
    prove_live("popen.pt", m)
    case("popen.pt", "state_dict whose extra entry unpickles via subprocess.Popen(['touch', marker])",
         "refused global subprocess.Popen", m)  # pickled as commands.Popen (protocol 2 fix_imports)

    m = marker("eval")
    torch.save(state_dict_with(Reduce(builtins.eval, f"__import__('os').system('touch {m}')")), path("eval.pt"))
    prove_live("eval.pt", m)
    case("eval.pt", "__reduce__ payload builtins.eval(\"__import__('os').system(...)\")", "refused global builtins.eval", m)

    m = marker("exec")
    torch.save(state_dict_with(Reduce(builtins.exec, f"import os; os.system('touch {m}')")), path("exec.pt"))
    prove_live("exec.pt", m)
    case("exec.pt", "__reduce__ payload builtins.exec(\"import os; os.system(...)\")", "refused global builtins.exec", m)

    # getattr(__import__('os'), 'system')('touch ...'): three nested REDUCEs, no os.system global anywhere.
    m = marker("getattr")
    imp = call(glob("builtins", "__import__"), binunicode("os"))
    system = call(glob("builtins", "getattr"), imp, binunicode("system"))
    pkl = PROTO2 + EMPTY_DICT + binunicode("evil") + call(system, binunicode(f"touch {m}")) + SETITEM + STOP
    torch_zip("getattr_chain.pt", pkl)
    prove_live("getattr_chain.pt", m)
    case("getattr_chain.pt", "getattr(__import__('os'), 'system')('touch ...') as nested REDUCEs", "refused global builtins.getattr", m)

    # torch.storage._load_from_bytes calls torch.load on bytes: a pickle inside a pickle, under an allowed-looking name.
    m = marker("nested")
    inner = pickle.dumps(Reduce(os.system, f"touch {m}"), protocol=2)
    pkl = PROTO2 + EMPTY_DICT + binunicode("evil") + glob("torch.storage", "_load_from_bytes") + MARK \
        + b"B" + struct.pack("<I", len(inner)) + inner + TUPLE + REDUCE + SETITEM + STOP
    torch_zip("nested_pickle.pt", pkl)
    prove_live("nested_pickle.pt", m)
    case("nested_pickle.pt", "torch.storage._load_from_bytes(b'<pickle calling os.system>'): a pickle inside a pickle",
         "refused global torch.storage._load_from_bytes", m)

    # The payload hidden in the OrderedDict's BUILD state (_metadata), which a loader might skip as irrelevant.
    m = marker("build_state")
    sd = collections.OrderedDict(weight=torch.ones(2))
    sd._metadata = {"": {"version": 1}, "evil": Reduce(os.system, f"touch {m}")}
    torch.save(sd, path("build_state.pt"))
    prove_live("build_state.pt", m)
    case("build_state.pt", "os.system payload inside the state_dict's _metadata (pickled as BUILD state)",
         "refused global posix.system", m)

    # Legacy stream: the payload is the sys_info pickle, read before any tensor.
    m = marker("legacy_sysinfo")
    stream = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2) \
        + pickle.dumps(Reduce(os.system, f"touch {m}"), protocol=2) + pickle.dumps({}, protocol=2) + pickle.dumps([], protocol=2)
    open(path("legacy_sysinfo.pt"), "wb").write(stream)
    prove_live("legacy_sysinfo.pt", m)
    case("legacy_sysinfo.pt", "legacy stream whose sys_info pickle (read before the weights) calls os.system",
         "refused global posix.system in the legacy sys_info pickle", m)

    # fickling: the payload appended after the real state_dict (run_first=False), and fickling's "combination"
    # injection (a whole pickled object wrapping the original data). malicious_fickling.pt (Tests/Fixtures/torch)
    # has the default insertion.
    from fickling.pytorch import PyTorchModelWrapper
    from fickling.fickle import Pickled
    m = marker("fickling_eval_last")
    recs = clean_records()
    pkl_name = next(n for n in recs if n.endswith("data.pkl"))
    p = Pickled.load(recs[pkl_name])
    p.insert_python_eval(f"__import__('os').system('touch {m}')", run_first=False)
    recs[pkl_name] = p.dumps()
    write_zip("fickling_eval_last.pt", recs)
    prove_live("fickling_eval_last.pt", m)
    case("fickling_eval_last.pt", "fickling Pickled.insert_python_eval(run_first=False): eval after the weights are built",
         "refused global builtins.eval", m)

    m = marker("fickling_combination")
    clean = path("clean.tmp")
    torch.save(collections.OrderedDict(weight=torch.tensor([1.0, 2.0])), clean)
    # "combination" pickles the payload through eval, so it must be an expression.
    PyTorchModelWrapper(clean).inject_payload(f"__import__('os').system('touch {m}')", path("fickling_combination.pt"),
                                              injection="combination")
    os.remove(clean)
    prove_live("fickling_combination.pt", m)
    case("fickling_combination.pt", "fickling PyTorchModelWrapper.inject_payload(injection='combination')",
         "refused global builtins.eval", m)


# MARK: - zip container

def make_zip():
    pkl = clean_records()
    root = torch_zip("zip_outside.pt", next(d for n, d in pkl.items() if n.endswith("data.pkl")),
                     storages=[next(d for n, d in pkl.items() if n.endswith("/data/0"))])
    patch_central("zip_outside.pt", f"{root}/data/0", local=0x7FFF0000)
    case("zip_outside.pt", "central directory sends archive/data/0's local header to byte 2 GiB, far past the file",
         "outside the archive data")

    torch_zip("zip_overlap.pt", next(d for n, d in pkl.items() if n.endswith("data.pkl")),
              storages=[next(d for n, d in pkl.items() if n.endswith("/data/0"))])
    size = len(next(d for n, d in pkl.items() if n.endswith("data.pkl")))
    patch_central("zip_overlap.pt", f"{root}/data.pkl", compressed=size + 200, uncompressed=size + 200)
    case("zip_overlap.pt", "data.pkl's sizes stretched over the next record (overlapping entries, as in overlap zip bombs)",
         "overlap")

    # A DEFLATE data.pkl whose directory claims 4 GiB: refused before anything is inflated or allocated.
    small = PROTO2 + EMPTY_DICT + STOP
    torch_zip("zip_bomb_claim.pt", small, deflate=["data.pkl"])
    patch_central("zip_bomb_claim.pt", f"{root}/data.pkl", uncompressed=0xFFFFFFFE)
    case("zip_bomb_claim.pt", "DEFLATE data.pkl of a few bytes whose directory entry claims 4 GiB",
         "more than DEFLATE can produce")

    # A storage record claiming 3.2 GB (and a pickle declaring the matching 800M floats): past DEFLATE's 1032:1, so
    # refused before the copy budget is even asked (tensor_expand_bomb.pt and limit_copy.pt reach the budget).
    n = 800_000_000
    pkl_ops = storage_state_dict([("w", 0, n, (n,), (1,))])
    torch_zip("zip_bomb_storage.pt", pkl_ops, storages=[bytes(1024)], deflate=["data/0"])
    patch_central("zip_bomb_storage.pt", f"{root}/data/0", uncompressed=4 * n)
    case("zip_bomb_storage.pt", "DEFLATE storage record claiming 3.2 GB (1 KB inside), tensor declared to match",
         "more than DEFLATE can produce")

    # A DEFLATE stream that really expands to 1 GiB, under a directory entry claiming 1 KB: inflating stops at 1 KB + 1.
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    body = comp.compress(PROTO2 + b"\x8e" + struct.pack("<Q", (1 << 30) - 16))
    for _ in range(1024):
        body += comp.compress(chunk)
    body += comp.flush()
    torch_zip("zip_bomb_expand.pt", small, deflate=["data.pkl"])
    splice_deflate("zip_bomb_expand.pt", f"{root}/data.pkl", body, claimed=1024)
    case("zip_bomb_expand.pt", f"DEFLATE data.pkl that expands to 1 GiB ({len(body) // 1024} KB compressed), directory claims 1 KB",
         "inflates to more than the 1024 bytes")

    # Three 16 MiB DEFLATE storages (48 MB to inflate from ~50 KB): loads by default, refused under copy=32Mi.
    m = 4 << 20
    pkl_ops = storage_state_dict([(f"w{i}", i, m, (m,), (1,)) for i in range(3)])
    torch_zip("limit_copy.pt", pkl_ops, storages=[bytes(4 * m)] * 3, deflate=["data/0", "data/1", "data/2"])
    case("limit_copy.pt", "three DEFLATE storages of 16 MiB each, under VFW_LIMITS=copy=32Mi", "copy limit",
         env="copy=32Mi", also_loads_without_env=True)


def splice_deflate(name, entry, body, claimed):
    """Replaces `entry`'s DEFLATE data with `body` (the archive is rewritten: offsets shift), directory claiming `claimed`."""
    with zipfile.ZipFile(path(name)) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with open(path(name), "wb") as f:
        central = b""
        for info, data in items:
            off = f.tell()
            nb = info.filename.encode()
            if info.filename == entry:
                raw, method, crc, usize = body, 8, 0, claimed
            else:
                raw, method, crc, usize = data, 0, zlib.crc32(data), len(data)
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(raw), usize, len(nb), 0) + nb + raw)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(raw), usize,
                                   len(nb), 0, 0, 0, 0, 0, off) + nb
        cd = f.tell()
        f.write(central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(items), len(items), len(central), cd, 0))


def storage_state_dict(tensors, numel=None):
    """data.pkl of an OrderedDict of float32 tensors: (name, storage key, storage numel, size, stride) each."""
    ops = PROTO2 + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE
    for name, key, n, size, stride in tensors:
        ops += binunicode(name) + tensor_ops(key, n, size, stride) + SETITEM
    return ops + STOP


def tensor_ops(key, n, size, stride, offset=0):
    """_rebuild_tensor_v2 of a float32 storage `key` of `n` elements (persistent id as torch writes it)."""
    pid = MARK + binunicode("storage") + glob("torch", "FloatStorage") + binunicode(str(key)) + binunicode("cpu") \
        + long1(n) + TUPLE + b"Q"
    size_ops = MARK + b"".join(long1(s) for s in size) + TUPLE
    stride_ops = MARK + b"".join(long1(s) for s in stride) + TUPLE
    return glob("torch._utils", "_rebuild_tensor_v2") + MARK + pid + binint(offset) + size_ops + stride_ops \
        + b"\x89" + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + TUPLE + REDUCE


# MARK: - pickle resource bombs

def make_pickle_bombs():
    # A list grown by a loop of APPENDS toward a billion elements; refused when it passes maxContainerItems.
    body = bytearray(PROTO2 + EMPTY_LIST)
    group = MARK + NONE * 1000 + APPENDS
    for _ in range(10_001):
        body += group
    body += STOP
    torch_zip("pickle_list_bomb.pt", bytes(body), deflate=["data.pkl"])
    case("pickle_list_bomb.pt", "a list grown by 10,001 APPENDS of 1000 items (DEFLATE, ~30 KB): past maxContainerItems",
         "exceeds the pickle limit maxContainerItems = 10000000")

    # Billion laughs: t0 = (None,), t(k+1) = (tk, tk) thirty times: 2^30 leaves from 60 opcodes, never expanded.
    ops = PROTO2 + EMPTY_DICT + binunicode("laughs") + NONE + TUPLE1
    for _ in range(30):
        ops += b"\x32" + TUPLE2  # DUP, TUPLE2
    ops += SETITEM + STOP
    torch_zip("pickle_billion_laughs.pt", ops)
    case("pickle_billion_laughs.pt", "2^30 Nones through 30 levels of (t, t) tuples sharing their halves: nothing expands it",
         "holds no tensors")

    torch_zip("pickle_mark_depth.pt", PROTO2 + MARK * 100_000 + STOP, deflate=["data.pkl"])
    case("pickle_mark_depth.pt", "100,000 nested MARKs", "exceeds the pickle limit maxStackDepth = 10000")

    # 100,000 nested dicts built top-down through one reused memo slot (the stack stays shallow, every level is
    # the same bytes, so DEFLATE makes it tiny), with a tensor in the innermost dict.
    POP = b"0"
    level = binget(0) + binunicode("a") + EMPTY_DICT + binput(0) + SETITEM + POP
    ops = PROTO2 + EMPTY_DICT + binput(0) + level * 100_000 + binget(0) + binunicode("w") \
        + tensor_ops(0, 1, (1,), (1,)) + SETITEM + POP + STOP
    torch_zip("pickle_deep_dicts.pt", ops, storages=[bytes(4)], deflate=["data.pkl"])
    case("pickle_deep_dicts.pt", "a tensor under 100,000 levels of {'a': ...} (one memo slot reused, no deep stack)",
         "holds no tensors")

    torch_zip("pickle_memo_bomb.pt", PROTO4 + NONE + MEMOIZE * 1_000_001 + STOP, deflate=["data.pkl"])
    case("pickle_memo_bomb.pt", "1,000,001 MEMOIZE opcodes", "exceeds the pickle limit maxMemo = 1000000")

    torch_zip("pickle_string_claim.pt", PROTO4 + b"\x8d" + struct.pack("<Q", 1 << 40) + b"abc" + STOP)
    case("pickle_string_claim.pt", "BINUNICODE8 claiming a 1 TiB string", "exceeds the pickle limit maxStringLength")

    torch_zip("pickle_frame_claim.pt", PROTO4 + b"\x95" + struct.pack("<Q", 1 << 60) + NONE + STOP)
    case("pickle_frame_claim.pt", "FRAME claiming 2^60 bytes", "runs past the end of the pickle")


# MARK: - tensor claims

def make_tensor_claims():
    torch.save({"w": torch.tensor([1.0]).expand(60_000, 60_000)}, path("tensor_expand_bomb.pt"))
    case("tensor_expand_bomb.pt", "a real torch.save of tensor([1.]).expand(60000, 60000): 4 bytes stored, 14.4 GB to copy",
         "copy limit")

    torch_zip("tensor_size_claim.pt", storage_state_dict([("w", 0, 1, (1 << 20, 1 << 20, 1 << 10), (1 << 30, 1 << 10, 1))]),
              storages=[bytes(4)])
    case("tensor_size_claim.pt", "a tensor of size (2^20, 2^20, 2^10) (4 PiB) over a 1-element storage", "past its storage")

    torch_zip("storage_numel_claim.pt", storage_state_dict([("w", 0, 1 << 50, (4,), (1,))]), storages=[bytes(16)])
    case("storage_numel_claim.pt", "a storage declared as 2^50 floats whose record holds 16 bytes", "the pickle says")

    sd = collections.OrderedDict((f"t{i}", torch.tensor([float(i)])) for i in range(LIMIT_TENSORS + 1))
    torch.save(sd, path("limit_tensors.pt"))
    case("limit_tensors.pt", f"{LIMIT_TENSORS + 1} tensors", f"maxTensors = {LIMIT_TENSORS}",
         env=f"tensors={LIMIT_TENSORS}", also_loads_without_env=True)


# MARK: - safetensors

def st(header_obj=None, data=b"", raw_header=None, length=None):
    h = raw_header if raw_header is not None else json.dumps(header_obj, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def make_safetensors():
    open(path("st_header_terabytes.safetensors"), "wb").write(st({}, length=1 << 40))
    case("st_header_terabytes.safetensors", "header length field of 1 TiB", "header length 1099511627776 exceeds")

    big = 1 << 20
    open(path("st_tensor_terabytes.safetensors"), "wb").write(
        st({"w": {"dtype": "F32", "shape": [big, big], "data_offsets": [0, 4 * big ** 2]}}, b"\0" * 8))
    case("st_tensor_terabytes.safetensors", "one F32 tensor of [2^20, 2^20] (4 TiB, offsets to match) in an 8-byte buffer",
         "tensors cover 4398046511104 bytes of the 8-byte data buffer")

    open(path("st_offsets_past_end.safetensors"), "wb").write(
        st({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
            "b": {"dtype": "U8", "shape": [1000000], "data_offsets": [4, 1000004]}}, b"\1" * 8))
    case("st_offsets_past_end.safetensors", "a tensor whose data_offsets end a megabyte past the end of the file",
         "tensors cover")

    deep = b"[" * 10_000 + b"]" * 10_000
    open(path("st_json_deep.safetensors"), "wb").write(st(raw_header=b'{"__metadata__":{"x":' + deep + b"}}"))
    case("st_json_deep.safetensors", "__metadata__ holding 10,000 nested JSON arrays", "invalid safetensors header")

    os.makedirs(path("st_index_traversal"), exist_ok=True)
    with open(path("st_index_traversal/model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 4}, "weight_map": {"w": "../../../../../../etc/passwd"}}, f)
    case("st_index_traversal/model.safetensors.index.json", "a sharded index naming ../../../../../../etc/passwd as a shard",
         "is not a plain file name in the index's folder")

    n = LIMIT_TENSORS + 1
    header = {f"t{i}": {"dtype": "U8", "shape": [1], "data_offsets": [i, i + 1]} for i in range(n)}
    open(path("limit_tensors.safetensors"), "wb").write(st(header, bytes(n)))
    case("limit_tensors.safetensors", f"{n} tensors", f"more than the limit of {LIMIT_TENSORS}",
         env=f"tensors={LIMIT_TENSORS}", also_loads_without_env=True)


# MARK: - .vfw

def vfw(header_obj=None, data=b"", raw_header=None, length=None):
    h = raw_header if raw_header is not None else json.dumps(header_obj, separators=(",", ":")).encode()
    h += b" " * (-(24 + len(h)) % 64)
    pre = b"\x89VFW\r\n\x1a\n" + struct.pack("<HHIQ", 1, 0, 0, len(h) if length is None else length)
    return pre + h + data


def vfw_tensor(name, shape, offset, length, dtype="f32"):
    return {"name": name, "dtype": dtype, "shape": shape, "offset": offset, "length": length, "crc32": "00000000"}


def make_vfw():
    open(path("vfw_header_huge.vfw"), "wb").write(vfw({"metadata": {}, "tensors": []}, length=1 << 62))
    case("vfw_header_huge.vfw", "header length field of 2^62", "exceeds the 100 MB limit")

    n = 1_000_000_000
    open(path("vfw_tensor_huge.vfw"), "wb").write(
        vfw({"metadata": {}, "tensors": [vfw_tensor("w", [n, n // 10], 0, 4 * n * (n // 10))]}, bytes(64)))
    case("vfw_tensor_huge.vfw", "a tensor table entry of [1e9, 1e8] f32 (400 PB) in a 64-byte data section",
         "past the 64-byte data section")

    open(path("vfw_offset_overflow.vfw"), "wb").write(
        vfw({"metadata": {}, "tensors": [vfw_tensor("w", [16], (1 << 63) - 64, 64)]}, bytes(64)))
    case("vfw_offset_overflow.vfw", "a tensor at data offset 2^63 - 64 (offset + length overflows)", "past the")

    deep = b"[" * 10_000 + b"]" * 10_000
    raw = b'{"architecture":{"name":"x","family":"x","config":{"deep":' + deep + b'}},"metadata":{},"tensors":[]}'
    open(path("vfw_json_deep.vfw"), "wb").write(vfw(raw_header=raw))
    case("vfw_json_deep.vfw", "architecture config holding 10,000 nested JSON arrays", "header is not valid")

    n = LIMIT_TENSORS + 1
    tensors = [vfw_tensor(f"t{i}", [1], 64 * i, 1, dtype="u8") for i in range(n)]
    for t in tensors:
        t["crc32"] = "%08x" % zlib.crc32(b"\0")
    open(path("limit_tensors.vfw"), "wb").write(vfw({"metadata": {}, "tensors": tensors}, bytes(64 * (n - 1) + 1)))
    case("limit_tensors.vfw", f"{n} tensors", f"more than the limit of {LIMIT_TENSORS}",
         env=f"tensors={LIMIT_TENSORS}", also_loads_without_env=True)


README = """# Malicious checkpoints

Made by `tools/make_malicious.py` (torch {torch}, fickling {fickling}); regenerate with

    ~/.cache/vfw-venv/bin/python tools/make_malicious.py

`cases.json` says what `Tests/CLITests/MaliciousTests.swift` expects of each: `vfw inspect` and `vfw convert` exit 2
with one line containing `refusal`, under a memory and time limit, and the payload's marker file never appears.
Code-execution payloads only `touch /tmp/vfw-pwned-mal-<name>`; the generator proved each live with
`torch.load(weights_only=False)` (the marker appeared) and removed the marker. Cases with `env` run under that
`VFW_LIMITS` and load with the defaults. The hostile files of `Tests/Fixtures/torch` run in the same suite.

| file | what | refused with |
|---|---|---|
{rows}
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    make_code_execution()
    make_zip()
    make_pickle_bombs()
    make_tensor_claims()
    make_safetensors()
    make_vfw()
    for f in ["malicious_system.pt", "malicious_legacy.pt", "malicious_fickling.pt", "whole_model.pt", "torchscript.pt"]:
        stem = {"malicious_system.pt": "system", "malicious_legacy.pt": "legacy", "malicious_fickling.pt": "fickling"}.get(f)
        refusal = {"whole_model.pt": "save `model.state_dict()`", "torchscript.pt": "is a TorchScript archive"}.get(f, "refused global")
        case("../torch/" + f, "from Tests/Fixtures/torch (tools/make_fixtures.py)", refusal,
             f"/tmp/vfw-pwned-{stem}" if stem else None)
    versions = {"torch": torch.__version__, "fickling": getattr(fickling, "__version__", "?"), "python": sys.version.split()[0]}
    with open(path("cases.json"), "w") as f:
        json.dump({"script": "tools/make_malicious.py", "versions": versions, "cases": CASES}, f, indent=1)
        f.write("\n")
    rows = "\n".join(f"| `{c['file']}` | {c['what']}{' (VFW_LIMITS=' + c['env'] + ')' if c['env'] else ''} | `{c['refusal']}` |"
                     for c in CASES)
    with open(path("README.md"), "w") as f:
        f.write(README.format(rows=rows, **versions))
    for c in CASES:
        p = path(c["file"])
        print(f"{os.path.getsize(p):9d}  {c['file']}")


if __name__ == "__main__":
    main()
