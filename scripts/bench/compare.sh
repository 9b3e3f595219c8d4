#!/usr/bin/env bash
# compare.sh: msdx against PyTorch 1.13 on the same architecture, side by side, in one command.
#
# Usage: scripts/bench/compare.sh [PRESET] [ROUNDS]
#   PRESET  a preset or spec file (default msdnet-cifar100-anytime)
#   ROUNDS  measurement rounds per thread count (default 3)
# Environment:
#   THREADS      thread counts to measure (default "1 2")
#   BATCH        images per pass (default 64)
#   MSDX_TIME    minimum time per msdx measurement, a Go duration (default 1s)
#   TORCH_STEPS  timed PyTorch iterations per measurement (default 5)
#   FORMAT       "text" (default) or "markdown": table rows for the README (see
#                scripts/bench/readme_table.sh), without a header
#
# Debian's python3-torch links the BLAS that the alternatives system selects; with the
# reference libblas3 its matrix products run at ~6 GFLOP/s instead of ~100-190 with
# OpenBLAS, so the peer's best case needs `apt-get install libopenblas0-openmp` (this script
# warns otherwise and prints the BLAS it found).
#
# PyTorch is measured under both OpenMP wait policies, OMP_WAIT_POLICY=PASSIVE and libgomp's
# default (the variable unset: threads spin a while before sleeping), since neither is its
# best case everywhere: spinning wins on an idle machine with 2 threads, and collapses when
# another process shares the cores (measured at load 3.7 on 2 cores: 4 training images/s
# instead of 62 with PASSIVE). Each row's ratio is msdx against the BETTER of the two, per
# round; both PyTorch figures are shown.
#
# It builds msdx, exports the preset as a PyTorch module (msdx export pytorch), then for each
# round and thread count N runs `msdx bench PRESET --batch B --threads N --json` and
# scripts/bench/torch_peer.py under each policy (Debian's /usr/bin/python3 with
# python3-torch; PyTorch's best allocator settings; TorchScript-frozen inference) back to
# back, rotating which of the three goes first, since the machine's load drifts. Both
# training figures time zero-grad, forward, the summed per-exit cross-entropy, backward and
# an SGD step (lr 1e-3, momentum 0.9, weight decay 1e-4); both inference figures are
# evaluation-mode passes through all exits. It prints the median images/s of each peer and
# the median of the per-round msdx/best-PyTorch ratios, with the load average before and
# after.
set -euo pipefail

preset=${1:-msdnet-cifar100-anytime}
rounds=${2:-3}
threads=${THREADS:-1 2}
batch=${BATCH:-64}
msdx_time=${MSDX_TIME:-1s}
torch_steps=${TORCH_STEPS:-5}
format=${FORMAT:-text}

root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$root"
go build -o "$tmp/msdx" ./cmd/msdx
"$tmp/msdx" export pytorch "$preset" >"$tmp/model.py"
blas=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || echo unknown)
case $blas in
*openblas* | *blis* | *mkl*) ;;
*) echo "compare.sh: warning: PyTorch's BLAS is $blas, not an optimised one: install libopenblas0-openmp" >&2 ;;
esac
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

run_msdx() { # threads round
	"$tmp/msdx" bench "$preset" --batch "$batch" --threads "$1" --time "$msdx_time" --json >"$tmp/msdx-$1-$2.json"
}
run_torch() { # threads round policy (passive|default)
	local policy=(-u OMP_WAIT_POLICY)
	[ "$3" = passive ] && policy=(OMP_WAIT_POLICY=PASSIVE)
	env "${policy[@]}" GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296 \
		/usr/bin/python3 scripts/bench/torch_peer.py "$tmp/model.py" --batch "$batch" --threads "$1" \
		--steps "$torch_steps" --json >"$tmp/torch-$3-$1-$2.json"
}

for r in $(seq 1 "$rounds"); do
	for n in $threads; do
		echo "compare.sh: $preset round $r/$rounds, $n thread(s)" >&2
		order=("run_msdx $n $r" "run_torch $n $r passive" "run_torch $n $r default")
		for i in 0 1 2; do
			${order[$(((i + r - 1) % 3))]}
		done
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$tmp" "$preset" "$batch" "$rounds" "$load_before" "$load_after" "$format" "$blas" $threads <<'EOF'
import json
import statistics
import sys

tmp, preset, batch, rounds, load_before, load_after, fmt, blas = sys.argv[1:9]
threads = [int(t) for t in sys.argv[9:]]
rounds = int(rounds)


def msdx(n, r):
    with open(f"{tmp}/msdx-{n}-{r}.json") as f:
        res = json.load(f)
    return res["train_images_per_second"], res["exits"][-1]["images_per_second"], res["kernels"]


def torch(policy, n, r):
    with open(f"{tmp}/torch-{policy}-{n}-{r}.json") as f:
        res = json.loads(f.read().strip().splitlines()[-1])
    return res["train_images_per_second"], res["inference_images_per_second"]


med = statistics.median
if fmt == "text":
    print(f"{preset}, batch {batch}, {rounds} round(s), medians; load average {load_before} before, {load_after} after")
    print(f"{'threads':>7}  {'pass':<9} {'msdx img/s':>10} {'torch PASSIVE':>13} {'torch default':>13} "
          f"{'msdx/best':>9}  per-round ratios")
for n in threads:
    m = [msdx(n, r) for r in range(1, rounds + 1)]
    tp = [torch("passive", n, r) for r in range(1, rounds + 1)]
    td = [torch("default", n, r) for r in range(1, rounds + 1)]
    for i, name in enumerate(["train", "inference"]):
        ms, ps, ds = [x[i] for x in m], [x[i] for x in tp], [x[i] for x in td]
        ratios = [a / max(p, d) for a, p, d in zip(ms, ps, ds)]
        if fmt == "markdown":
            print(f"| {preset} | {n} | {name} | {med(ms):.1f} | {med(ps):.1f} | {med(ds):.1f} | "
                  f"{med(ratios):.2f} | {load_before} / {load_after} |")
        else:
            print(f"{n:>7}  {name:<9} {med(ms):>10.1f} {med(ps):>13.1f} {med(ds):>13.1f} "
                  f"{med(ratios):>9.2f}  {' '.join(f'{x:.2f}' for x in ratios)}")
if fmt == "text":
    print(f"msdx kernels: {m[0][2]}; PyTorch BLAS: {blas}; msdx/best = msdx over the better PyTorch policy, per round; "
          "inference = one evaluation pass through all exits")
EOF
