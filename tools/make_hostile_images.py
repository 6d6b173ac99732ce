#!/usr/bin/env python3
"""Hostile images: files whose headers claim far more pixels than their data holds, and what Pillow makes of them.

    ~/.cache/vfw-venv/bin/python tools/make_hostile_images.py

Writes Tests/Fixtures/images/hostile/ (deterministic, a few hundred bytes in all):

    jpeg_13000x13000_14_byte_scan.jpg   the 144-byte fuzz finding of Tests/Fixtures/fuzz/jpeg without its stray TEM
                                        marker (which is all that made Pillow refuse that one): a progressive SOF
                                        claiming 13000x13000 gray, then a 14-byte scan and EOI. Pillow decodes it
                                        into 169 megapixels libjpeg invents ("premature end of data segment" is a
                                        warning); vfw refuses it (Sources/CImageShims/jpeg_decode.c, check_scan_data)
    jpeg_component_never_coded.jpg      a real progressive grayscale JPEG by Pillow whose frame header is rewritten
                                        to announce three components: no scan codes components 2 and 3. Pillow
                                        decodes it (flat chroma); vfw refuses it
    jpeg_baseline_scan_cut_short.jpg    a real 4:2:0 baseline JPEG by Pillow, 1024x768, whose single scan keeps its
                                        first 200 bytes before EOI: Pillow decodes it (grey below the cut); vfw
                                        refuses it, as the scan holds fewer bits than blocks
    png_idat_short_4096x4096.png        a real 4096x4096 RGB PNG by Pillow whose IDAT keeps 1,000 bytes: Pillow
                                        refuses it (truncated); vfw refuses it before allocating the 48 MB raster
    edge_*.jpg, edge_*.png              legitimate files at the edge of those rules (a solid progressive JPEG coding
                                        its DC scans in one bit per block; a solid 1-bit PNG inflating ~1023:1):
                                        vfw must decode them exactly as Pillow
    cases.json                          per hostile file: what Pillow 13 does with it, and the refusal vfw must
                                        give; per edge file: SHA-256 of Pillow's convert("RGB") bytes

Tests/ImagingTests/HostileInputTests.swift checks vfw's refusals; Tests/CLITests/MaliciousTests.swift runs
`vfw embed` on each (and on Tests/Fixtures/fuzz/{png,jpeg}) under a 1 GiB address-space limit.
"""

import hashlib
import io
import json
import struct
import sys
import warnings
import zlib
from pathlib import Path

import PIL
import numpy as np
from PIL import Image, features

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/images/hostile"


def segments(jpeg: bytes):
    """Splits a JPEG into (marker, bytes) pieces; a scan's piece includes its entropy-coded data."""
    assert jpeg[:2] == b"\xff\xd8"
    out = [(0xD8, jpeg[:2])]
    pos = 2
    while pos < len(jpeg):
        assert jpeg[pos] == 0xFF, pos
        m = jpeg[pos + 1]
        if m == 0xD9:
            out.append((m, jpeg[pos:pos + 2]))
            break
        length = struct.unpack(">H", jpeg[pos + 2:pos + 4])[0]
        end = pos + 2 + length
        if m == 0xDA:
            while not (jpeg[end] == 0xFF and jpeg[end + 1] not in (0x00, *range(0xD0, 0xD8))):
                end += 1
        out.append((m, jpeg[pos:end]))
        pos = end
    return out


def sos_components(piece: bytes):
    n = piece[4]
    return [piece[5 + 2 * i] for i in range(n)]


