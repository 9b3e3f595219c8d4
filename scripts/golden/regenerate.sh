#!/usr/bin/env bash
# Regenerates the PyTorch golden fixtures of package nn (nn/testdata/golden/*):
# the Go side writes each case's spec export, initial parameters and batch, then PyTorch
# (Debian's python3-torch 1.13: apt-get install python3-torch) computes the references,
# and counts the parameters of every preset's exported module; it also rewrites package
# torchsave's torch.save fixture (scripts/golden/torchsave_fixture.py, deterministic).
# Go tests read the committed fixtures and never need Python.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test ./nn -run '^TestGoldenInputs$' -golden-write -count=1
for dir in nn/testdata/golden/*/; do
  /usr/bin/python3 scripts/golden/torch_reference.py "$dir"
  echo "wrote ${dir}expected.safetensors"
done
exports=$(mktemp -d)
trap 'rm -rf "$exports"' EXIT
go build -o "$exports/msdx" ./cmd/msdx
for preset in $("$exports/msdx" presets | cut -f1); do
  "$exports/msdx" export pytorch "$preset" > "$exports/$preset.py"
done
/usr/bin/python3 scripts/golden/preset_params.py "$exports" nn/testdata/golden/preset_params.json
echo "wrote nn/testdata/golden/preset_params.json"
/usr/bin/python3 scripts/golden/torchsave_fixture.py
