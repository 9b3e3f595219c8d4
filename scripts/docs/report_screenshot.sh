#!/usr/bin/env bash
# report_screenshot.sh: regenerates docs/pareto-report.png, the README's picture of an
# "msdx pareto" report, in one command. It builds msdx, writes the report of the given run
# and study directories to docs/pareto-report.html (not committed) and screenshots it in
# headless chromium (Debian's package: apt-get install chromium).
#
# Usage: scripts/docs/report_screenshot.sh [DIR...]
#   DIR     run or study directories (default: the fixture report/testdata/study-ablate, a
#           real 2-epoch "msdx ablate --vary fusion,stem" on synthetic data; for the README,
#           the ablation study of the runner issue, e.g. studies/fusion-stem)
# Environment: HEIGHT (default 4200) and WIDTH (default 1280) of the browser window, in
# pixels; the screenshot shows the page's top HEIGHT pixels. CHROMIUM names the browser.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
dirs=("$@")
[ ${#dirs[@]} -eq 0 ] && dirs=(report/testdata/study-ablate)
browser=${CHROMIUM:-chromium}
command -v "$browser" >/dev/null || { echo "$0: no $browser (apt-get install chromium)" >&2; exit 1; }

go build -o bin/msdx ./cmd/msdx
bin/msdx pareto "${dirs[@]}" --out docs/pareto-report.html
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --user-data-dir="$profile" --window-size="${WIDTH:-1280},${HEIGHT:-4200}" \
  --screenshot="$root/docs/pareto-report.png" "file://$root/docs/pareto-report.html" 2>/dev/null
echo "wrote docs/pareto-report.png from ${dirs[*]}"
