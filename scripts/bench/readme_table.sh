#!/usr/bin/env bash
# readme_table.sh: regenerates the performance table of README.md, the one place its figures
# come from. For each preset it runs scripts/bench/compare.sh (FORMAT=markdown, both PyTorch
# wait policies) and replaces the lines between the markers "<!-- bench-table begin -->" and
# "<!-- bench-table end -->" with the table, the date, the CPU and the command.
#
# Usage: scripts/bench/readme_table.sh [ROUNDS] [PRESET...]
#   ROUNDS   rounds per thread count (default 3)
#   PRESET   presets to measure (default msdnet-cifar100-anytime ranet-cifar10 addad-cifar10)
# The environment variables of compare.sh (THREADS, BATCH, MSDX_TIME, TORCH_STEPS) apply.
set -euo pipefail

rounds=${1:-3}
shift || true
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(msdnet-cifar100-anytime ranet-cifar10 addad-cifar10)

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
table=$(mktemp)
trap 'rm -f "$table"' EXIT
{
	echo "| network | threads | pass | msdx img/s | PyTorch PASSIVE | PyTorch default | msdx / best PyTorch | load average before / after |"
	echo "|---|---|---|---|---|---|---|---|"
	for p in "${presets[@]}"; do
		FORMAT=markdown scripts/bench/compare.sh "$p" "$rounds"
	done
	echo
	echo "Measured $(date -u +%Y-%m-%d) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores,"
	echo "batch ${BATCH:-64}, medians of $rounds rounds, PyTorch $(/usr/bin/python3 -c "import torch; print(torch.__version__)") with $(basename "$(dirname "$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu)")"),"
	echo "regenerated with \`scripts/bench/readme_table.sh $rounds\`."
} >"$table"
/usr/bin/python3 - README.md "$table" <<'EOF'
import sys
readme, table = sys.argv[1:3]
text = open(readme).read()
begin, end = "<!-- bench-table begin -->\n", "<!-- bench-table end -->"
i, j = text.index(begin) + len(begin), text.index(end)
open(readme, "w").write(text[:i] + open(table).read() + text[j:])
EOF
cat "$table"
