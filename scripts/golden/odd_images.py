#!/usr/bin/env python3
"""Writes small images in the colour models and encodings Go's encoders do not produce, for
the image-folder tests (data/testdata/images/): a CMYK JPEG (as Photoshop writes them, Adobe
inverted), a progressive JPEG, a grey 16-bit PNG and a palette PNG. Run with Debian's
python3-pil:

  /usr/bin/python3 scripts/golden/odd_images.py
"""
import os

from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "data", "testdata", "images")


def gradient(w, h):
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 255) // w, (y * 255) // h, ((x + y) * 127) // (w + h)) for y in range(h) for x in range(w)])
    return img


def main():
    os.makedirs(OUT, exist_ok=True)
    gradient(40, 30).convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=90)
    gradient(48, 36).save(os.path.join(OUT, "progressive.jpg"), quality=90, progressive=True)
    grey = gradient(24, 18).convert("L")
    Image.frombytes("I;16", grey.size, bytes(b for v in grey.tobytes() for b in (v, v))).save(os.path.join(OUT, "grey16.png"))
    gradient(20, 26).convert("P", palette=Image.ADAPTIVE, colors=16).save(os.path.join(OUT, "palette.png"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
