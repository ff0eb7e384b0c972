#!/usr/bin/env bash
# install-deps.sh — host packages the VM lab needs (build/vm/run.sh, make test-lab):
# mmdebstrap builds the guest's root filesystem from Debian's archive, qemu boots it under
# TCG, and the guest kernel's headers plus linux-source-6.1 build the out-of-tree modules
# Debian's kernel leaves out (gpio-sim, an isochronous dummy_hcd).
#
#   build/vm/install-deps.sh            # packages for the runner and the modules
#
# The guest kernel is the one linux-image-amd64 points at in this machine's apt sources
# (build/vm/kernel-version.sh prints it); its headers are installed here so that modules
# built on the host load in the guest. Idempotent: apt is touched only when something is
# missing. Run as root, or with sudo.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "vm/install-deps: not root and no sudo; install the packages below by hand" >&2
	fi
fi
APT=(-o DPkg::Lock::Timeout=900 -y -qq --no-install-recommends)
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# The guest kernel version needs current package indexes.
if ! kver=$(./kernel-version.sh 2>/dev/null); then
	echo "vm/install-deps: apt-get update (no linux-image-amd64 in the indexes yet)"
	$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
	kver=$(./kernel-version.sh)
fi

PKGS=(
	mmdebstrap debian-archive-keyring qemu-system-x86 qemu-utils seabios ipxe-qemu
	e2fsprogs jq xz-utils zstd gcc make libc6-dev bc
	linux-source-6.1 "linux-headers-$kver"
)
missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
	echo "vm/install-deps: all ${#PKGS[@]} packages present (guest kernel $kver)"
	exit 0
fi
echo "vm/install-deps: installing ${missing[*]}"
if ! $SUDO apt-get "${APT[@]}" install "${missing[@]}"; then
	# The indexes may be older than the archive (a kernel ABI bump): refresh once, retry.
	$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
	kver=$(./kernel-version.sh)
	missing=()
	for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
	missing[${#missing[@]}-1]="linux-headers-$kver"
	$SUDO apt-get "${APT[@]}" install "${missing[@]}"
fi
echo "vm/install-deps: done (guest kernel $kver)"
