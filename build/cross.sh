#!/usr/bin/env bash
# cross.sh ARCH: cross-compile every binary under cmd/ for the board with cgo
# (malgo/miniaudio for ALSA, libopus, libspeexdsp for hw/aec) using Debian's cross
# compilers and multiarch libopus and libspeexdsp (build/install-deps.sh installs them): edgevoice, edgevoice-provisiond (the key daemon)
# and edgevoice-broker (a server, built so it can run on an ARM server; not packaged).
#
#   ARCH  arm64 (Raspberry Pi 3/4/5, Zero 2 W on a 64-bit OS), armv7 (32-bit Pi OS), or
#         amd64 (x86-64 boards and the VM lab; built with the host's gcc)
#
# The binaries go to bin/linux-ARCH/, which is emptied first: it holds exactly what this
# run built, so a binary whose main was removed cannot be packaged from an old build.
# VERSION (default: git describe) is stamped into `edgevoice version`. The binaries are
# stripped, position-independent and linked with full RELRO (Debian's hardening flags);
# all are linked through the C toolchain (dynamic, PIE), also those that need cgo for libc
# only, because Debian refuses static binaries. go's build cache makes a rebuild of
# unchanged sources cheap, so callers always run this rather than reuse old binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:?usage: build/cross.sh arm64|armv7|amd64}
case $arch in
arm64) goarch=arm64 goarm= cc=aarch64-linux-gnu-gcc triplet=aarch64-linux-gnu ;;
armv7 | armhf) arch=armv7 goarch=arm goarm=7 cc=arm-linux-gnueabihf-gcc triplet=arm-linux-gnueabihf ;;
amd64 | x86_64) arch=amd64 goarch=amd64 goarm= cc=x86_64-linux-gnu-gcc triplet=x86_64-linux-gnu ;;
*)
	echo "cross: unknown ARCH $arch (want arm64, armv7 or amd64)" >&2
	exit 2
	;;
esac
out=bin/linux-$arch
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
command -v "$cc" >/dev/null || {
	echo "cross: $cc not found; run build/install-deps.sh" >&2
	exit 1
}
for pc in opus:libopus-dev speexdsp:libspeexdsp-dev; do
	[ -f "/usr/lib/$triplet/pkgconfig/${pc%%:*}.pc" ] || {
		echo "cross: /usr/lib/$triplet/pkgconfig/${pc%%:*}.pc missing (${pc#*:}:${goarch/arm/armhf}); run build/install-deps.sh" >&2
		exit 1
	}
done

rm -rf "$out"
mkdir -p "$out"
# pkg-config must see only the target's .pc files (PKG_CONFIG_LIBDIR replaces the
# default search path); headers are arch-independent and come from /usr/include.
env CGO_ENABLED=1 GOOS=linux GOARCH=$goarch GOARM=$goarm CC=$cc \
	PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig PKG_CONFIG_PATH= \
	go build -trimpath -buildmode=pie -tags "${TAGS:-nolibopusfile}" \
	-ldflags "-s -w -X github.com/edgevoice/edgevoice/internal/cli.version=$version -linkmode=external -extldflags '-Wl,-z,relro,-z,now'" \
	-o "$out/" ./cmd/...
for b in "$out"/*; do
	echo "cross: $b ($(du -h "$b" | cut -f1), $(file -b "$b" | cut -d, -f1-2))"
done
