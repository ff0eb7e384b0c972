#!/usr/bin/env bash
# install-deps.sh installs every Debian package that edgevoice's build and tests need and
# downloads the Go modules (the product's and the pinned build tools'). Run it once on a
# new machine (the README's set-up and .ci/run do; make never runs it). It is idempotent:
# packages already present are skipped, and apt is touched only when something is missing.
# Run as root (CI runs as root); otherwise it uses sudo when present.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "install-deps: not root and no sudo; install the packages below by hand" >&2
	fi
fi

# Host packages: audio (ALSA, libopus), tools used by tests, cross compilers and qemu,
# packaging checks, the reference DSP libraries for the side-by-side benchmarks
# (libwebrtc-audio-processing: make aec-compare; speexdsp is also hw/aec's echo canceller),
# and PostgreSQL's server binaries (the broker's store tests start a throwaway cluster).
HOST_PKGS=(
	pkg-config libasound2 libasound2-dev alsa-utils libopus0 libopus-dev libopusfile-dev
	libspeexdsp-dev libsoxr-dev libsamplerate0-dev libwebrtc-audio-processing-dev
	sox espeak-ng lintian systemd file
	postgresql-15
	gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross
	qemu-user-static
)
# Target libraries through Debian multiarch (the ARM builds link libopus and libspeexdsp).
ARCH_PKGS=(libopus-dev:arm64 libopus-dev:armhf libopus0:arm64 libopus0:armhf libasound2:arm64 libasound2:armhf
	libspeexdsp-dev:arm64 libspeexdsp-dev:armhf libspeexdsp1:arm64 libspeexdsp1:armhf)

missing=()
for p in "${HOST_PKGS[@]}" "${ARCH_PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#HOST_PKGS[@]}+${#ARCH_PKGS[@]} packages present"
else
	echo "install-deps: installing ${missing[*]}"
	for a in arm64 armhf; do
		dpkg --print-foreign-architectures | grep -qx "$a" || $SUDO dpkg --add-architecture "$a"
	done
	export DEBIAN_FRONTEND=noninteractive
	# A mirror in mid-sync can fail one index (seen for bookworm-security armhf); retry once,
	# then go on with what was fetched: the install below fails loudly if a package is missing.
	if ! $SUDO apt-get update -qq; then
		sleep 5
		$SUDO apt-get update -qq || echo "install-deps: warning: apt-get update reported errors; installing with the indexes it has" >&2
	fi
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
	echo "install-deps: done"
fi

# The VM lab's host packages (make test-lab, in CI's ci-extra): mmdebstrap, qemu, the guest
# kernel's headers and linux-source for its out-of-tree modules.
bash "$(dirname "$0")/vm/install-deps.sh"

# Go modules: the product's and the build tools' (build/tools/go.mod pins staticcheck and
# nfpm, run with `go tool -modfile=build/tools/go.mod`), downloaded once into go's module
# cache so the build and CI steps after this need no network.
cd "$(dirname "$0")/.."
go mod download
go mod download -modfile=build/tools/go.mod
echo "install-deps: Go modules in $(go env GOMODCACHE)"

# The libwebrtc interop check (rtc's TestLibwebrtcPeer) runs rtc/testdata/wrtcpeer/peer.js
# under Node.js with @roamhq/wrtc (libwebrtc's Node bindings, a prebuilt binary from the
# npm registry), installed once into the cache, never into the repository. Without node
# the test skips; with node it needs this.
WRTC_VERSION=0.10.0
wrtc_dir="${XDG_CACHE_HOME:-$HOME/.cache}/edgevoice/wrtc"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "install-deps: no node/npm: the libwebrtc interop test (rtc TestLibwebrtcPeer) will skip"
elif [ "$(cd / && node -p "require('$wrtc_dir/node_modules/@roamhq/wrtc/package.json').version" 2>/dev/null)" = "$WRTC_VERSION" ]; then
	echo "install-deps: @roamhq/wrtc $WRTC_VERSION present in $wrtc_dir"
else
	mkdir -p "$wrtc_dir"
	npm install --prefix "$wrtc_dir" --no-audit --no-fund --no-package-lock --loglevel=error "@roamhq/wrtc@$WRTC_VERSION"
	echo "install-deps: @roamhq/wrtc $WRTC_VERSION installed in $wrtc_dir"
fi
