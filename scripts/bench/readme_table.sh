#!/usr/bin/env bash
# readme_table.sh: regenerates the performance tables of README.md, the one place their
# figures come from.
#
# The comparison table: for each preset it runs scripts/bench/compare.sh (FORMAT=markdown,
# both PyTorch wait policies) and replaces the lines between the markers
# "<!-- bench-table begin -->" and "<!-- bench-table end -->" with the table, the date, the
# CPU and the command.
#
# The scaling table: for each preset it runs `msdx bench --scaling` (the thread counts of
# THREADS measured interleaved, medians of ROUNDS rounds) and puts training and all-exit
# inference images/s, the speedup over the first thread count and the process CPU time per
# image between "<!-- scaling-table begin -->" and "<!-- scaling-table end -->". Other
# processes' load lowers the speedup but barely moves the CPU time per image: a flat CPU
# time per image means the threads added no work, and a low speedup beside it means they
# waited for cores that other processes held.
#
# Usage: scripts/bench/readme_table.sh [ROUNDS] [PRESET...]
#   ROUNDS   rounds per thread count (default 3)
#   PRESET   presets to measure (default msdnet-cifar100-anytime ranet-cifar10 addad-cifar10)
# The environment variables of compare.sh (THREADS, BATCH, MSDX_TIME, TORCH_STEPS) apply;
# SCALING_ONLY=1 regenerates the scaling table alone (no PyTorch).
set -euo pipefail

rounds=${1:-3}
shift || true
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(msdnet-cifar100-anytime ranet-cifar10 addad-cifar10)
threads=${THREADS:-1 2}
batch=${BATCH:-64}

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"

# replace BEGIN END FILE puts FILE between README.md's lines BEGIN and END.
replace() {
	/usr/bin/python3 -c '
import sys
readme, begin, end, table = sys.argv[1:5]
text = open(readme).read()
begin += "\n"
i, j = text.index(begin) + len(begin), text.index(end)
open(readme, "w").write(text[:i] + open(table).read() + text[j:])
' README.md "$1" "$2" "$3"
}

go build -o "$work/msdx" ./cmd/msdx
# The ratios depend on msdx's kernel path (AVX-512 kernels are about twice as fast as AVX2's):
# both tables name it.
kernels=$("$work/msdx" version | sed -n 's/.*kernels \([^)]*\)).*/\1/p')

if [ "${SCALING_ONLY:-}" != 1 ]; then
	{
		echo "| network | threads | pass | msdx img/s | PyTorch PASSIVE | PyTorch default | msdx / best PyTorch | load average before / after |"
		echo "|---|---|---|---|---|---|---|---|"
		for p in "${presets[@]}"; do
			FORMAT=markdown scripts/bench/compare.sh "$p" "$rounds"
		done
		echo
		echo "Measured $(date -u +%Y-%m-%d) on $cpu, msdx kernels $kernels,"
		echo "batch $batch, medians of $rounds rounds, PyTorch $(/usr/bin/python3 -c "import torch; print(torch.__version__)") with $(basename "$(dirname "$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu)")"),"
		echo "regenerated with \`scripts/bench/readme_table.sh $rounds\`."
	} >"$work/bench.md"
	replace "<!-- bench-table begin -->" "<!-- bench-table end -->" "$work/bench.md"
	cat "$work/bench.md"
fi

counts=$(echo $threads | tr ' ' ',')
for p in "${presets[@]}"; do
	echo "readme_table.sh: $p scaling curve, threads $counts, $rounds round(s)" >&2
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	"$work/msdx" bench "$p" --batch "$batch" --time "${MSDX_TIME:-1s}" --scaling "$counts" --rounds "$rounds" --json >"$work/$p.json"
	echo "$load_before / $(cut -d' ' -f1-3 /proc/loadavg)" >"$work/$p.load"
done
/usr/bin/python3 -c '
import datetime
import json
import sys

dir, cpu, cores, batch, rounds = sys.argv[1:6]
loaded = False
print("| network | threads | train img/s | train speedup | train CPU ms/image | inference img/s | inference speedup | inference CPU ms/image | load average before / after |")
print("|---|---|---|---|---|---|---|---|---|")
for p in sys.argv[6:]:
    res = json.load(open(f"{dir}/{p}.json"))
    load = open(f"{dir}/{p}.load").read().strip()
    loaded = loaded or max(float(x) for x in load.replace("/", " ").split()[:4:3]) >= float(cores) / 2
    base = res["scaling"][0]
    for s in res["scaling"]:
        row = [p, s["threads"],
               "%.1f" % s["train_images_per_second"],
               "%.2f" % (s["train_images_per_second"] / base["train_images_per_second"]),
               "%.2f" % (s["train_cpu_seconds_per_image"] * 1e3),
               "%.1f" % s["inference_images_per_second"],
               "%.2f" % (s["inference_images_per_second"] / base["inference_images_per_second"]),
               "%.2f" % (s["inference_cpu_seconds_per_image"] * 1e3), load]
        print("| " + " | ".join(str(x) for x in row) + " |")
print()
print("Measured %s on %s, kernels %s," % (datetime.date.today(), cpu, res["kernels"]))
print("batch %s, thread counts interleaved, medians of %s rounds," % (batch, rounds))
print("regenerated with `scripts/bench/readme_table.sh %s` (`SCALING_ONLY=1` for this table alone)." % rounds)
if loaded:
    print()
    print("**Measured on a loaded machine** (a 1-minute load average of at least half the %s cores):" % cores)
    print("the wall-clock speedups say how much CPU the other processes left, not how msdx scales;")
    print("the CPU time per image is the figure to read, and a flat one means the threads added no work.")
' "$work" "$cpu" "$(nproc)" "$batch" "$rounds" "${presets[@]}" >"$work/scaling.md"
replace "<!-- scaling-table begin -->" "<!-- scaling-table end -->" "$work/scaling.md"
cat "$work/scaling.md"
