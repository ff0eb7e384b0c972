#!/usr/bin/env bash
# base.sh — build (or reuse) the image's Debian bookworm arm64 base tree: every package the
# image carries except edgevoice itself, made by mmdebstrap from this machine's Debian apt
# sources (+ non-free-firmware), run under qemu-user through binfmt_misc. Prints the path of
# the cached tarball (owners, modes and xattrs kept).
#
#   build/image/base.sh        # -> ~/.cache/edgevoice/image/base-<hash>/base.tar
#
# The cache key covers the package list, the mmdebstrap options (the recipe below) and the
# apt sources: changing one rebuilds; anything else (the .deb, the overlay, the first-boot
# files, comments here) reuses it. Downloaded
# .debs are kept in ~/.cache/edgevoice/image/apt-archives between builds. About 16 min cold
# on a 2-core machine (every maintainer script and the initramfs run under qemu-user).
set -euo pipefail
prog=image/base
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap --mode=root keeps owners; no loop mounts are used)"
cache=${EDGEVOICE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgevoice/image}

# What the board runs besides edgevoice. Kernel + boot firmware (raspi-firmware copies the
# kernel, initrd and device trees to /boot/firmware), Wi-Fi firmware and regulatory data,
# systemd-networkd + wpa_supplicant (lighter than NetworkManager), timesyncd (TLS needs a
# clock; the Pi has no RTC), resolved (DNS for networkd), ssh (disabled until first boot
# gets a key), the libraries edgevoice links (every Depends of the .deb: the image installs
# it offline, so a library missing here fails the build), ALSA/GPIO/USB tools for diagnosis.
PKGS=(
	systemd-sysv udev dbus kmod netbase
	linux-image-arm64 initramfs-tools zstd raspi-firmware
	firmware-brcm80211 wireless-regdb wpasupplicant iw
	systemd-timesyncd systemd-resolved openssh-server sudo
	libasound2 libopus0 libspeexdsp1 ca-certificates
	alsa-utils gpiod usbutils iproute2 iputils-ping procps less
	e2fsprogs dosfstools fdisk
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
srcfile=$(debian_sources "$tmp")
# the recipe: bump RECIPE when the mmdebstrap command below changes in any other way
RECIPE=2
DPKGOPTS=(
	'path-exclude=/usr/share/man/*'
	'path-exclude=/usr/share/locale/*'
	'path-include=/usr/share/locale/locale.alias'
	'path-exclude=/usr/share/doc/*'
	'path-include=/usr/share/doc/*/copyright'
	'path-exclude=/usr/share/info/*'
)
key=$({
	echo "recipe $RECIPE bookworm arm64 minbase"
	echo "${PKGS[*]}"
	echo "${DPKGOPTS[*]}"
	cat "$srcfile"
} | sha256sum | cut -c1-16)
dir=$cache/base-$key
if [ -f "$dir/ok" ]; then
	log "cached $dir"
	echo "$dir/base.tar"
	exit 0
fi
ensure_binfmt
mkdir -p "$cache/apt-archives"
out=$(mktemp -d "$cache/base-build.XXXXXX")
trap 'rm -rf "$tmp" "$out"' EXIT
t0=$(date +%s)
log "building bookworm arm64 with mmdebstrap under qemu-user (about 16 min cold; progress below)"
# The initramfs is made once, at the end (the kernel's postinst and two triggers would make
# it three times, ~5 min each under qemu-user): update-initramfs is diverted to a no-op
# while packages install. Its post-update hook (raspi-firmware) then fills /boot/firmware.
# The base's own timestamps do not matter: build.sh clamps every mtime to the commit's.
mmdebstrap --variant=minbase --architectures=arm64 --mode=root --format=tar \
	--include="$(
		IFS=,
		echo "${PKGS[*]}"
	)" \
	"${DPKGOPTS[@]/#/--dpkgopt=}" \
	--setup-hook='mkdir -p "$1/var/cache/apt/archives" "$1/boot/firmware"' \
	--setup-hook="sync-in $cache/apt-archives /var/cache/apt/archives" \
	--essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs' \
	--essential-hook='printf "#!/bin/sh\necho \"update-initramfs: deferred to the end of the build\"\n" >"$1/usr/sbin/update-initramfs"; chmod 0755 "$1/usr/sbin/update-initramfs"' \
	--customize-hook="sync-out /var/cache/apt/archives $cache/apt-archives" \
	--customize-hook='rm "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs' \
	--customize-hook='chroot "$1" update-initramfs -c -k "$(ls "$1/lib/modules" | sort -V | tail -1)"' \
	--customize-hook='ls "$1"/boot/initrd.img-* "$1"/boot/firmware/vmlinuz-* "$1"/boot/firmware/initrd.img-* "$1"/boot/firmware/config.txt' \
	--customize-hook='chroot "$1" dpkg-query -W -f="\${Package} \${Version}\n" >'"$out/packages.txt" \
	bookworm "$out/base.tar" "$srcfile" 2>&1 | sed -u 's/^/image\/base: /' >&2
[ -s "$out/base.tar" ] || die "mmdebstrap wrote no tarball"
printf '{"mmdebstrap_s":%d}\n' $(($(date +%s) - t0)) >"$out/build-times.json"
touch "$out/ok"
rm -rf "$dir"
mv "$out" "$dir"
trap 'rm -rf "$tmp"' EXIT
log "built $dir in $(($(date +%s) - t0)) s"
echo "$dir/base.tar"
