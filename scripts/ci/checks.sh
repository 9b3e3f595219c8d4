#!/usr/bin/env bash
# checks.sh: what a reviewer checks besides the tests, run by .ci/run before them.
#
#   gofmt           no file needs formatting
#   go vet          on the default build, the purego build and arm64
#   go generate     leaves the tree unchanged: the committed assembly of the kernels
#                   (kernels/gen_simd.go, kernels/internal/gemm/gen_asm.go) is what its
#                   generators write
#   builds          -tags purego (the portable kernels only) and GOARCH=arm64 (no assembly)
#
# It fails on the first check that fails, saying which.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "scripts/ci/checks.sh: $*" >&2; exit 1; }

unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || fail "gofmt -l lists files to format:
$unformatted"

go vet ./... || fail "go vet failed"
go vet -tags purego ./... || fail "go vet -tags purego failed"
go build -tags purego ./... || fail "the purego build failed"
GOARCH=arm64 go build ./... || fail "the arm64 cross build failed"
GOARCH=arm64 go vet ./... || fail "go vet on arm64 failed"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  state() { git status --porcelain --untracked-files=all; git --no-pager diff; }
  before=$(state)
  go generate ./... || fail "go generate failed"
  after=$(state)
  if [ "$before" != "$after" ]; then
    git status --short >&2
    fail "go generate changed the tree: commit what the generators write (the kernels' assembly)"
  fi
else
  fail "not a git checkout: cannot tell whether go generate leaves the tree unchanged"
fi
