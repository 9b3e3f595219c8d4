#!/usr/bin/env python3
"""Writes small CIFAR-10 and CIFAR-100 datasets in the two formats msdx reads, with the same
images and labels, into data/testdata/cifar/:

  cifar-10-batches-py/   data_batch_1..5, test_batch, batches.meta  (what torchvision downloads)
  cifar-10-batches-bin/  data_batch_1..5.bin, test_batch.bin, batches.meta.txt
  cifar-100-python/      train, test, meta
  cifar-100-binary/      train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt

The real pickles were written by Python 2's cPickle with protocol 2: dicts with byte-string
keys (b'data', b'labels', b'fine_labels', ...) whose strings are Python 2 str, i.e. BINSTRING
opcodes, and numpy uint8 arrays (N, 3072) reduced through numpy.core.multiarray._reconstruct.
Python 3 pickles bytes differently under protocol 2 (a _codecs.encode call), so this script
emits bytes as Python 2 did. Run with Debian's python3 and python3-numpy:

  /usr/bin/python3 scripts/golden/cifar_pickles.py
"""
import os
import pickle
import struct
import sys

import numpy as np

PER_BATCH = 3  # images per training batch (the real files have 10,000)
TEST = 4


class Py2Pickler(pickle._Pickler):
    """Pickles bytes and str as Python 2 pickled its str: SHORT_BINSTRING or BINSTRING."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_str(self, obj):
        # Python 2's str, which numpy's reduction uses for its dtype ("u1", "|").
        self.save_py2_str(obj.encode("latin1"))

    dispatch[str] = save_str


def dump(obj, path):
    with open(path, "wb") as f:
        Py2Pickler(f, protocol=2).dump(obj)


def images(rng, n):
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)


def main(root):
    rng = np.random.default_rng(20)
    c10_names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    py = os.path.join(root, "cifar-10-batches-py")
    bn = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(py, exist_ok=True)
    os.makedirs(bn, exist_ok=True)
    batches = [("data_batch_%d" % i, PER_BATCH) for i in range(1, 6)] + [("test_batch", TEST)]
    for name, n in batches:
        data = images(rng, n)
        labels = [int(x) for x in rng.integers(0, 10, size=n)]
        dump({b"batch_label": ("%s of 6" % name).encode(), b"labels": labels, b"data": data,
              b"filenames": [b"img_%d.png" % i for i in range(n)]}, os.path.join(py, name))
        with open(os.path.join(bn, name + ".bin"), "wb") as f:
            for lab, img in zip(labels, data):
                f.write(bytes([lab]) + img.tobytes())
    dump({b"num_cases_per_batch": PER_BATCH, b"label_names": c10_names, b"num_vis": 3072}, os.path.join(py, "batches.meta"))
    with open(os.path.join(bn, "batches.meta.txt"), "w") as f:
        f.write("".join(n.decode() + "\n" for n in c10_names) + "\n")

    fine = [("class_%02d" % i).encode() for i in range(100)]
    coarse = [("super_%02d" % i).encode() for i in range(20)]
    py = os.path.join(root, "cifar-100-python")
    bn = os.path.join(root, "cifar-100-binary")
    os.makedirs(py, exist_ok=True)
    os.makedirs(bn, exist_ok=True)
    for name, n in [("train", 5 * PER_BATCH), ("test", TEST)]:
        data = images(rng, n)
        fl = [int(x) for x in rng.integers(0, 100, size=n)]
        cl = [int(x) for x in rng.integers(0, 20, size=n)]
        dump({b"filenames": [b"img_%d.png" % i for i in range(n)], b"batch_label": name.encode(),
              b"fine_labels": fl, b"coarse_labels": cl, b"data": data}, os.path.join(py, name))
        with open(os.path.join(bn, name + ".bin"), "wb") as f:
            for c, l, img in zip(cl, fl, data):
                f.write(bytes([c, l]) + img.tobytes())
    dump({b"fine_label_names": fine, b"coarse_label_names": coarse}, os.path.join(py, "meta"))
    with open(os.path.join(bn, "fine_label_names.txt"), "w") as f:
        f.write("".join(n.decode() + "\n" for n in fine))
    with open(os.path.join(bn, "coarse_label_names.txt"), "w") as f:
        f.write("".join(n.decode() + "\n" for n in coarse))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "data", "testdata", "cifar"))
