#!/usr/bin/env bash
# test-audio-arm64.sh: the tests under hw/audio built for arm64 with cgo (the Debian cross
# compiler) and run under qemu against the arm64 libasound from multiarch, real ALSA
# file-plugin tests included. build/test-arm.sh runs only cgo-free test binaries; this
# covers the ALSA path on the board's architecture. Work files: dist/test-audio-arm64/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/dist/test-audio-arm64
mkdir -p "$out"
command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64-static >/dev/null || {
	echo "test-audio-arm64: needs aarch64-linux-gnu-gcc and qemu-aarch64-static; run build/install-deps.sh" >&2
	exit 1
}
rm -f "$out"/*.test
# every test binary under hw/audio (-o DIR: one NAME.test per package with tests)
CC=aarch64-linux-gnu-gcc CGO_ENABLED=1 GOARCH=arm64 go test -tags "${TAGS:-nolibopusfile}" -c -o "$out/" ./hw/audio/...
cd "$out"
for t in ./*.test; do
	echo "test-audio-arm64: $t"
	timeout 300 qemu-aarch64-static -L / "$t" -test.count=1 -test.run 'ALSA|Clip|Convert|WAV|Reopen|Close'
done
