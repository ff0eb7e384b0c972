#!/usr/bin/env bash
# cross.sh ARCH [OUT] — cross-compile the edgevoice binary for the board with cgo
# (malgo/miniaudio for ALSA, libopus) using Debian's cross compilers and multiarch
# libopus (build/install-deps.sh installs both), and beside it the key daemon alone
# (tag provisiond: no WebRTC, audio, codec or GPIO code).
#
#   ARCH  arm64 (Raspberry Pi 3/4/5, Zero 2 W on a 64-bit OS) or armv7 (32-bit Pi OS)
#   OUT   output file (default bin/edgevoice-linux-ARCH; the daemon goes to
#         bin/edgevoice-provisiond-linux-ARCH)
#
# VERSION (default: git describe) is stamped into `edgevoice version`. The binary is
# stripped, position-independent and linked with full RELRO (Debian's hardening flags).
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:?usage: build/cross.sh arm64|armv7 [OUT]}
out=${2:-bin/edgevoice-linux-$arch}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}

case $arch in
arm64) goarch=arm64 goarm= cc=aarch64-linux-gnu-gcc triplet=aarch64-linux-gnu ;;
armv7 | armhf) goarch=arm goarm=7 cc=arm-linux-gnueabihf-gcc triplet=arm-linux-gnueabihf ;;
*)
	echo "cross: unknown ARCH $arch (want arm64 or armv7)" >&2
	exit 2
	;;
esac
command -v "$cc" >/dev/null || {
	echo "cross: $cc not found; run build/install-deps.sh" >&2
	exit 1
}
[ -f "/usr/lib/$triplet/pkgconfig/opus.pc" ] || {
	echo "cross: /usr/lib/$triplet/pkgconfig/opus.pc missing (libopus-dev:${goarch/arm/armhf}); run build/install-deps.sh" >&2
	exit 1
}

mkdir -p "$(dirname "$out")"
# pkg-config must see only the target's .pc files (PKG_CONFIG_LIBDIR replaces the
# default search path); headers are arch-independent and come from /usr/include.
env CGO_ENABLED=1 GOOS=linux GOARCH=$goarch GOARM=$goarm CC=$cc \
	PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig PKG_CONFIG_PATH= \
	go build -trimpath -buildmode=pie -tags "nolibopusfile ${EXTRA_TAGS:-}" \
	-ldflags "-s -w -X main.version=$version -linkmode=external -extldflags '-Wl,-z,relro,-z,now'" \
	-o "$out" ./cmd/edgevoice
echo "cross: $out ($(du -h "$out" | cut -f1), $(file -b "$out" | cut -d, -f1-2))"
kout=$(dirname "$out")/$(basename "$out" | sed 's/^edgevoice/edgevoice-provisiond/')
[ "$kout" != "$out" ] || kout=$out-provisiond
# linked like the main binary (cgo for libc only: PIE, full RELRO, dynamic; Debian
# refuses static binaries), although nothing in it needs cgo
env CGO_ENABLED=1 GOOS=linux GOARCH=$goarch GOARM=$goarm CC=$cc \
	go build -trimpath -buildmode=pie -tags "provisiond ${EXTRA_TAGS:-}" \
	-ldflags "-s -w -X main.version=$version -linkmode=external -extldflags '-Wl,-z,relro,-z,now'" \
	-o "$kout" ./cmd/edgevoice
echo "cross: $kout ($(du -h "$kout" | cut -f1), $(file -b "$kout" | cut -d, -f1-2))"
