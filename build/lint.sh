#!/usr/bin/env bash
# lint.sh [PACKAGES]: gofmt (no file may need formatting), go vet and staticcheck over the
# module (default ./...). staticcheck is pinned in build/tools/go.mod and run with
# `go tool`, so every machine and CI use the same version (2026.2.2, which knows Go 1.26).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=("${@:-./...}")
# the product's tags plus speexdsp: the benchmark-only reference resampler is linted too
tags=${TAGS:-nolibopusfile},speexdsp
fail=0

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "lint: gofmt -l lists files that need formatting (run gofmt -w):" >&2
	echo "$unformatted" | sed 's/^/  /' >&2
	fail=1
fi
go vet -tags "$tags" "${pkgs[@]}" || fail=1
go tool -modfile=build/tools/go.mod staticcheck -tags "$tags" "${pkgs[@]}" || fail=1
if [ $fail != 0 ]; then
	echo "lint: FAIL" >&2
	exit 1
fi
echo "lint: gofmt, go vet and staticcheck clean"
