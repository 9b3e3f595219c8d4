#!/usr/bin/env python3
"""Composes a folder of full-size photos in the ImageNet layout (train/CLASS, val/CLASS,
test/CLASS) from the sample photos Debian's python3-skimage ships, for measuring msdx on
data as users have it: 12-megapixel and other camera sizes, portrait and landscape, baseline
and progressive JPEG, grey and CMYK JPEG, PNG with alpha, 16-bit and palette PNG. Each image
is a random crop of a class's source photo, resized with PIL's Lanczos filter, colour-jittered
and given sensor-like noise, so that the files have the size and entropy of real photos.

  apt-get install python3-skimage python3-pil
  /usr/bin/python3 scripts/data/photo_folder.py OUT_DIR [TRAIN_PER_CLASS]

Keep OUT_DIR out of the repository: it holds hundreds of megabytes.
"""
import os
import random
import sys

import numpy as np
from PIL import Image

SRC = "/usr/lib/python3/dist-packages/skimage/data"
CLASSES = {
    "n02123045_cat": ["chelsea.png"],
    "n03063599_coffee": ["coffee.png"],
    "n04266014_rocket": ["rocket.jpg"],
    "n09999999_astronaut": ["astronaut.png"],
}
SIZES = [(4032, 3024), (3024, 4032), (3000, 2000), (4000, 3000), (1600, 1200), (2048, 1365), (800, 600), (5184, 3456)]


def compose(src, rng, size):
    w, h = src.size
    cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
    x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = src.crop((x0, y0, x0 + cw, y0 + ch)).resize(size, Image.LANCZOS)
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    a = np.asarray(img, dtype=np.float32)
    a = a * np.array([rng.uniform(0.85, 1.15) for _ in range(3)], dtype=np.float32)
    a += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, a.shape).astype(np.float32)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def save(img, path, kind):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if kind == "jpeg":
        img.save(path + ".JPEG", quality=92)
    elif kind == "progressive":
        img.save(path + ".jpg", quality=90, progressive=True)
    elif kind == "grey":
        img.convert("L").save(path + ".JPEG", quality=92)
    elif kind == "cmyk":
        img.convert("CMYK").save(path + ".jpg", quality=92)
    elif kind == "rgba":
        a = img.convert("RGBA")
        alpha = Image.linear_gradient("L").resize(a.size)
        a.putalpha(alpha)
        a.save(path + ".png")
    elif kind == "grey16":
        g = np.asarray(img.convert("L"), dtype=np.uint16) * 257
        Image.fromarray(g, "I;16").save(path + ".png")
    elif kind == "palette":
        img.convert("P", palette=Image.ADAPTIVE).save(path + ".png")


def main(out, per_class):
    rng = random.Random(20)
    kinds = ["jpeg"] * 6 + ["progressive", "grey", "cmyk", "rgba", "grey16", "palette"]
    for cls, names in CLASSES.items():
        src = Image.open(os.path.join(SRC, names[0])).convert("RGB")
        for split, n in [("train", per_class), ("val", 2), ("test", 2)]:
            for i in range(n):
                size = rng.choice(SIZES)
                kind = rng.choice(kinds) if split == "train" else "jpeg"
                save(compose(src, rng, size), os.path.join(out, split, cls, "%s_%03d" % (cls.split("_")[0], i)), kind)
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 6)
