#!/usr/bin/env python3
"""Measures PyTorch on an msdx-exported network: the peer of msdx's nn benchmarks.

scripts/bench/compare.sh runs it side by side with `msdx bench` and prints the ratios.

Usage:
  go run ./cmd/msdx export pytorch msdnet-cifar100-anytime > /tmp/m.py
  GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296 \
      /usr/bin/python3 scripts/bench/torch_peer.py /tmp/m.py [--batch 64] [--threads 1,2] [--steps 5]
      [--no-sgd] [--json]

For each thread count it prints one line per measurement:
  train      zero_grad + forward + summed per-exit cross-entropy + backward + an SGD step
             (lr 1e-3, momentum 0.9, weight decay 1e-4: what `msdx bench` times), training
             mode, batch statistics; with --no-sgd the step is left out (what msdx's
             BenchmarkTrainStep times);
  inference  evaluation-mode forward through all exits of the TorchScript-frozen module
             (torch.jit.freeze of torch.jit.script, or of torch.jit.trace if scripting fails),
             under torch.no_grad().
Each figure is images/s over --steps timed iterations after two warm-up iterations.
With --json it prints one JSON object per thread count instead:
  {"threads": N, "batch": B, "train_images_per_second": ..., "inference_images_per_second": ...}
The GLIBC_TUNABLES above are PyTorch's best case on this machine (huge pages, no trimming).
Needs Debian's python3-torch (1.13); float32 on the CPU.
"""
import argparse
import importlib.util
import json
import time

import torch
import torch.nn.functional as F


def load(path):
    spec = importlib.util.spec_from_file_location("msdx_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(fn, steps):
    for _ in range(2):
        fn()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="module written by msdx export pytorch")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--no-sgd", action="store_true", help="leave the SGD step out of training")
    ap.add_argument("--json", action="store_true", help="print one JSON object per thread count")
    args = ap.parse_args()

    mod = load(args.model)
    torch.manual_seed(1)
    c, h, w = mod.INPUT
    x = torch.randn(args.batch, c, h, w)
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        net = mod.Net()
        logits = net(x)
        labels = torch.randint(0, logits[0].shape[1], (args.batch,))

        net.train()
        sgd = None if args.no_sgd else torch.optim.SGD(
            net.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)

        def train_step():
            net.zero_grad(set_to_none=False)
            loss = sum(F.cross_entropy(z, labels) for z in net(x))
            loss.backward()
            if sgd is not None:
                sgd.step()

        dt = timed(train_step, args.steps)
        train_ips = args.batch / dt
        if not args.json:
            print(f"torch threads={threads} batch={args.batch} train {train_ips:.1f} images/s")

        net.eval()
        with torch.no_grad():
            try:
                frozen = torch.jit.freeze(torch.jit.script(net))
                how = "script"
            except Exception:  # scripting is not guaranteed for generated code
                frozen = torch.jit.freeze(torch.jit.trace(net, x))
                how = "trace"
            dt = timed(lambda: frozen(x), args.steps)
        infer_ips = args.batch / dt
        if args.json:
            print(json.dumps({"threads": threads, "batch": args.batch, "inference_how": how,
                              "train_images_per_second": train_ips,
                              "inference_images_per_second": infer_ips}))
        else:
            print(f"torch threads={threads} batch={args.batch} inference({how}) {infer_ips:.1f} images/s")


if __name__ == "__main__":
    main()
