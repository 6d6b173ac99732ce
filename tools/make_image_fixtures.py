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
    decoded.safetensors     "<file name>": uint8 [H, W, 3] = np.asarray(Image.open(p).convert("RGB")); "white/<file name>"
                            for the files Pillow reports transparency in: transformers' convert_to_rgb(Image.open(p))
                            (the transparency composited onto white)
    corrupt/*               unreadable inputs; corrupt.json: the ImagingError case vfw must throw for each and
                            the exception Pillow raised (Pillow rejects every one of them too, except a GIF,
                            which it reads and vfw does not)
    resize.safetensors      "src/<name>": uint8 [H, W, 3] sources; "pillow/<filter>/<name>/<W>x<H>": uint8 results of
                            Image.fromarray(src).resize((W, H), filter) for NEAREST, BOX, BILINEAR, HAMMING, BICUBIC,
                            LANCZOS (sizes up and down, including pairs Pillow 13 resizes vertically first);
                            "torch/<filter>/<name>/<W>x<H>": torchvision.transforms.v2.functional.resize of the uint8
                            CHW tensor, antialias=True, NEAREST_EXACT / BILINEAR / BICUBIC / LANCZOS (what transformers'
                            torchvision backend runs; needs an AVX2 or AVX-512 CPU, asserted)
    preset/*                real photos (scikit-image's), in the formats and sizes the pipelines meet: rocket.jpg
                            (a 640x427 camera JPEG), camera.png (gray 320x320), portrait.png (300x517, a 64-colour
                            palette with a transparent entry), coffee_173x131.jpg (smaller than every crop),
                            astronaut_97x600.jpg (tall), chelsea_451x97.jpg (wide), tiny_13x9.png
    hf/<case>/preprocessor_config.json   transformers configs as the Hub has them (google/vit-base-patch16-224-in21k,
                            google/vit-base-patch16-384, openai/clip-vit-base-patch32, google/siglip-*, facebook/dinov2-base,
                            facebook/convnext-tiny-224 and -large-384, facebook/deit-base-distilled-patch16-224,
                            google/efficientnet-b0) and four made here for the other branches (lanczos, padding crop,
                            rescale without normalize, rescale_offset, a non-square crop)
    timm/<model>/config.json             a Hub-style timm config.json holding timm's own pretrained_cfg for the model
    pipelines.json          per input photo: SHA-256 of Pillow's RGB decode and its size; per case (a named vfw preset
                            with the pipeline it names, a transformers config run by AutoImageProcessor.from_pretrained
                            with the default torchvision backend and with backend="pil" (given the image as Pillow
                            opened it when the processor has do_convert_rgb, else convert("RGB")), a timm config run by
                            create_transform(**resolve_data_config(pretrained_cfg)), a torchvision weights'
                            transforms() with the vfw spec text read off its attributes): what ran, and per photo
                            the output shape, the CRC-32 of the REAL float32 tensor, and the CRC-32 of the uint8 image
                            u (after resize and crop) with table[c][u] == tensor exactly (asserted)
    pipelines.safetensors   "<case>/table": float32 [3, 256], the REAL pipeline's value for byte v in channel c (read
                            at the center of its output for a constant image)
    versions.json           library versions, torch's CPU capability, and how far transformers' default
                            (torchvision-backend) ViTImageProcessor lands from the PIL backend on the photos
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
from transformers.image_transforms import convert_to_rgb
from PIL import Image
from safetensors.numpy import save_file
from torchvision import transforms
from torchvision.transforms.v2 import functional as tvF

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


def texture(w, h, c, maxval=255, r=None):
    """Gradients plus noise: exercises every filter and the full value range."""
    r = rng if r is None else r
    y, x = np.mgrid[0:h, 0:w]
    base = [(x * 7 + y * 3) % (maxval + 1), (x * y + 11 * x) % (maxval + 1), ((x - y) * 13) % (maxval + 1)]
    a = np.stack([base[i % 3] for i in range(c)], -1).astype(np.int64)
    noise = r.integers(0, maxval + 1, (h, w, c))
    mask = r.random((h, w, c)) < 0.3
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
    # Transparency as tRNS gives it (its own random stream, so the files above stay as they were): what
    # transformers' convert_to_rgb composites onto white. Gray keys compare with the 8-bit pixel, each tRNS
    # sample cut to its low byte (Pillow's rgbT2rgba), so a 1-bit key of 1 and a 4-bit key of 5 match nothing.
    rt = np.random.default_rng(20261204)
    for depth, key in ((1, 0), (1, 1), (2, 0), (4, 5), (8, 200)):
        png(f"png_gray{depth}_trns{key}_{W}x{H}", texture(W, H, 1, (1 << depth) - 1, rt), depth, 0, trns=struct.pack(">H", key))
    g16 = texture(W, H, 1, 65535, rt)
    g16[: H // 2] %= 300
    png(f"png_gray16_trns300_{W}x{H}", g16, 16, 0, trns=struct.pack(">H", 300))
    rgb = texture(W, H, 3, 255, rt)
    png(f"png_rgb8_trns_hit_{W}x{H}", rgb, 8, 2, trns=struct.pack(">HHH", *rgb[3, 4]))
    rgb16 = texture(W, H, 3, 65535, rt)
    rgb16[5:9, 5:20] = [0x1234, 0x5678, 0x9ABC]
    png(f"png_rgb16_trns_hit_{W}x{H}", rgb16, 16, 2, trns=struct.pack(">HHH", 0x12, 0x56, 0x9A))
    png(f"png_palette8_trns_short_{W}x{H}", texture(W, H, 1, 255, rt), 8, 3, palette=rt.integers(0, 256, (256, 3)),
        trns=bytes([255, 0, 128, 7, 255, 0]))
    png(f"png_palette8_trns_opaque_{W}x{H}", texture(W, H, 1, 255, rt), 8, 3, palette=rt.integers(0, 256, (256, 3)),
        trns=b"\xff" * 40)
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
# Resize: Pillow's Image.resize and torch's uint8 antialiased resize (torchvision v2 on a tensor)

PILLOW_FILTERS = {"nearest": Image.NEAREST, "box": Image.BOX, "bilinear": Image.BILINEAR,
                  "hamming": Image.HAMMING, "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}
TORCH_FILTERS = {"nearest": tvF.InterpolationMode.NEAREST_EXACT, "bilinear": tvF.InterpolationMode.BILINEAR,
                 "bicubic": tvF.InterpolationMode.BICUBIC, "lanczos": tvF.InterpolationMode.LANCZOS}


def torch_resize(src, w, h, filt):
    """What transformers' torchvision backend runs: tvF.resize on a uint8 CHW tensor, antialias=True."""
    t = torch.from_numpy(np.ascontiguousarray(src)).permute(2, 0, 1).contiguous()
    out = tvF.resize(t, [h, w], interpolation=TORCH_FILTERS[filt], antialias=True)
    assert out.dtype == torch.uint8
    return np.ascontiguousarray(out.permute(1, 2, 0).numpy())


def resize_cases():
    sources = {
        "noise_37x23": rng.integers(0, 256, (23, 37, 3)).astype(np.uint8),
        "photo_61x47": photo(61, 47, box=(150, 60, 330, 200)),
        "strip_300x7": texture(300, 7, 3).astype(np.uint8),
        "tall_9x131": texture(9, 131, 3).astype(np.uint8),
        "pixel_1x1": np.array([[[200, 17, 99]]], np.uint8),
        "edges_16x16": (np.indices((16, 16)).sum(0) % 2 * 255)[:, :, None].repeat(3, 2).astype(np.uint8),
        "photo_128x96": photo(128, 96, name="chelsea.png"),
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
        "photo_128x96": [(16, 12), (5, 37), (127, 3), (41, 96), (128, 17), (131, 99), (9, 9)],
    }
    out = {f"src/{k}": v for k, v in sources.items()}
    for name, src in sources.items():
        im = Image.fromarray(src)
        sizes = targets[name]
        for filt, code in PILLOW_FILTERS.items():
            # bilinear and bicubic on every size, the other filters on a third of them each
            pick = sizes if filt in ("bilinear", "bicubic") else sizes[list(PILLOW_FILTERS).index(filt) % 3::3]
            for w, h in pick:
                out[f"pillow/{filt}/{name}/{w}x{h}"] = np.asarray(im.resize((w, h), code))
        for filt in TORCH_FILTERS:
            pick = sizes if filt in ("bilinear", "bicubic") else sizes[1::2]
            # torch 2.15 fails an internal assert for a 1x1 output of a 3-channel CHW tensor (AVX kernel).
            for w, h in [s for s in pick if s != (1, 1)]:
                out[f"torch/{filt}/{name}/{w}x{h}"] = torch_resize(src, w, h, filt)
    return out


# --------------------------------------------------------------------------------------------------
# Pipelines: what the real libraries make of real photos, from named presets, transformers
# preprocessor_config.json files, timm pretrained_cfgs and torchvision weights' transforms()

PHOTOS = ["rocket.jpg", "camera.png", "portrait.png", "coffee_173x131.jpg", "astronaut_97x600.jpg",
          "chelsea_451x97.jpg", "tiny_13x9.png"]
FEW = ["rocket.jpg", "portrait.png", "coffee_173x131.jpg"]   # for the timm and torchvision-weights cases


def photo_inputs():
    """Real photos (scikit-image's, some shrunk or cut to odd sizes) in the formats vfw decodes."""
    sk = lambda n: Image.open(os.path.join(SKDATA, n))
    files = {"rocket.jpg": open(os.path.join(SKDATA, "rocket.jpg"), "rb").read()}   # a camera JPEG, 640x427

    def save(name, im, fmt, **kw):
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        files[name] = b.getvalue()

    save("camera.png", sk("camera.png").resize((320, 320), Image.LANCZOS), "PNG")   # gray
    portrait = sk("astronaut.png").convert("RGB").crop((100, 0, 400, 512)).resize((300, 517), Image.LANCZOS).quantize(64)
    tr = bytearray(b"\xff" * 64)
    tr[3] = 0
    save("portrait.png", portrait, "PNG", transparency=bytes(tr))   # palette with a transparent entry
    # Smaller than every crop (upscaling; exact resizes below the crop pad).
    save("coffee_173x131.jpg", sk("coffee.png").convert("RGB").resize((173, 131), Image.LANCZOS), "JPEG", quality=88)
    # Tall: squashing to 224x224 shrinks the height far more than the width (Pillow resizes vertically first).
    save("astronaut_97x600.jpg", sk("astronaut.png").convert("RGB").crop((200, 0, 300, 512)).resize((97, 600), Image.LANCZOS),
         "JPEG", quality=90)
    # Wide strip, odd sizes.
    save("chelsea_451x97.jpg", sk("chelsea.png").convert("RGB").crop((0, 80, 451, 177)), "JPEG", quality=90)
    save("tiny_13x9.png", Image.fromarray(photo(13, 9, name="coffee.png")), "PNG")
    return files


# transformers preprocessor_config.json files as the Hub has them (legacy feature-extractor forms
# included), and a few made here to reach the other branches: lanczos, a crop larger than the resized
# image (padding), rescale without normalize, EfficientNet's rescale_offset, a do_pad that is off.
HALF = [0.5, 0.5, 0.5]
IMNET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
CLIP = ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711])
HF_CONFIGS = {
    # google/vit-base-patch16-224-in21k
    "vit-base-patch16-224-in21k": {"do_normalize": True, "do_resize": True, "feature_extractor_type": "ViTFeatureExtractor",
                                   "image_mean": HALF, "image_std": HALF, "resample": 2, "size": 224},
    # google/vit-base-patch16-384
    "vit-base-patch16-384": {"do_normalize": True, "do_resize": True, "feature_extractor_type": "ViTFeatureExtractor",
                             "image_mean": HALF, "image_std": HALF, "resample": 2, "size": 384},
    # a transformers 5 save_pretrained of ViTImageProcessor()
    "vit-transformers5": {"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": HALF,
                          "image_processor_type": "ViTImageProcessor", "image_std": HALF, "resample": 2,
                          "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 224}},
    # openai/clip-vit-base-patch32
    "clip-vit-base-patch32": {"crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                              "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": CLIP[0],
                              "image_std": CLIP[1], "resample": 3, "size": 224},
    # google/siglip-base-patch16-224
    "siglip-base-patch16-224": {"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": HALF,
                                "image_processor_type": "SiglipImageProcessor", "image_std": HALF,
                                "processor_class": "SiglipProcessor", "resample": 3,
                                "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 224}},
    # google/siglip-so400m-patch14-384
    "siglip-so400m-patch14-384": {"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": HALF,
                                  "image_processor_type": "SiglipImageProcessor", "image_std": HALF,
                                  "processor_class": "SiglipProcessor", "resample": 3,
                                  "rescale_factor": 0.00392156862745098, "size": {"height": 384, "width": 384}},
    # facebook/dinov2-base
    "dinov2-base": {"crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
                    "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": IMNET[0],
                    "image_processor_type": "BitImageProcessor", "image_std": IMNET[1], "resample": 3,
                    "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 256}},
    # facebook/convnext-tiny-224
    "convnext-tiny-224": {"crop_pct": 0.875, "do_normalize": True, "do_resize": True,
                          "feature_extractor_type": "ConvNextFeatureExtractor", "image_mean": IMNET[0],
                          "image_std": IMNET[1], "resample": 3, "size": 224},
    # facebook/convnext-large-384 (384 and up: warped to a square, no crop)
    "convnext-large-384": {"crop_pct": 0.875, "do_normalize": True, "do_resize": True,
                           "feature_extractor_type": "ConvNextFeatureExtractor", "image_mean": IMNET[0],
                           "image_std": IMNET[1], "resample": 3, "size": 384},
    # facebook/deit-base-distilled-patch16-224
    "deit-base-distilled-patch16-224": {"crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                                        "feature_extractor_type": "DeiTFeatureExtractor", "image_mean": IMNET[0],
                                        "image_std": IMNET[1], "resample": 3, "size": 256},
    # google/efficientnet-b0 (NEAREST, include_top: std applied twice)
    "efficientnet-b0": {"crop_size": {"height": 289, "width": 289}, "do_center_crop": False, "do_normalize": True,
                        "do_rescale": True, "do_resize": True, "image_mean": IMNET[0],
                        "image_processor_type": "EfficientNetImageProcessor",
                        "image_std": [0.47853944, 0.4732864, 0.47434163], "include_top": True, "resample": 0,
                        "rescale_factor": 0.00392156862745098, "rescale_offset": False, "size": {"height": 224, "width": 224}},
    # made here: rescale_offset, so rescale and normalize are not fused
    "efficientnet-offset": {"image_processor_type": "EfficientNetImageProcessorFast", "rescale_offset": True,
                            "rescale_factor": 0.00784313725490196, "include_top": False, "resample": 2,
                            "size": {"height": 240, "width": 260}},
    # made here: lanczos, crop larger than the resized image (zero padding), rescale only, do_pad off
    "vit-lanczos-pad": {"image_processor_type": "ViTImageProcessorFast", "resample": 1,
                        "size": {"height": 200, "width": 180}, "do_center_crop": True,
                        "crop_size": {"height": 225, "width": 197}, "do_normalize": False, "do_pad": False},
    # made here: a CLIP processor at 336 with a non-square crop
    "clip-nonsquare": {"image_processor_type": "CLIPImageProcessorPil", "size": {"shortest_edge": 336},
                       "crop_size": {"height": 320, "width": 288}, "do_center_crop": True},
}

TIMM_MODELS = ["vit_base_patch16_224.augreg2_in21k_ft_in1k", "resnet50.a1_in1k", "convnext_tiny.fb_in1k",
               "efficientnet_b3.ra2_in1k", "vit_base_patch16_clip_224.openai", "vit_small_patch14_dinov2.lvd142m",
               "inception_v3.tv_in1k", "deit_base_patch16_384.fb_in1k", "convnext_base.fb_in22k_ft_in1k_384"]

TORCHVISION_WEIGHTS = ["ResNet50_Weights.IMAGENET1K_V1", "ResNet50_Weights.IMAGENET1K_V2",
                       "ConvNeXt_Tiny_Weights.IMAGENET1K_V1", "ConvNeXt_Small_Weights.IMAGENET1K_V1",
                       "ConvNeXt_Base_Weights.IMAGENET1K_V1", "EfficientNet_B0_Weights.IMAGENET1K_V1",
                       "EfficientNet_B3_Weights.IMAGENET1K_V1", "EfficientNet_B7_Weights.IMAGENET1K_V1",
                       "EfficientNet_V2_S_Weights.IMAGENET1K_V1", "MobileNet_V3_Large_Weights.IMAGENET1K_V2",
                       "RegNet_Y_400MF_Weights.IMAGENET1K_V2", "ViT_B_16_Weights.IMAGENET1K_V1",
                       "ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1", "Swin_T_Weights.IMAGENET1K_V1"]


def channels_text(v, named):
    v = [float(x) for x in v]
    for key, values in named.items():
        if v == values:
            return key
    return ":".join(repr(x) for x in v)


def torchvision_weights_spec(t):
    """vfw's text form of an ImageClassification transform (its attributes, read from the object)."""
    assert len(t.resize_size) == 1 and len(t.crop_size) == 1 and t.antialias
    interp = {tvF.InterpolationMode.BILINEAR: "bilinear", tvF.InterpolationMode.BICUBIC: "bicubic"}[t.interpolation]
    return (f"backend=pil,resize={t.resize_size[0]},interp={interp},crop={t.crop_size[0]},rescale=1/255,"
            f"mean={channels_text(t.mean, {'imagenet': IMNET[0]})},std={channels_text(t.std, {'imagenet': IMNET[1]})}")


def as_tensor(x):
    """pixel_values / a transform's output as a float32 [3, H, W] tensor."""
    if not isinstance(x, torch.Tensor):
        x = x["pixel_values"]   # a BatchFeature
    x = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    x = x[0] if x.ndim == 4 else x
    assert x.ndim == 3 and x.shape[0] == 3 and x.dtype == torch.float32, (x.shape, x.dtype)
    return x.contiguous()


def measured_table(run):
    """table[c][v]: the real pipeline's value for byte v in channel c, read at the center of its output for
    a constant 512x512 image (a resize keeps a constant image constant; the center is never padding)."""
    table = np.zeros((3, 256), np.float32)
    for v in range(256):
        px = np.array([v, (v * 7 + 3) % 256, (v * 11 + 5) % 256], np.uint8)
        t = run(Image.fromarray(np.broadcast_to(px, (512, 512, 3)).copy())).numpy()
        cy, cx = t.shape[1] // 2, t.shape[2] // 2
        for c in range(3):
            table[c, int(px[c])] = t[c, cy, cx]
    return table


def as_uint8(t, table):
    """The uint8 image u (H, W, 3) with table[c][u] == t, exactly (asserted): the pixels after resize and
    crop, recovered from the real tensor."""
    t = t.numpy()
    u = np.zeros((t.shape[1], t.shape[2], 3), np.uint8)
    for c in range(3):
        order = np.argsort(table[c], kind="stable")
        assert len(np.unique(table[c])) == 256, "table not injective"
        idx = np.clip(np.searchsorted(table[c][order], t[c]), 0, 255)
        u[:, :, c] = order[idx]
        assert (table[c][u[:, :, c]] == t[c]).all(), "tensor not representable as table[uint8]"
    return u


def pipeline_cases(out_dir):
    """name -> (description, run(PIL RGB image) -> float32 [3, H, W], images, fields for the manifest)."""
    import timm
    import timm.data
    import torchvision.models as tvm
    from transformers import AutoImageProcessor

    hf_run = lambda p: lambda im: as_tensor(p(im, return_tensors="pt"))
    tf_run = lambda t: lambda im: as_tensor(t(im))
    cases = {}
    presets = {
        "torchvision": ("transforms.Compose([Resize(256), CenterCrop(224), ToTensor(), Normalize(ImageNet)])",
                        tf_run(transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                                   transforms.Normalize(mean=IMNET[0], std=IMNET[1])]))),
        "hf-vit": ("transformers.ViTImageProcessor()", hf_run(transformers.ViTImageProcessor())),
        "hf-vit-pil": ("transformers.ViTImageProcessorPil()", hf_run(transformers.ViTImageProcessorPil())),
        "clip": ("transformers.CLIPImageProcessor()", hf_run(transformers.CLIPImageProcessor())),
        "siglip": ("transformers.SiglipImageProcessor()", hf_run(transformers.SiglipImageProcessor())),
        "dinov2": ("transformers.BitImageProcessor(size={'shortest_edge': 256}, crop_size=224, ImageNet mean/std)",
                   hf_run(transformers.BitImageProcessor(size={"shortest_edge": 256}, crop_size=224,
                                                         image_mean=IMNET[0], image_std=IMNET[1]))),
        "timm": ("timm.data.create_transform(**timm.data.resolve_data_config(pretrained_cfg={'input_size': (3, 224, 224)}))",
                 tf_run(timm.data.create_transform(**timm.data.resolve_data_config(pretrained_cfg={"input_size": (3, 224, 224)})))),
    }
    convert_rgb = {"clip", "siglip", "dinov2"}   # their processors have do_convert_rgb=True
    for name, (desc, run) in presets.items():
        cases[f"preset/{name}"] = (desc, run, PHOTOS, {"spec": name, "convert_rgb": name in convert_rgb})

    for name, cfg in HF_CONFIGS.items():
        folder = os.path.join(out_dir, "hf", name)
        os.makedirs(folder)
        json.dump(cfg, open(os.path.join(folder, "preprocessor_config.json"), "w"), indent=2, sort_keys=True)
        for backend in ("torchvision", "pil"):
            # the default backend is what a user gets; "pil" is asked for
            proc = AutoImageProcessor.from_pretrained(folder, **({"backend": "pil"} if backend == "pil" else {}))
            assert proc.backend == backend, (name, proc.backend)
            how = 'folder, backend="pil"' if backend == "pil" else "folder"
            desc = f"AutoImageProcessor.from_pretrained({how}) = {type(proc).__name__}"
            run = hf_run(proc)
            cases[f"hf/{name}/{backend}"] = (desc, run, PHOTOS,
                                              {"config": f"hf/{name}/preprocessor_config.json", "backend": backend,
                                               "class": type(proc).__name__, "convert_rgb": bool(proc.do_convert_rgb)})

    for name in TIMM_MODELS:
        cfg = timm.models.get_pretrained_cfg(name).to_dict()
        folder = os.path.join(out_dir, "timm", name)
        os.makedirs(folder)
        hub = {"architecture": name.split(".")[0], "num_classes": cfg.get("num_classes"), "pretrained_cfg": cfg}
        json.dump(hub, open(os.path.join(folder, "config.json"), "w"), indent=2, sort_keys=True)
        data_cfg = timm.data.resolve_data_config(pretrained_cfg=json.load(open(os.path.join(folder, "config.json")))["pretrained_cfg"])
        tf = timm.data.create_transform(**data_cfg)
        run = tf_run(tf)
        cases[f"timm/{name}"] = (f"timm.data.create_transform(**resolve_data_config(pretrained_cfg)) = {data_cfg}", run, FEW,
                                 {"config": f"timm/{name}/config.json"})

    for w in TORCHVISION_WEIGHTS:
        enum, member = w.split(".")
        t = getattr(getattr(tvm, enum), member).transforms()
        run = tf_run(t)
        cases[f"torchvision/{w}"] = (f"torchvision.models.{w}.transforms() = {t!r}".replace("\n", " "), run, FEW,
                                     {"spec": torchvision_weights_spec(t)})
    return cases


def pipelines(out_dir):
    photos_dir = os.path.join(out_dir, "preset")
    for name, data in photo_inputs().items():
        with open(os.path.join(photos_dir, name), "wb") as f:
            f.write(data)
    manifest = {"images": {}, "cases": {}}
    for name in PHOTOS:
        im = Image.open(os.path.join(photos_dir, name)).convert("RGB")
        raw = Image.open(os.path.join(photos_dir, name))
        # transformers' convert_to_rgb composites this transparency onto white (do_convert_rgb=True), even on
        # an image already converted to RGB: Pillow keeps a transparent colour in info["transparency"].
        transparent = "A" in raw.getbands() or im.info.get("transparency") is not None
        manifest["images"][name] = {"rgb_sha256": hashlib.sha256(np.asarray(im).tobytes()).hexdigest(), "size": list(im.size),
                                    "transparent": transparent}
    tables = {}
    for case, (desc, run, images, fields) in pipeline_cases(out_dir).items():
        table = measured_table(run)
        tables[f"{case}/table"] = table
        outputs = {}
        for name in images:
            # A processor with do_convert_rgb gets the image as Pillow opened it (and composites transparency
            # onto white itself); everything else gets convert("RGB"), as torchvision, timm and transformers
            # without do_convert_rgb need.
            opened = Image.open(os.path.join(photos_dir, name))
            t = run(opened if fields.get("convert_rgb") else opened.convert("RGB"))
            u = as_uint8(t, table)
            # CRC-32 (zlib's), which the Swift tests compute through zlib in a fraction of SHA-256's time in a
            # debug build; together with the exact shape and the table, a match is not an accident.
            outputs[name] = {"shape": [1, *t.shape], "tensor_crc32": zlib.crc32(t.numpy().astype("<f4").tobytes()),
                             "uint8_crc32": zlib.crc32(u.tobytes())}
        manifest["cases"][case] = {"python": desc, **fields, "outputs": outputs}
        print(f"  {case}: {len(images)} images")
    save_file(tables, os.path.join(out_dir, "pipelines.safetensors"), metadata={"made_by": "tools/make_image_fixtures.py"})
    json.dump(manifest, open(os.path.join(out_dir, "pipelines.json"), "w"), indent=1, sort_keys=True)
    # How far transformers' two backends land apart on the photos (the reason hf-vit changed meaning).
    tv, pil = transformers.ViTImageProcessor(), transformers.ViTImageProcessorPil()
    return {name: float((as_tensor(tv(im, return_tensors="pt")) - as_tensor(pil(im, return_tensors="pt"))).abs().max())
            for name in PHOTOS for im in [Image.open(os.path.join(photos_dir, name)).convert("RGB")]}


# --------------------------------------------------------------------------------------------------

def main():
    import timm
    capability = torch.backends.cpu.get_cpu_capability()
    # torchvision resizes uint8 natively only with AVX2 / AVX-512 (or on ARM); elsewhere it goes through float.
    assert capability in ("AVX2", "AVX512"), f"run on an x86 CPU with AVX2 (torch reports {capability})"
    # Only what this script writes is replaced (hostile/ is tools/make_hostile_images.py's).
    for d in ("decode", "corrupt", "preset", "hf", "timm"):
        shutil.rmtree(os.path.join(OUT, d), ignore_errors=True)
        os.makedirs(os.path.join(OUT, d))
    for f in ("presets.safetensors", "presets.json"):
        if os.path.exists(os.path.join(OUT, f)):
            os.remove(os.path.join(OUT, f))

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
            # transformers' convert_to_rgb on the image as opened: transparency composited onto white.
            if "A" in im.getbands() or im.info.get("transparency") is not None:
                tensors[f"white/{name}"] = np.ascontiguousarray(
                    convert_to_rgb(Image.open(io.BytesIO(data)), return_numpy=True))
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

    backend_gap = pipelines(OUT)

    versions = {
        "pillow": PIL.__version__,
        "pillow_libjpeg_turbo": PIL.features.version("libjpeg_turbo"),
        "pillow_zlib": PIL.features.version("zlib"),
        "torch": torch.__version__,
        "torch_cpu_capability": capability,
        "torchvision": torchvision.__version__,
        "transformers": transformers.__version__,
        "timm": timm.__version__,
        "numpy": np.__version__,
        "scikit-image": skimage.__version__,
        "hf_vit_torchvision_backend_max_abs_gap_vs_pil_backend": backend_gap,
    }
    json.dump(versions, open(os.path.join(OUT, "versions.json"), "w"), indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
