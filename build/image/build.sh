#!/usr/bin/env bash
# build.sh — the flashable Raspberry Pi image (make image):
#   dist/edgevoice-<version>-rpi-arm64.img.xz, .img.xz.sha256 and .bmap
#
#   build/image/build.sh [--deb FILE.deb] [--keep]
#
# Debian bookworm arm64 (base.sh: mmdebstrap from this machine's Debian sources +
# non-free-firmware; cached) + the arm64 edgevoice .deb (build/deb.sh arm64) installed with
# apt in the tree, so its postinst, sysusers, tmpfiles and udev rules run as on a device,
# + this directory's rootfs/ overlay (first-boot setup, networkd, journald). Then, with no
# loop mounts: the FAT boot partition from the tree's /boot/firmware (mkfs.vfat -C +
# mcopy), the ext4 root from the tree (mke2fs -d), both put into an MBR disk file (sfdisk,
# dd conv=notrunc). Reproducible for a given commit and package set: timestamps are the
# commit's (SOURCE_DATE_EPOCH), UUIDs, serials, hash seeds and the disk id are fixed.
#   --deb FILE   use this arm64 .deb instead of building one
#   --keep       keep the work directory (tree, partitions) for inspection
#   --fs-only    stop after the file systems (implies --keep; to compare two builds)
# Needs root (owners in the tree). Host packages: build/image/install-deps.sh.
set -euo pipefail
prog=image
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
cd "$root"
[ "$(id -u)" = 0 ] || die "needs root (owners and modes in the tree; mmdebstrap --mode=root); no loop mounts are used"

deb="" keep="" fsonly=""
while [ $# -gt 0 ]; do
	case $1 in
	--deb) deb=$(realpath "$2") && shift ;;
	--keep) keep=1 ;;
	--fs-only) keep=1 fsonly=1 ;;
	*) die "usage: build/image/build.sh [--deb FILE.deb] [--keep] [--fs-only]" ;;
	esac
	shift
done
for t in mmdebstrap mke2fs mkfs.vfat mcopy sfdisk bmaptool xz debugfs dtc fdtoverlay; do
	command -v $t >/dev/null || die "$t missing: run build/image/install-deps.sh"
done

cache=${EDGEVOICE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgevoice/image}
gitver=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
out=dist/edgevoice-$gitver-rpi-arm64.img
BOOT_MIB=256 # firmware + kernel + initrd ≈ 80 MB; room for one kernel upgrade

t0=$(date +%s)
# 1. the package
if [ -z "$deb" ]; then
	VERSION=$gitver build/deb.sh arm64 >&2
	deb=$(ls -t dist/edgevoice_*_arm64.deb | head -1)
fi
[ -f "$deb" ] || die "no arm64 .deb ($deb)"
log "package $deb"
t_deb=$(date +%s)

# 2. the base tree (cached) and binfmt for the chroot
base=$(build/image/base.sh)
ensure_binfmt
t_base=$(date +%s)

mkdir -p "$cache" dist
work=$(mktemp -d "$cache/work.XXXXXX")
cleanup() { [ -n "$keep" ] && log "work directory kept: $work" || rm -rf "$work"; }
trap cleanup EXIT
tree=$work/tree
mkdir "$tree"
tar -C "$tree" --numeric-owner --xattrs --xattrs-include='*' -xpf "$base"

