#!/usr/bin/env python3
"""The photos the committed references are recorded on (Reference/images; licences in its README.md).

    ~/.cache/vfw-venv/bin/python tools/make_reference_images.py [-o Reference/images]

Copies four public-domain / CC0 photos from scikit-image's wheel (skimage/data) byte for byte, and derives a fifth
with an alpha channel (no photo there has one):

    chelsea.png          a photo, RGB 451x300
    coffee.png           a photo, RGB 600x400
    camera.png           grayscale (PIL mode L), 512x512
    rocket.jpg           a JPEG of an odd size, 640x427
    astronaut-alpha.png  RGBA of an odd size, 301x257: skimage's astronaut.png resized with PIL's LANCZOS, alpha a
                         radial fade (255 in the middle, 0 in the corners); `convert("RGB")` drops the alpha,
                         as Pillow and vfw both do

Run again, the copies are identical and the derived photo has the same pixels (its PNG bytes depend on zlib).
"""
import argparse
import os
import shutil

import numpy as np
import skimage
from PIL import Image

COPIED = ("chelsea.png", "coffee.png", "camera.png", "rocket.jpg")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Reference", "images"))
    a = ap.parse_args()
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    os.makedirs(a.output, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(os.path.join(data, name), os.path.join(a.output, name))
    w, h = 301, 257
    rgb = Image.open(os.path.join(data, "astronaut.png")).convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
    y, x = np.mgrid[0:h, 0:w]
    r = np.sqrt(((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2)
    alpha = Image.fromarray(np.clip(255 * (1.25 - r) / 0.5, 0, 255).astype(np.uint8))
    Image.merge("RGBA", (*rgb.split(), alpha)).save(os.path.join(a.output, "astronaut-alpha.png"), optimize=True)
    print(f"{a.output}: {', '.join(COPIED + ('astronaut-alpha.png',))} (scikit-image {skimage.__version__})")


if __name__ == "__main__":
    main()
