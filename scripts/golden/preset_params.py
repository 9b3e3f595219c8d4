#!/usr/bin/env python3
"""Counts the parameters of every preset's exported PyTorch module.

Usage: /usr/bin/python3 scripts/golden/preset_params.py EXPORT_DIR OUT.json

EXPORT_DIR holds NAME.py files written by "msdx export pytorch NAME"; OUT.json maps each
NAME to sum(p.numel() for p in Net().parameters()). nn's tests compare the counts with the
cost model's, without Python.
"""
import importlib.util
import json
import os
import sys

import torch  # noqa: F401  (imported by the modules)


def main(export_dir, out):
    counts = {}
    for name in sorted(os.listdir(export_dir)):
        if not name.endswith(".py"):
            continue
        spec = importlib.util.spec_from_file_location("m", os.path.join(export_dir, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        counts[name[:-3]] = sum(p.numel() for p in mod.Net().parameters())
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(counts, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