# 3. edgevoice through apt, the overlay, the boot configuration — in a private mount
# namespace (the bind mounts vanish with it, even on failure)
cp "$deb" "$tree/tmp/edgevoice.deb"
tar -C "$here/rootfs" --owner=0 --group=0 -cf - . | tar -C "$tree" -xpf -
install -D -m 0644 "$here/README.md" "$tree/usr/share/doc/edgevoice-image/README.md"
printf 'edgevoice image %s (git %s), built from Debian bookworm arm64\n' "$gitver" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" >"$tree/etc/edgevoice-image-release"
cat >"$tree/etc/fstab" <<EOT
# <file system>          <mount point>   <type> <options>                        <dump> <pass>
PARTUUID=${DISK_ID#0x}-02  /               ext4   rw,noatime,errors=remount-ro     0      1
PARTUUID=${DISK_ID#0x}-01  /boot/firmware  vfat   rw,noatime,umask=0077,flush      0      2
EOT
echo edgevoice >"$tree/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tedgevoice\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$tree/etc/hosts"
# raspi-firmware writes config.txt and cmdline.txt from its defaults file (now and at every
# kernel upgrade on the device): root by PARTUUID (the card may be mmcblk0 or a USB disk),
# consoles fixed (its "auto" looks at the build host's /dev), no overlays (it ships none).
cat >>"$tree/etc/default/raspi-firmware" <<EOT

# edgevoice image (build/image/build.sh):
ROOTPART=PARTUUID=${DISK_ID#0x}-02
CONSOLES="tty0 ttyS1,115200"
KERNEL_ARCH="arm64"
EOT
# SPI0 with spidev (APA102 LED rings): Debian's device trees disable it and raspi-firmware
# ships no overlays, so the image brings its own (overlays/edgevoice-spi0.dts, by path)
mkdir -p "$tree/boot/firmware/overlays"
dtc -q -I dts -O dtb -o "$tree/boot/firmware/overlays/edgevoice-spi0.dtbo" "$here/overlays/edgevoice-spi0.dts"
cat >"$tree/etc/default/raspi-firmware-custom" <<EOT
# edgevoice image: SPI0 on GPIO 7-11 (/dev/spidev0.0, /dev/spidev0.1) for LED rings
dtoverlay=edgevoice-spi0
gpio=7-11=a0
EOT
cat >"$work/inchroot.sh" <<'EOT'
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
apt-get -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	--no-install-recommends -y -q install /tmp/edgevoice.deb
rm -f /tmp/edgevoice.deb /usr/sbin/policy-rc.d
systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
	edgevoice-firstboot.service edgevoice-growroot.service edgevoice.service edgevoice-provisioning.service
systemctl disable ssh.service ssh.socket 2>/dev/null || true
systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer 2>/dev/null || true
ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
# every card makes its own: ssh host keys at the first boot that enables ssh, machine-id
# at the first boot (an empty file = "not set yet")
rm -f /etc/ssh/ssh_host_*
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
# the boot partition's content, for the kernel the base installed
kver=$(ls /lib/modules | sort -V | tail -1)
DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$kver"
rm -f /boot/initrd.img-*.dpkg-bak /boot/firmware/*.dpkg-bak
dpkg-query -W -f='${Package} ${Version}\n' >/tmp/packages.txt
EOT
unshare --mount --fork --propagation private sh -euc '
	t=$1
	mount --bind /dev "$t/dev"
	mount -t proc proc "$t/proc"
	mount -t sysfs sys "$t/sys"
	mount -t tmpfs tmpfs "$t/run"
	chroot "$t" sh /dev/stdin <"$2"
' sh "$tree" "$work/inchroot.sh" 2>&1 | sed -u 's/^/image: chroot: /' >&2
mv "$tree/tmp/packages.txt" "$work/packages.txt"
grep -q '^edgevoice ' "$work/packages.txt" || die "edgevoice is not installed in the tree"
[ -f "$tree/boot/firmware/cmdline.txt" ] || die "raspi-firmware wrote no /boot/firmware/cmdline.txt"
grep -q '^dtoverlay=edgevoice-spi0' "$tree/boot/firmware/config.txt" || die "config.txt lacks the SPI overlay line"
for d in "$tree"/boot/firmware/bcm*.dtb; do # the overlay applies to every Pi device tree
	fdtoverlay -i "$d" -o "$work/ov.dtb" "$tree/boot/firmware/overlays/edgevoice-spi0.dtbo" || die "edgevoice-spi0.dtbo does not apply to $(basename "$d")"
done
rm -f "$work/ov.dtb"
grep -q "root=PARTUUID=${DISK_ID#0x}-02" "$tree/boot/firmware/cmdline.txt" || die "cmdline.txt does not name the root PARTUUID: $(cat "$tree/boot/firmware/cmdline.txt")"
# what is not part of a fresh system, and what carries the build's time
rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/cache/apt/*.bin "$tree"/var/lib/apt/lists/* \
	"$tree"/tmp/* "$tree"/var/tmp/* "$tree"/var/log/apt/* "$tree"/var/cache/debconf/*-old \
	"$tree"/var/lib/dpkg/*-old "$tree"/var/cache/ldconfig/aux-cache
for f in "$tree"/var/log/dpkg.log "$tree"/var/log/alternatives.log "$tree"/var/log/bootstrap.log; do
	[ -e "$f" ] && : >"$f"
done
rm -rf "$tree/usr/libexec/qemu-binfmt" "$tree"/usr/bin/qemu-*-static
# every timestamp from the commit (no later than it)
find "$tree" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch --no-dereference --date="@$SOURCE_DATE_EPOCH"
t_tree=$(date +%s)

# 4. the boot partition: a FAT32 file filled with mtools, files in sorted order
bootimg=$work/boot.img
mkfs.vfat -C --invariant -F 32 -i $BOOT_SERIAL -n RASPIFIRM "$bootimg" $((BOOT_MIB * 1024)) >/dev/null
(
	cd "$tree/boot/firmware"
	find . -mindepth 1 -type d | LC_ALL=C sort | while read -r d; do mmd -i "$bootimg" "::${d#./}"; done
	find . -type f | LC_ALL=C sort | while read -r f; do mcopy -m -o -i "$bootimg" "$f" "::${f#./}"; done
)
find "$tree/boot/firmware" -mindepth 1 -delete # the mount point stays, empty

# 5. the root partition: ext4 from the tree, sized to fit with room to spare
used_mib=$(du -s --block-size=1M --apparent-size "$tree" | cut -f1)
ROOT_MIB=$(((used_mib * 13 / 10 + 384 + 63) / 64 * 64))
rootimg=$work/root.img
make_root_fs "$tree" "$rootimg" "$ROOT_MIB" "$work"
t_fs=$(date +%s)
[ -z "$fsonly" ] || { log "file systems in $work (boot.img, root.img)"; exit 0; }

# 6. the disk: MBR, boot at 4 MiB (type 0x0c, what the Pi's boot ROM looks for), root after
img=$work/disk.img
total_mib=$((4 + BOOT_MIB + ROOT_MIB))
rm -f "$img"
truncate -s "${total_mib}M" "$img"
sfdisk -q --no-reread --no-tell-kernel "$img" <<EOT
label: dos
label-id: $DISK_ID
unit: sectors

start=$((4 * 2048)), size=$((BOOT_MIB * 2048)), type=c, bootable
start=$(((4 + BOOT_MIB) * 2048)), size=$((ROOT_MIB * 2048)), type=83
EOT
dd if="$bootimg" of="$img" bs=1M seek=4 conv=notrunc,sparse status=none
dd if="$rootimg" of="$img" bs=1M seek=$((4 + BOOT_MIB)) conv=notrunc,sparse status=none
touch --date="@$SOURCE_DATE_EPOCH" "$img"

# 7. the published files
rm -f "$out" "$out.xz" "$out.xz.sha256" "$out.bmap"
mv "$img" "$out"
bmaptool -q create -o "$out.bmap" "$out"
sed -i '/<!-- Image creation time/d' "$out.bmap" 2>/dev/null || true
xz -T0 -6 --block-size=64MiB -f "$out"
(cd dist && sha256sum "$(basename "$out.xz")" >"$(basename "$out.xz").sha256")
cp "$work/packages.txt" "dist/edgevoice-$gitver-rpi-arm64.packages.txt"
t_end=$(date +%s)
size=$(stat -c %s "$out.xz")
log "$out.xz: $((size / 1048576)) MiB compressed, $total_mib MiB raw (boot $BOOT_MIB, root $ROOT_MIB MiB)"
log "times: deb $((t_deb - t0)) s, base $((t_base - t_deb)) s, tree $((t_tree - t_base)) s, filesystems $((t_fs - t_tree)) s, disk+xz $((t_end - t_fs)) s; total $((t_end - t0)) s"
printf '{"version":"%s","xz_bytes":%d,"raw_mib":%d,"boot_mib":%d,"root_mib":%d,"total_s":%d,"tree_s":%d,"xz_s":%d}\n' \
	"$gitver" "$size" "$total_mib" "$BOOT_MIB" "$ROOT_MIB" $((t_end - t0)) $((t_tree - t_base)) $((t_end - t_fs)) >"dist/edgevoice-$gitver-rpi-arm64.build.json"
echo "$out.xz"
