#!/usr/bin/env python3
"""Computes the PyTorch reference outputs for one msdx golden case.

Usage: /usr/bin/python3 scripts/golden/torch_reference.py CASE_DIR

CASE_DIR holds what the Go side wrote (go test ./nn -run TestGoldenInputs -golden-write):
  model.py            the module "msdx export pytorch" generated for the case's spec
  params.safetensors  msdx's initial parameters and batch-norm statistics
  batch.safetensors   "input" (N, C, H, W) float32 and "labels" (N,) int64
It writes CASE_DIR/expected.safetensors with, for a training-mode forward and backward of
the summed per-exit cross-entropy:
  logits/K            logits of exit K (N, classes), K = 1..EXITS
  loss/K              the mean cross-entropy of exit K (a 1-element tensor)
  grad/NAME           the gradient of every parameter, under msdx's name
  after/NAME          every batch-norm running statistic after the step
  eval_logits/K       logits of exit K in evaluation mode, with those statistics
and in the metadata the module's parameter count ("param_count") and, as JSON ("macs"), the
MACs of every module that runs on one image, counted from the module's own shapes under the
MSDNet/RANet op counter's rules (architectures.md §1): Conv2d Cin·Cout·k²·Hout·Wout/groups,
ReLU/GELU one per element, BatchNorm none, Avg/MaxPool2d k² per output element,
AdaptiveAvgPool2d one per input element, Linear in·out (+ out with a bias). Functions
(F.gelu, torch.sigmoid, products, cat, add, interpolate) are not modules and count nothing.
Needs Debian's python3-torch (1.13); runs on the CPU in float32.
"""
import importlib.util
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F


def read(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for key, v in header.items():
        if key == "__metadata__":
            continue
        dtype = {"F32": torch.float32, "I64": torch.int64}[v["dtype"]]
        begin, end = v["data_offsets"]
        out[key] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(v["shape"])
    return out


def write(path, tensors, meta):
    items = sorted(tensors.items())
    meta = dict(meta, generator="scripts/golden/torch_reference.py", torch=torch.__version__)
    header, offset = {"__metadata__": meta}, 0
    for key, t in items:
        n = t.numel() * 4
        header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, t in items:
            f.write(t.detach().to(torch.float32).contiguous().numpy().tobytes())
    os.replace(tmp, path)


def count_macs(net, x):
    """MACs per module name (msdx's node name) for one forward pass on x (one image)."""
    counts = {}
    handles = []

    def hook(name):
        def count(mod, inp, out):
            i = inp[0]
            if isinstance(mod, torch.nn.Conv2d):
                n = (mod.in_channels * mod.out_channels * mod.kernel_size[0] * mod.kernel_size[1]
                     * out.shape[2] * out.shape[3] // mod.groups)
            elif isinstance(mod, (torch.nn.ReLU, torch.nn.GELU)):
                n = i.numel()
            elif isinstance(mod, torch.nn.BatchNorm2d):
                n = 0
            elif isinstance(mod, (torch.nn.AvgPool2d, torch.nn.MaxPool2d)):
                k = mod.kernel_size if isinstance(mod.kernel_size, int) else mod.kernel_size[0]
                n = out.shape[1] * out.shape[2] * out.shape[3] * k * k
            elif isinstance(mod, torch.nn.AdaptiveAvgPool2d):
                n = i.numel()
            elif isinstance(mod, torch.nn.Linear) and "." in name:
                n = 0  # inside an MHSA module, which counts its linear maps itself
            elif isinstance(mod, torch.nn.Linear):
                n = mod.in_features * mod.out_features + (mod.out_features if mod.bias is not None else 0)
            elif type(mod).__name__ == "MHSA":
                # Every multiply-add of its linear maps and matrix products, as fvcore counts
                # (the reference hook counter cannot count attention).
                t, c = i.shape[2] * i.shape[3], i.shape[1]
                n = 4 * t * c * c + 2 * t * t * c
            elif type(mod).__name__ == "LayerScale":
                n = 0
            else:
                raise TypeError("no counting rule for %s" % type(mod).__name__)
            key = name.replace("__", "/")
            counts[key] = counts.get(key, 0) + n
        return count

    for name, m in net.named_modules():
        if name and (not list(m.children()) or type(m).__name__ == "MHSA"):
            handles.append(m.register_forward_hook(hook(name)))
    net.eval()
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return counts


def main(case):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    spec = importlib.util.spec_from_file_location("model", os.path.join(case, "model.py"))
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    net = model.Net()
    model.load_msdx(net, os.path.join(case, "params.safetensors"))
    batch = read(os.path.join(case, "batch.safetensors"))
    x, labels = batch["input"], batch["labels"]

    # A ReLU input within rounding of zero makes the gradient depend on how the last bit of
    # batch norm's output was rounded, which no two implementations need agree on: refuse
    # such a batch (change the case's seed on the Go side instead).
    closest = []
    for m in net.modules():
        if isinstance(m, torch.nn.ReLU):
            m.register_forward_hook(lambda mod, inp, outp: closest.append(inp[0].abs().min().item()))
    out = {}
    net.train()
    logits = net(x)
    if closest and min(closest) < 1e-6:
        sys.exit("%s: a ReLU input is %.3g from zero; pick another batch seed" % (case, min(closest)))
    losses = [F.cross_entropy(l, labels) for l in logits]
    sum(losses).backward()
    for k, (l, loss) in enumerate(zip(logits, losses), 1):
        out["logits/%d" % k] = l
        out["loss/%d" % k] = loss.reshape(1)
    for name, p in net.named_parameters():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        out["grad/" + name.replace("__", "/")] = g
    for name, b in net.named_buffers():
        if not name.endswith("num_batches_tracked"):
            out["after/" + name.replace("__", "/")] = b
    net.eval()
    with torch.no_grad():
        for k, l in enumerate(net(x), 1):
            out["eval_logits/%d" % k] = l
    params = sum(p.numel() for p in net.parameters())
    macs = count_macs(net, x[:1])
    write(os.path.join(case, "expected.safetensors"), out,
          {"param_count": str(params), "macs": json.dumps(macs, sort_keys=True)})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
