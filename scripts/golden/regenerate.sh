#!/usr/bin/env bash
# Regenerates the PyTorch golden fixtures of package nn (nn/testdata/golden/* and the
# generated declarations nn/testdata/golden-decl/*, whose parameters, batch and module are
# made again by the tests and not committed):
# the Go side writes each case's spec export, initial parameters and batch, then PyTorch
# (Debian's python3-torch 1.13: apt-get install python3-torch) computes the references,
# and counts the parameters of every preset's exported module; it also rewrites package
# torchsave's torch.save fixture (scripts/golden/torchsave_fixture.py, deterministic).
# Go tests read the committed fixtures and never need Python.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf nn/testdata/golden-decl/decl*/
go test ./nn -run '^TestGolden(Decl)?Inputs$' -golden-write -count=1
for dir in nn/testdata/golden/*/ nn/testdata/golden-decl/*/; do
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
