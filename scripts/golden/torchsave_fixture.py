#!/usr/bin/python3
"""Writes torchsave/testdata/checkpoint.pth.tar, the fixture of package torchsave's tests, and
checkpoint-legacy.pth.tar, the same in torch.save's legacy (pre-1.6) format:
a dict shaped like the reference repositories' checkpoints (epoch, arch, a state_dict in an
OrderedDict with DataParallel's "module." prefix, best_prec1, an SGD optimizer state),
plus the cases a reader must get right: a transposed (strided) view, two views of one
storage, a view at an offset, int64, float64, int32, bool and empty tensors, negative and
large integers, None, booleans and nested lists. Every tensor holds arange values, so the
Go test knows them without reading this script's output.

Run with Debian's python3-torch 1.13: /usr/bin/python3 scripts/golden/torchsave_fixture.py
"""
import collections
import os

import torch

out = os.path.join(os.path.dirname(__file__), "..", "..", "torchsave", "testdata", "checkpoint.pth.tar")

base = torch.arange(24, dtype=torch.float32)
sd = collections.OrderedDict()
sd["module.conv.weight"] = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
sd["module.bn.running_mean"] = base[:4]           # a view of base's storage
sd["module.bn.running_var"] = base[4:8]           # another view, at offset 4
sd["module.bn.num_batches_tracked"] = torch.tensor(3, dtype=torch.int64)
sd["module.linear.weight"] = torch.arange(6, dtype=torch.float32).reshape(2, 3).t()  # strided
sd["module.double"] = torch.arange(3, dtype=torch.float64) / 4
sd["module.int"] = torch.tensor([-2, 7], dtype=torch.int32)
sd["module.mask"] = torch.tensor([True, False, True])
sd["module.empty"] = torch.zeros(0, 5)
state = {
    "epoch": 3,
    "arch": "msdnet",
    "state_dict": sd,
    "best_prec1": 12.5,
    "optimizer": {
        "state": {0: {"momentum_buffer": torch.arange(4, dtype=torch.float32)}},
        "param_groups": [{"lr": 0.1, "momentum": 0.9, "nesterov": False, "dampening": 0,
                          "maximize": None, "params": [0, 1]}],
    },
    "big": 2**40,
    "negative": -5,
}
torch.save(state, out)
print("wrote", os.path.normpath(out))
# The same in the legacy format (PyTorch before 1.6).
legacy = out.replace("checkpoint.pth.tar", "checkpoint-legacy.pth.tar")
torch.save(state, legacy, _use_new_zipfile_serialization=False)
print("wrote", os.path.normpath(legacy))
