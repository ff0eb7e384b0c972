#!/usr/bin/env bash
# rootfs.sh — build (or reuse) the lab's Debian bookworm amd64 system: an ext4 image of a
# minbase tree made by mmdebstrap from this machine's apt sources, with systemd, udev,
# Debian's kernel (exactly linux-image-<build/vm/kernel-version.sh>), ALSA and gpiod
# tools, jq and the libraries the edgevoice package depends on (so apt installs the .deb
# in the guest without a network), plus the lab's marker unit (build/vm/guest/).
#
#   build/vm/rootfs.sh          # prints the cache directory holding rootfs.img, vmlinuz, initrd.img
#
# The result is cached under $EDGEVOICE_VM_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/edgevoice/vm)
# in rootfs-<hash>, the hash covering this script, build/vm/guest/, the package list, the
# kernel version and the apt sources; anything else reuses it. Needs root (mmdebstrap's
# root mode keeps owners; no loop mounts are used).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${EDGEVOICE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgevoice/vm}
kver=$("$here/kernel-version.sh")

PKGS=(
	systemd-sysv udev dbus kmod "linux-image-$kver" initramfs-tools zstd
	alsa-utils gpiod usbutils iproute2 procps jq psmisc less
	libasound2 libopus0 libspeexdsp1 libc6 ca-certificates
)
sources=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -i -E 'debian' || true)
key=$({
	cat "$0"
	(cd "$here/guest" && find . -type f | sort | xargs sha256sum)
	echo "${PKGS[*]}"
	echo "$kver"
	echo "$sources"
} | sha256sum | cut -c1-16)
dir=$cache/rootfs-$key
if [ -f "$dir/ok" ]; then
	echo "rootfs: cached $dir (kernel $kver)" >&2
	echo "$dir"
	exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/rootfs-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s)
echo "rootfs: building bookworm amd64 with mmdebstrap (kernel $kver; about a minute, progress below)" >&2
# Debian's own sources only: deb.debian.org lines from this machine's apt configuration
# (bookworm, -updates, -security), as a deb822 file mmdebstrap reads.
srcfile=$tmp/debian.sources
for f in /etc/apt/sources.list.d/*.sources; do
	[ -e "$f" ] || continue
	awk -v RS= -v ORS='\n\n' '/URIs:[^\n]*debian/' "$f"
done >"$srcfile"
if [ -e /etc/apt/sources.list ]; then
	grep -E '^deb [^#]*debian' /etc/apt/sources.list >"$tmp/debian.list" || true
fi
srcargs=()
[ -s "$srcfile" ] && srcargs+=("$srcfile")
[ -s "$tmp/debian.list" ] && srcargs+=("$tmp/debian.list")
[ ${#srcargs[@]} -gt 0 ] || {
	echo "rootfs: no Debian apt sources in /etc/apt" >&2
	exit 1
}
# Downloaded .debs are kept between builds (synced in and out of the tree's apt cache).
mkdir -p "$cache/apt-archives"
mmdebstrap --variant=minbase --architectures=amd64 --mode=root \
	--include="$(
		IFS=,
		echo "${PKGS[*]}"
	)" \
	--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
	--setup-hook="sync-in $cache/apt-archives /var/cache/apt/archives" \
	--customize-hook="sync-out /var/cache/apt/archives $cache/apt-archives" \
	--customize-hook='echo edgevoice-lab >"$1/etc/hostname"' \
	--customize-hook='echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$1/etc/fstab"' \
	--customize-hook='printf "9p\n9pnet\n9pnet_virtio\n" >"$1/etc/modules-load.d/lab-9p.conf"' \
	--customize-hook='chroot "$1" passwd -d root' \
	--customize-hook="tar -C $here/guest -cf - . | tar -C \"\$1\" -xf -" \
	--customize-hook='chroot "$1" systemctl enable edgevoice-lab.service' \
	--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer 2>/dev/null || true' \
	--customize-hook='cp -L "$1/vmlinuz" "$1/initrd.img" "$1/../" 2>/dev/null || cp -L "$1"/boot/vmlinuz-* "$1/../vmlinuz" && cp -L "$1"/boot/initrd.img-* "$1/../initrd.img"' \
	bookworm "$tmp/tree" "${srcargs[@]}" 2>&1 | sed -u 's/^/rootfs: /' >&2
t1=$(date +%s)
ls -l "$tmp/vmlinuz" "$tmp/initrd.img" >/dev/null
truncate -s 3G "$tmp/rootfs.img"
mke2fs -q -F -t ext4 -L lab -d "$tmp/tree" "$tmp/rootfs.img"
rm -rf "$tmp/tree" "$srcfile" "$tmp/debian.list"
echo "$kver" >"$tmp/kernel-version"
printf '{"mmdebstrap_s":%d,"mke2fs_s":%d}\n' $((t1 - t0)) $(($(date +%s) - t1)) >"$tmp/build-times.json"
touch "$tmp/ok"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "rootfs: built $dir in $(($(date +%s) - t0)) s" >&2
echo "$dir"