def pillow_verdict(path: Path) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(path)
            im.load()
            return f"decodes it: {im.size[0]}x{im.size[1]} {im.mode}"
    except Exception as e:  # the verdict is the record, whatever Pillow raises
        return f"{type(e).__name__}: {e}".replace(str(path), path.name)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cases = {}

    fuzz = (ROOT / "Tests/Fixtures/fuzz/jpeg/sof2-13000x13000-144-bytes.jpg").read_bytes()
    assert fuzz[2:6] == b"\xff\x01\x00\x00"
    name = "jpeg_13000x13000_14_byte_scan.jpg"
    (OUT / name).write_bytes(fuzz[:2] + fuzz[6:])
    cases[name] = "with a scan of 14 bytes for 2640625 8x8 blocks"

    # A real progressive grayscale JPEG whose SOF is rewritten to announce three components (ids 1, 2, 3,
    # 1x1 sampling, quantisation table 0): every scan still codes component 1 only.
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (48, 64), dtype=np.uint8)).save(buf, "JPEG", quality=75, progressive=True)
    pieces = segments(buf.getvalue())
    out = b""
    for m, p in pieces:
        if m == 0xC2:
            assert p[9] == 1 and p[10] == 1
            body = p[4:9] + bytes([3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
            p = b"\xff\xc2" + struct.pack(">H", len(body) + 2) + body
        out += p
    name = "jpeg_component_never_coded.jpg"
    (OUT / name).write_bytes(out)
    cases[name] = "whose component 2 is coded by no DC scan"

    grad = np.linspace(0, 255, 1024, dtype=np.float64)[None, :, None] * np.ones((768, 1, 3))
    buf = io.BytesIO()
    Image.fromarray((grad + rng.integers(0, 40, (768, 1024, 3))).clip(0, 255).astype(np.uint8)).save(
        buf, "JPEG", quality=90, subsampling="4:2:0")
    pieces = segments(buf.getvalue())
    out = b""
    for m, p in pieces:
        if m == 0xDA:
            header = 2 + struct.unpack(">H", p[2:4])[0]
            p = p[:header + 200]
            if p[-1] == 0xFF:
                p = p[:-1]
        out += p
    name = "jpeg_baseline_scan_cut_short.jpg"
    (OUT / name).write_bytes(out)
    cases[name] = "for 18432 8x8 blocks"

    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (4096, 4096, 3), dtype=np.uint8)).save(buf, "PNG", compress_level=1)
    png = buf.getvalue()
    ihdr = png[8:8 + 25]
    idat_start = png.index(b"IDAT") - 4
    first_len = struct.unpack(">I", png[idat_start:idat_start + 4])[0]
    body = png[idat_start + 8:idat_start + 8 + min(first_len, 1000)]
    name = "png_idat_short_4096x4096.png"
    (OUT / name).write_bytes(png[:8] + ihdr + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b""))
    cases[name] = "truncated PNG"

    # The rules' edge, legitimately: files as compressed as their format allows, which vfw must decode exactly
    # as Pillow does. A solid progressive JPEG with optimised Huffman tables codes its DC scans in exactly one
    # bit per block; a solid 1-bit PNG at zlib level 9 inflates about 1023:1 (DEFLATE's ceiling: 1032:1).
    edge = {}
    solid = Image.new("RGB", (3000, 2000), (200, 30, 90))
    name = "edge_jpeg_solid_3000x2000_progressive_optimized.jpg"
    solid.save(OUT / name, "JPEG", quality=1, progressive=True, optimize=True, subsampling="4:2:0")
    edge[name] = solid
    name = "edge_png_1bit_3000x3000_level9.png"
    Image.new("1", (3000, 3000), 1).save(OUT / name, compress_level=9)
    edge[name] = None
    edge_cases = {}
    for n in sorted(edge):
        rgb = Image.open(OUT / n).convert("RGB").tobytes()
        edge_cases[n] = {"bytes": (OUT / n).stat().st_size, "rgb_sha256": hashlib.sha256(rgb).hexdigest()}

    manifest = {
        "cases": {n: {"vfw_refusal": r, "pillow": pillow_verdict(OUT / n)} for n, r in sorted(cases.items())},
        "edge": edge_cases,
        "versions": {"pillow": PIL.__version__, "pillow_libjpeg_turbo": features.version("libjpeg_turbo"),
                     "numpy": np.__version__, "python": sys.version.split()[0]},
    }
    (OUT / "cases.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    for n, c in manifest["cases"].items():
        print(f"{n}: Pillow {c['pillow']}")


if __name__ == "__main__":
    main()
