#!/usr/bin/env python3
"""Image fixtures for the Imaging module: what Pillow, torchvision and transformers make of real files.

    ~/.cache/vfw-venv/bin/python tools/make_image_fixtures.py

Writes Tests/Fixtures/images/ (deterministic; every expected value comes from the real libraries):

    decode/*.png, *.jpg     small images in every PNG and JPEG variety vfw decodes: gray 1/2/4/8/16 bit,
                            gray+alpha 8/16, RGB 8/16, RGBA 8/16, palette 1/2/4/8 bit (with tRNS, with indices
                            past the end of PLTE), tRNS on gray/RGB, Adam7 interlaced, a bad IDAT CRC and a
                            missing IEND (Pillow reads both); JPEG baseline 4:2:0 / 4:2:2 / 4:4:4, progressive,
                            optimized, restart markers, grayscale, CMYK (Adobe), RGB without YCbCr, EXIF
                            orientation.
                            Odd sizes: 37x23, 1x1, 300x7, 5x3, ...  PNGs are written by a small encoder below (Pillow
                            cannot write 16-bit RGB, low bit depths or interlacing) or by Pillow.
    decoded.safetensors     "<file name>": uint8 [H, W, 3] = np.asarray(Image.open(p).convert("RGB"))
    corrupt/*               unreadable inputs; corrupt.json: the ImagingError case vfw must throw for each and
                            the exception Pillow raised (Pillow rejects every one of them too, except a GIF,
                            which it reads and vfw does not)
    resize.safetensors      "src/<name>": uint8 [H, W, 3] sources; "<filter>/<name>/<W>x<H>": uint8 results of
                            Image.fromarray(src).resize((W, H), BILINEAR | BICUBIC), sizes up and down, including
                            pairs where Pillow 13 resizes vertically first
    preset/*                inputs of the preset tests, all larger than 256 so the real resize path runs:
                            rocket.jpg (scikit-image, 640x427 camera JPEG), camera.png (scikit-image camera.png,
                            gray, shrunk to 320x320), portrait.png (astronaut shrunk to 300x517 and quantised to
                            a 64-colour palette with a transparent entry: hf-vit resizes it vertically first)
    presets.safetensors     "<preset>/table": float32 [3, 256], the value the REAL pipeline gives a byte v in channel c
                            (measured by running it on an image holding every byte value);
                            "<preset>/<image>/uint8": uint8 [224, 224, 3] such that table[c][uint8] is, element for
                            element, the REAL pipeline's float32 tensor (asserted here, exactly). Lossless, and a
                            quarter of the size of the float tensors (3.6 MB for the six).
    presets.json            per preset and image: SHA-256 of the REAL tensor's little-endian float32 bytes, its shape
                            and range; per image: SHA-256 of Pillow's decoded RGB bytes (rocket.jpg is a camera
                            JPEG from another encoder, 640x427: its decode is checked by hash, not stored)
                            torchvision = Compose([Resize(256), CenterCrop(224), ToTensor(),
                            Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]);
                            hf-vit = transformers ViTImageProcessorPil() (the PIL backend), pixel_values.
    versions.json           library versions, and how far transformers' default (torchvision-backend)
                            ViTImageProcessor lands from the PIL backend on the preset images
"""
import hashlib
import io
import json
import os
import re
import shutil
import struct
import zlib

import numpy as np
import PIL
import PIL.features
import skimage
import torch
import torchvision
import transformers
from PIL import Image
from safetensors.numpy import save_file
from torchvision import transforms

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "images")
SKDATA = os.path.join(os.path.dirname(skimage.__file__), "data")

# --------------------------------------------------------------------------------------------------
# A minimal PNG encoder: every colour type and bit depth, all five filters, Adam7, multiple IDATs.

CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data, crc=None):
    c = zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", c)


