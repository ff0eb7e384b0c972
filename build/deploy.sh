#!/usr/bin/env bash
# deploy.sh [--print-arch] HOST [DEBARCH] — build the .deb for the board, copy it to HOST
# (user@board, over ssh), install it, and show the units' status.
#
#   HOST     user@board; ssh and scp must reach it without a password prompt (sudo too)
#   DEBARCH  arm64, armhf or amd64; default: the board's, asked over ssh
#            (dpkg --print-architecture, uname -m, /proc/cpuinfo)
#   DEB      (environment) deploy this package instead of building one
#   --print-arch  only print the Debian architecture the board needs, and exit
#
# The board's dpkg architecture decides, not its kernel: a 64-bit kernel under a 32-bit
# Raspberry Pi OS (uname -m aarch64, dpkg armhf) gets the armhf package. An ARMv6 board
# (Raspberry Pi 1, Zero, Zero W) is refused here, before anything is built: the armhf
# package is built for ARMv7 (its preinst refuses it too).
#
# The install is non-interactive: a conffile the admin changed is kept when the package's
# version of it changed too (dpkg --force-confdef --force-confold; the new version lands
# next to it as .dpkg-dist), so an upgrade never stops at a prompt. The postinst restarts
# the units that were running (try-restart) and starts nothing the admin disabled; the
# package is reinstalled even when the version did not change, so a rebuilt package
# always lands.
set -euo pipefail
cd "$(dirname "$0")/.."

print_only=
if [ "${1:-}" = --print-arch ]; then
	print_only=1
	shift
fi
host=${1:-}
want=${2:-}
if [ -z "$host" ]; then
	echo "usage: build/deploy.sh [--print-arch] user@board [arm64|armhf|amd64]   (make deploy HOST=user@board [DEB_ARCH=...])" >&2
	exit 2
fi

# pick_arch DPKG_ARCH MACHINE CPUINFO_FILE: the package architecture for the board, or a
# message on stderr and status 1.
pick_arch() {
	local dpkgarch=$1 machine=$2 cpuinfo=$3 model part implementer
	model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' "$cpuinfo" | head -n 1)
	part=$(sed -n 's/^CPU part[[:space:]]*:[[:space:]]*//p' "$cpuinfo" | head -n 1)
	implementer=$(sed -n 's/^CPU implementer[[:space:]]*:[[:space:]]*//p' "$cpuinfo" | head -n 1)
	case $dpkgarch in
	arm64 | amd64)
		echo "$dpkgarch"
		;;
	armhf)
		# ARM11 cores (Pi 1, Zero, Zero W) say "CPU architecture: 7"; uname -m, the model
		# name and the CPU part tell them apart
		if [[ $machine == armv6* || $model == ARMv6* ||
			($implementer == 0x41 && $part =~ ^0xb(02|36|56|76)$) ]]; then
			echo "deploy: $host is an ARMv6 board (uname -m $machine${model:+, \"$model\"}): Raspberry Pi 1, Zero or Zero W." >&2
			echo "deploy: edgevoice's armhf package is built for ARMv7 and later (Pi 2, 3, 4, 5, Zero 2 W) and would die with SIGILL there; nothing was built or copied." >&2
			return 1
		fi
		echo armhf
		;;
	"")
		echo "deploy: $host did not answer dpkg --print-architecture (not a Debian-based system, or ssh failed)" >&2
		return 1
		;;
	*)
		echo "deploy: $host runs dpkg architecture $dpkgarch; edgevoice is packaged for arm64, armhf and amd64 only" >&2
		return 1
		;;
	esac
}

probe=$(mktemp)
trap 'rm -f "$probe"' EXIT
# one ssh round trip: dpkg's architecture, the kernel's machine, then the CPU description
if ! ssh "$host" 'dpkg --print-architecture; uname -m; cat /proc/cpuinfo' >"$probe"; then
	echo "deploy: ssh $host failed; check HOST (user@board) and that ssh works without a password" >&2
	exit 1
fi
boardarch=$(sed -n 1p "$probe")
machine=$(sed -n 2p "$probe")
sed -i 1,2d "$probe"
debarch=$(pick_arch "$boardarch" "$machine" "$probe")
if [ -n "$want" ]; then
	case $want in armv7) want=armhf ;; x86_64) want=amd64 ;; esac
	if [ "$want" != "$debarch" ]; then
		echo "deploy: DEB_ARCH=$want, but $host needs the $debarch package (dpkg --print-architecture: $boardarch); leave DEB_ARCH unset" >&2
		exit 1
	fi
fi
if [ -n "$print_only" ]; then
	echo "$debarch"
	exit 0
fi

if [ -n "${DEB:-}" ]; then
	deb=$DEB
	got=$(dpkg-deb -f "$deb" Architecture)
	if [ "$got" != "$debarch" ]; then
		echo "deploy: $deb is for $got; $host needs $debarch" >&2
		exit 1
	fi
else
	case $debarch in armhf) arch=armv7 ;; *) arch=$debarch ;; esac
	build/deb.sh "$arch"
	gitver=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
	deb=dist/edgevoice_$(build/debversion.sh "$gitver")_${debarch}.deb
fi
name=$(basename "$deb")
echo "deploy: $deb -> $host ($debarch, $machine)"
scp "$deb" "$host:/tmp/$name"
# shellcheck disable=SC2029 # $name is expanded here on purpose
ssh "$host" "set -e
	sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold /tmp/$name
	rm -f /tmp/$name
	edgevoice version
	sudo edgevoice check-config -q && echo 'config: OK'
	systemctl --no-pager status edgevoice-provisioning edgevoice || true
	edgevoice status || true"
