#!/usr/bin/env bash
# install-deps.sh — host packages `make image`, `make flash` and `make test-image` need:
# mmdebstrap builds the arm64 tree from Debian's archive, qemu-user-static + binfmt-support
# run its maintainer scripts, dosfstools/mtools/e2fsprogs/fdisk assemble the partitions
# from files (no loop mounts), bmap-tools writes the .bmap, qemu-system-arm boots the image.
#
#   build/image/install-deps.sh
#
# Idempotent: apt is touched only when something is missing. Run as root, or with sudo.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "image/install-deps: not root and no sudo; install the packages below by hand" >&2
	fi
fi
APT=(-o DPkg::Lock::Timeout=900 -y -qq --no-install-recommends)
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

PKGS=(
	mmdebstrap debian-archive-keyring qemu-user-static binfmt-support arch-test
	dosfstools mtools e2fsprogs fdisk xz-utils bmap-tools
	qemu-system-arm jq device-tree-compiler
)
missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
	echo "image/install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi
echo "image/install-deps: installing ${missing[*]}"
if ! $SUDO apt-get "${APT[@]}" install "${missing[@]}"; then
	$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
	$SUDO apt-get "${APT[@]}" install "${missing[@]}"
fi
echo "image/install-deps: done"
