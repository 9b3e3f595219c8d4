#!/usr/bin/env python3
"""Writes data/testdata/resize_pil.json: 8-bit grey images resized by PIL's Image.resize with
the BILINEAR filter (what torchvision's Resize, CenterCrop+Resize and RandomResizedCrop run on
PIL images), after an optional crop, for the Go resampler to match exactly. Run with Debian's
python3-pil:

  /usr/bin/python3 scripts/golden/resize_pil.py
"""
import json
import os
import random

from PIL import Image

CASES = [
    # (name, source w, h, crop (x0, y0, w, h) or None, output w, h)
    ("downscale", 53, 41, None, 17, 11),
    ("upscale", 13, 9, None, 40, 31),
    ("crop then resize", 53, 41, (5, 3, 20, 15), 32, 32),
    ("width only", 53, 41, None, 20, 41),
    ("height only", 53, 41, None, 53, 10),
    ("identity crop", 30, 20, (4, 2, 16, 12), 16, 12),
    ("large factor", 200, 150, None, 7, 5),
    ("shorter side 73", 150, 100, None, 109, 73),
]


def main():
    rng = random.Random(20)
    out = []
    for name, w, h, crop, ow, oh in CASES:
        # Smooth content plus noise, so that every weight matters.
        pix = bytes(min(255, max(0, (x * 255 // w + y * 255 // h) // 2 + rng.randint(-40, 40))) for y in range(h) for x in range(w))
        img = Image.frombytes("L", (w, h), pix)
        if crop is not None:
            x0, y0, cw, ch = crop
            img = img.crop((x0, y0, x0 + cw, y0 + ch))
        res = img.resize((ow, oh), Image.BILINEAR)
        out.append({"name": name, "w": w, "h": h, "crop": list(crop) if crop else [0, 0, w, h],
                    "ow": ow, "oh": oh, "src": pix.hex(), "want": res.tobytes().hex()})
    path = os.path.join(os.path.dirname(__file__), "..", "..", "data", "testdata", "resize_pil.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