def scanlines(a, depth):
    """Raw (unfiltered) scanlines of a [h, w, c] array of samples."""
    rows = []
    for row in a:
        r = row.reshape(-1)
        if depth == 16:
            rows.append(r.astype(">u2").tobytes())
        elif depth == 8:
            rows.append(r.astype(np.uint8).tobytes())
        else:
            per = 8 // depth
            out = bytearray((len(r) * depth + 7) // 8)
            for i, v in enumerate(r):
                out[i // per] |= int(v) << (8 - depth * (i % per + 1))
            rows.append(bytes(out))
    return rows


def filtered(rows, bpp):
    """Each row with a filter byte; filters cycle None, Sub, Up, Average, Paeth."""
    out = bytearray()
    prev = np.zeros(len(rows[0]) if rows else 0, dtype=np.int64)
    for i, r in enumerate(rows):
        cur = np.frombuffer(r, np.uint8).astype(np.int64)
        left = np.concatenate([np.zeros(bpp, np.int64), cur[:-bpp]])[: len(cur)]
        upleft = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]])[: len(cur)]
        f = i % 5
        if f == 0:
            d = cur
        elif f == 1:
            d = cur - left
        elif f == 2:
            d = cur - prev
        elif f == 3:
            d = cur - (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
            d = cur - np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        out += bytes([f]) + (d % 256).astype(np.uint8).tobytes()
        prev = cur
    return bytes(out)


def png_bytes(a, depth, ctype, palette=None, trns=None, interlace=False, idat_crc=None, iend=True, pre=b""):
    a = a if a.ndim == 3 else a[:, :, None]
    h, w, c = a.shape
    assert c == CHANNELS[ctype]
    bpp = max(1, c * depth // 8)
    if interlace:
        data = b"".join(
            filtered(scanlines(a[y0::dy, x0::dx], depth), bpp)
            for x0, y0, dx, dy in ADAM7
            if a[y0::dy, x0::dx].size
        )
    else:
        data = filtered(scanlines(a, depth), bpp)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    out += pre
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    z = zlib.compress(data, 9)
    half = len(z) // 2  # two IDAT chunks
    out += chunk(b"IDAT", z[:half]) + chunk(b"IDAT", z[half:], crc=idat_crc)
    if iend:
        out += chunk(b"IEND", b"")
    return out


# --------------------------------------------------------------------------------------------------
# Test images

rng = np.random.default_rng(20260501)


def photo(w, h, name="astronaut.png", box=None):
    """A natural-image crop, resized with Pillow: realistic content in tiny files."""
    im = Image.open(os.path.join(SKDATA, name)).convert("RGB")
    if box:
        im = im.crop(box)
    return np.asarray(im.resize((w, h), Image.LANCZOS))


def texture(w, h, c, maxval=255):
    """Gradients plus noise: exercises every filter and the full value range."""
    y, x = np.mgrid[0:h, 0:w]
    base = [(x * 7 + y * 3) % (maxval + 1), (x * y + 11 * x) % (maxval + 1), ((x - y) * 13) % (maxval + 1)]
    a = np.stack([base[i % 3] for i in range(c)], -1).astype(np.int64)
    noise = rng.integers(0, maxval + 1, (h, w, c))
    mask = rng.random((h, w, c)) < 0.3
    a[mask] = noise[mask]
    return a


def decode_cases():
    """(file name, bytes) of every decode fixture."""
    cases = []

    def png(name, *args, **kw):
        cases.append((name + ".png", png_bytes(*args, **kw)))

    def pillow(name, im, fmt, **kw):
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        cases.append((name, b.getvalue()))

    W, H = 37, 23
    # Gray, every bit depth; 16-bit mixes values below 256 (Pillow's I;16 -> RGB clip shows) and above.
    for depth in (1, 2, 4, 8):
        png(f"png_gray{depth}_{W}x{H}", texture(W, H, 1, (1 << depth) - 1), depth, 0)
    g16 = texture(W, H, 1, 65535)
    g16[: H // 2] %= 300
    png(f"png_gray16_{W}x{H}", g16, 16, 0)
    png(f"png_graya8_{W}x{H}", texture(W, H, 2), 8, 4)
    png(f"png_graya16_{W}x{H}", texture(W, H, 2, 65535), 16, 4)
    png(f"png_rgb8_{W}x{H}", texture(W, H, 3), 8, 2)
    png(f"png_rgb16_{W}x{H}", texture(W, H, 3, 65535), 16, 2)
    png(f"png_rgba8_{W}x{H}", texture(W, H, 4), 8, 6)
    png(f"png_rgba16_{W}x{H}", texture(W, H, 4, 65535), 16, 6)
    # Palettes: full alpha table; a 5-entry PLTE indexed up to 15 (Pillow gives black past PLTE).
    pal = rng.integers(0, 256, (256, 3))
    png(f"png_palette8_trns_{W}x{H}", texture(W, H, 1), 8, 3, palette=pal, trns=bytes(rng.integers(0, 256, 256).astype(np.uint8)))
    png(f"png_palette4_short_plte_{W}x{H}", texture(W, H, 1, 15), 4, 3, palette=pal[:5], trns=b"\x00")
    png("png_palette2_300x7", texture(300, 7, 1, 3), 2, 3, palette=pal[:4])
    png("png_palette1_300x7", texture(300, 7, 1, 1), 1, 3, palette=pal[:2], trns=b"\x00")
    # tRNS on gray and RGB: recorded by Pillow, ignored by convert("RGB").
    png(f"png_gray8_trns_{W}x{H}", texture(W, H, 1), 8, 0, trns=struct.pack(">H", 7))
    png(f"png_rgb8_trns_{W}x{H}", texture(W, H, 3), 8, 2, trns=struct.pack(">HHH", 1, 2, 3))
    png(f"png_rgb16_trns_{W}x{H}", texture(W, H, 3, 65535), 16, 2, trns=struct.pack(">HHH", 1, 2, 3))
    # Adam7, including images with empty passes.
    png(f"png_rgb8_interlaced_{W}x{H}", texture(W, H, 3), 8, 2, interlace=True)
    png(f"png_rgba16_interlaced_{W}x{H}", texture(W, H, 4, 65535), 16, 6, interlace=True)
    png(f"png_gray2_interlaced_{W}x{H}", texture(W, H, 1, 3), 2, 0, interlace=True)
    png(f"png_palette4_interlaced_{W}x{H}", texture(W, H, 1, 15), 4, 3, palette=pal[:16], interlace=True)
    png("png_graya8_interlaced_5x3", texture(5, 3, 2), 8, 4, interlace=True)
    png("png_rgb8_interlaced_1x1", texture(1, 1, 3), 8, 2, interlace=True)
    # Sizes.
    png("png_rgb8_1x1", texture(1, 1, 3), 8, 2)
    png("png_rgb8_300x7", texture(300, 7, 3), 8, 2)
    png("png_gray8_7x300", texture(7, 300, 1), 8, 0)
    # Damage Pillow reads through: a wrong IDAT CRC (Pillow never checks it), no IEND.
    png(f"png_rgb8_bad_idat_crc_{W}x{H}", texture(W, H, 3), 8, 2, idat_crc=0x12345678)
    png(f"png_rgb8_no_iend_{W}x{H}", texture(W, H, 3), 8, 2, iend=False)
    # An ancillary chunk before IDAT (gAMA; Pillow and vfw apply no gamma).
    png(f"png_rgb8_gama_{W}x{H}", texture(W, H, 3), 8, 2, pre=chunk(b"gAMA", struct.pack(">I", 100000)))
    # Pillow's own PNG encoder.
    ph = Image.fromarray(photo(61, 47))
    pillow("png_pillow_rgb_61x47.png", ph, "PNG", optimize=True)
    pillow("png_pillow_rgba_61x47.png", ph.convert("RGBA"), "PNG")
    pillow("png_pillow_palette_61x47.png", ph.quantize(37), "PNG")

    # JPEG, encoded by Pillow (libjpeg-turbo), decoded by Pillow.
    ph = Image.fromarray(photo(64, 48))
    odd = Image.fromarray(photo(37, 23))
    pillow("jpeg_baseline_420_64x48.jpg", ph, "JPEG", quality=90, subsampling="4:2:0")
    pillow("jpeg_baseline_420_37x23.jpg", odd, "JPEG", quality=90, subsampling="4:2:0")
    pillow("jpeg_baseline_422_37x23.jpg", odd, "JPEG", quality=85, subsampling="4:2:2")
    pillow("jpeg_baseline_444_37x23.jpg", odd, "JPEG", quality=95, subsampling="4:4:4")
    pillow("jpeg_progressive_420_37x23.jpg", odd, "JPEG", quality=90, progressive=True)
    pillow("jpeg_progressive_444_64x48.jpg", ph, "JPEG", quality=75, progressive=True, subsampling="4:4:4")
    pillow("jpeg_optimized_420_64x48.jpg", ph, "JPEG", quality=60, optimize=True)
    pillow("jpeg_restart_420_64x48.jpg", ph, "JPEG", quality=90, restart_marker_blocks=3)
    pillow("jpeg_gray_37x23.jpg", odd.convert("L"), "JPEG", quality=90)
    pillow("jpeg_gray_progressive_64x48.jpg", ph.convert("L"), "JPEG", quality=90, progressive=True)
    pillow("jpeg_cmyk_37x23.jpg", odd.convert("CMYK"), "JPEG", quality=90)
    pillow("jpeg_rgb_no_ycbcr_37x23.jpg", odd, "JPEG", quality=90, keep_rgb=True)
    pillow("jpeg_baseline_420_1x1.jpg", Image.fromarray(photo(1, 1)), "JPEG", quality=90)
    pillow("jpeg_baseline_420_300x7.jpg", Image.fromarray(photo(300, 7)), "JPEG", quality=90)
    pillow("jpeg_baseline_420_7x300.jpg", Image.fromarray(photo(7, 300)), "JPEG", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation "rotate 90 CW": Pillow's open/convert ignore it
    pillow("jpeg_exif_orientation6_37x23.jpg", odd, "JPEG", quality=90, exif=exif.tobytes())
    return cases


def corrupt_cases(decoded):
    """(file name, bytes, expected ImagingError case) of unreadable inputs."""
    by = dict(decoded)
    png_ok = by["png_rgb8_37x23.png"]
    jpg_ok = by["jpeg_baseline_420_64x48.jpg"]
    prog = by["jpeg_progressive_444_64x48.jpg"]
    gif = io.BytesIO()
    Image.fromarray(photo(8, 8)).save(gif, "GIF")
    bad_ihdr = bytearray(png_ok)
    bad_ihdr[29] ^= 0xFF  # IHDR CRC
    idat = png_ok.index(b"IDAT")
    bad_zlib = bytearray(png_ok)
    for i in range(idat + 8, idat + 40):
        bad_zlib[i] ^= 0x5A
    fixed_zlib = bytes(bad_zlib)  # CRCs are not checked past IHDR..IDAT by Pillow, the zlib stream is
    bad_jpeg_header = bytearray(jpg_ok)
    sof = jpg_ok.index(b"\xff\xc0")
    bad_jpeg_header[sof + 5: sof + 9] = b"\x00\x00\x00\x00"  # zero height and width
    huge = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
    huge += chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    return [
        ("empty.png", b"", "empty"),
        ("text.png", b"these bytes are not an image\n", "notAnImage"),
        ("image.gif", gif.getvalue(), "notAnImage"),
        ("truncated_png_half.png", png_ok[: len(png_ok) // 2], "truncated"),
        ("truncated_png_signature_only.png", png_ok[:8], "truncated"),
        ("truncated_jpeg_baseline.jpg", jpg_ok[: len(jpg_ok) * 3 // 5], "truncated"),
        ("truncated_jpeg_progressive.jpg", prog[: len(prog) * 3 // 5], "truncated"),
        ("png_bad_ihdr_crc.png", bytes(bad_ihdr), "corrupt"),
        ("png_bad_zlib_data.png", fixed_zlib, "corrupt"),
        ("jpeg_zero_size.jpg", bytes(bad_jpeg_header), "corrupt"),
        ("jpeg_soi_then_garbage.jpg", b"\xff\xd8\xff" + bytes(rng.integers(0, 256, 200).astype(np.uint8)), "corrupt"),
        ("png_20000x20000.png", huge, "tooLarge"),
    ]


def pillow_rejects(data):
    """The exception Pillow raises opening and converting `data` (None if it succeeds)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.convert("RGB").load()
        return None
    except Exception as e:  # noqa: BLE001 - any failure counts as rejected
        return re.sub(r" <_io.BytesIO object at 0x[0-9a-f]+>", "", f"{type(e).__name__}: {e}")


# --------------------------------------------------------------------------------------------------
# Resize

def resize_cases():
    sources = {
        "noise_37x23": rng.integers(0, 256, (23, 37, 3)).astype(np.uint8),
        "photo_61x47": photo(61, 47, box=(150, 60, 330, 200)),
        "strip_300x7": texture(300, 7, 3).astype(np.uint8),
        "tall_9x131": texture(9, 131, 3).astype(np.uint8),
        "pixel_1x1": np.array([[[200, 17, 99]]], np.uint8),
        "edges_16x16": (np.indices((16, 16)).sum(0) % 2 * 255)[:, :, None].repeat(3, 2).astype(np.uint8),
    }
    targets = {
        "noise_37x23": [(1, 1), (5, 3), (18, 11), (36, 23), (37, 22), (37, 23), (38, 24), (74, 46), (100, 13),
                        (13, 100), (12, 40), (60, 9), (40, 20), (19, 2), (3, 22), (111, 69), (36, 11), (48, 5)],
        "photo_61x47": [(1, 1), (2, 2), (30, 23), (20, 15), (61, 24), (24, 47), (64, 64), (122, 94), (45, 30),
                        (90, 10), (7, 45), (59, 46), (62, 48), (33, 8), (70, 20), (61, 3)],
        "strip_300x7": [(150, 3), (100, 7), (37, 14), (299, 6), (301, 8), (10, 1), (64, 64)],
        "tall_9x131": [(9, 65), (3, 131), (4, 44), (18, 20), (1, 7), (12, 130), (27, 9)],
        "pixel_1x1": [(1, 2), (3, 1), (4, 5)],
        "edges_16x16": [(8, 8), (5, 5), (3, 7), (7, 3), (24, 24), (15, 17), (16, 4)],
    }
    out = {f"src/{k}": v for k, v in sources.items()}
    for name, src in sources.items():
        im = Image.fromarray(src)
        for w, h in targets[name]:
            out[f"bilinear/{name}/{w}x{h}"] = np.asarray(im.resize((w, h), Image.BILINEAR))
        for w, h in targets[name][::2]:
            out[f"bicubic/{name}/{w}x{h}"] = np.asarray(im.resize((w, h), Image.BICUBIC))
    return out


# --------------------------------------------------------------------------------------------------
# Presets

def torchvision_pipeline():
    return transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])


def hf_pipeline():
    proc = transformers.ViTImageProcessorPil()
    return lambda im: torch.from_numpy(np.asarray(proc(im, return_tensors="np")["pixel_values"][0]))


def hf_torchvision_backend():
    proc = transformers.ViTImageProcessor()
    return lambda im: proc(im, return_tensors="pt")["pixel_values"][0]


def calibration_image(size, pad):
    """An image whose central 224x224 region holds every byte value in every channel."""
    v = np.arange(224 * 224) % 256
    core = np.stack([v, (v * 7 + 3) % 256, (v * 11 + 5) % 256], -1).reshape(224, 224, 3).astype(np.uint8)
    full = np.zeros((size, size, 3), np.uint8)
    full[pad:pad + 224, pad:pad + 224] = core
    return core, full


def measured_table(pipeline, size, pad):
    """table[c][v]: the real pipeline's output for byte v in channel c."""
    core, full = calibration_image(size, pad)
    t = pipeline(Image.fromarray(full)).numpy()
    table = np.full((3, 256), np.nan, np.float32)
    for c in range(3):
        for v in range(256):
            vals = t[c][core[:, :, c] == v]
            assert len(vals) and (vals == vals[0]).all(), "output is not a function of the byte"
            table[c, v] = vals[0]
    return table


def as_uint8(tensor, table):
    """The uint8 image u with table[c][u] == tensor, exactly (asserted)."""
    t = tensor.numpy()
    u = np.zeros((224, 224, 3), np.uint8)
    for c in range(3):
        order = np.argsort(table[c])
        idx = np.searchsorted(table[c][order], t[c])
        idx = np.clip(idx, 0, 255)
        u[:, :, c] = order[idx]
        assert (table[c][u[:, :, c]] == t[c]).all(), "tensor not representable as table[uint8]"
    return u


def preset_inputs():
    cam = Image.open(os.path.join(SKDATA, "camera.png")).resize((320, 320), Image.LANCZOS)
    portrait = Image.open(os.path.join(SKDATA, "astronaut.png")).convert("RGB").crop((100, 0, 400, 512))
    portrait = portrait.resize((300, 517), Image.LANCZOS).quantize(64)
    tr = bytearray(b"\xff" * 64)
    tr[3] = 0
    files = {}
    files["rocket.jpg"] = open(os.path.join(SKDATA, "rocket.jpg"), "rb").read()
    b = io.BytesIO()
    cam.save(b, "PNG")
    files["camera.png"] = b.getvalue()
    b = io.BytesIO()
    portrait.save(b, "PNG", transparency=bytes(tr))
    files["portrait.png"] = b.getvalue()
    return files


# --------------------------------------------------------------------------------------------------

def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for d in ("decode", "corrupt", "preset"):
        os.makedirs(os.path.join(OUT, d))

    decoded = decode_cases()
    tensors = {}
    manifest = {}
    for name, data in decoded:
        with open(os.path.join(OUT, "decode", name), "wb") as f:
            f.write(data)
        with Image.open(io.BytesIO(data)) as im:
            manifest[name] = {"pillow_mode": im.mode, "size": list(im.size), "format": im.format,
                              "info": sorted(k for k in im.info if isinstance(k, str))}
            tensors[name] = np.ascontiguousarray(np.asarray(im.convert("RGB")))
    save_file(tensors, os.path.join(OUT, "decoded.safetensors"), metadata={"made_by": "tools/make_image_fixtures.py"})
    json.dump(manifest, open(os.path.join(OUT, "decode", "manifest.json"), "w"), indent=1, sort_keys=True)

    corrupt = {}
    for name, data, expected in corrupt_cases(decoded):
        with open(os.path.join(OUT, "corrupt", name), "wb") as f:
            f.write(data)
        rejected = pillow_rejects(data)
        # Every input is one Pillow rejects too, except the GIF: a fine image, just not one vfw reads.
        assert (rejected is None) == (name == "image.gif"), f"Pillow on {name}: {rejected}"
        rejected = rejected or "reads it (vfw decodes PNG and JPEG only)"
        corrupt[name] = {"expected": expected, "pillow": rejected}
    json.dump(corrupt, open(os.path.join(OUT, "corrupt.json"), "w"), indent=1, sort_keys=True)

    save_file(resize_cases(), os.path.join(OUT, "resize.safetensors"), metadata={"made_by": "tools/make_image_fixtures.py"})

    presets = {"torchvision": torchvision_pipeline(), "hf-vit": hf_pipeline()}
    # Calibration: torchvision's Resize(256) leaves a 256x256 image alone and CenterCrop takes the
    # middle 224 (offset 16); ViTImageProcessorPil's resize of a 224x224 image is a copy.
    tables = {"torchvision": measured_table(presets["torchvision"], 256, 16),
              "hf-vit": measured_table(presets["hf-vit"], 224, 0)}
    out = {}
    sums = {}
    backend_gap = {}
    hf_tv = hf_torchvision_backend()
    for name, data in preset_inputs().items():
        with open(os.path.join(OUT, "preset", name), "wb") as f:
            f.write(data)
        im = Image.open(os.path.join(OUT, "preset", name)).convert("RGB")
        assert min(im.size) > 256, name
        for preset, pipeline in presets.items():
            t = pipeline(im)
            assert tuple(t.shape) == (3, 224, 224) and t.dtype == torch.float32, (preset, t.shape, t.dtype)
            out[f"{preset}/{name}/uint8"] = as_uint8(t, tables[preset])
            sums[f"{preset}/{name}"] = {
                "tensor_sha256": hashlib.sha256(t.numpy().astype("<f4").tobytes()).hexdigest(),
                "shape": [1, *t.shape], "min": float(t.min()), "max": float(t.max()), "mean": float(t.double().mean()),
            }
        sums[f"decoded/{name}"] = {"rgb_sha256": hashlib.sha256(np.asarray(im).tobytes()).hexdigest(),
                                   "size": list(im.size)}
        backend_gap[name] = float((hf_tv(im) - presets["hf-vit"](im)).abs().max())
    for preset, table in tables.items():
        out[f"{preset}/table"] = table
    save_file(out, os.path.join(OUT, "presets.safetensors"), metadata={"made_by": "tools/make_image_fixtures.py"})
    json.dump(sums, open(os.path.join(OUT, "presets.json"), "w"), indent=1, sort_keys=True)

    versions = {
        "pillow": PIL.__version__,
        "pillow_libjpeg_turbo": PIL.features.version("libjpeg_turbo"),
        "pillow_zlib": PIL.features.version("zlib"),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "scikit-image": skimage.__version__,
        "hf_vit_torchvision_backend_max_abs_gap_vs_pil_backend": backend_gap,
    }
    json.dump(versions, open(os.path.join(OUT, "versions.json"), "w"), indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
