#!/usr/bin/env bash
# flash.sh — write the image to an SD card or USB disk (make flash DEV=/dev/sdX).
#
#   build/image/flash.sh [-y] [-i IMAGE.img.xz] /dev/sdX
#
# Refuses a device that does not exist, is not a whole disk, is not removable (neither
# /sys/block/X/removable = 1 nor on a USB or MMC/SD transport per lsblk), or has a
# mounted partition (unmount it first). Shows the model and size and asks before
# writing, unless -y (for scripts that have checked already). Writes with bmaptool (only
# the blocks in use, verified against the .bmap's checksums) when it and the .bmap are
# there, else xzcat | dd with progress. IMAGE defaults to the newest
# dist/edgevoice-*-rpi-arm64.img.xz. EDGEVOICE_SYSFS (default /sys) is for the tests.
set -euo pipefail
prog=flash
SYS=${EDGEVOICE_SYSFS:-/sys}
die() {
	echo "flash: $*" >&2
	exit 1
}
yes="" image=""
while getopts yi: o; do
	case $o in
	y) yes=1 ;;
	i) image=$OPTARG ;;
	*) die "usage: flash.sh [-y] [-i IMAGE.img.xz] /dev/sdX" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] && [ -n "$1" ] || die "which device? usage: make flash DEV=/dev/sdX (lsblk -d -o NAME,TRAN,RM,SIZE,MODEL lists the disks)"
dev=$1
if [ -z "$image" ]; then
	image=$(ls -t "$(dirname "$0")"/../../dist/edgevoice-*-rpi-arm64.img.xz 2>/dev/null | head -1 || true)
	[ -n "$image" ] || die "no dist/edgevoice-*-rpi-arm64.img.xz: run make image first (or pass -i IMAGE)"
fi
[ -f "$image" ] || die "$image: no such image"

[ -e "$dev" ] || die "$dev does not exist (plug the card in; lsblk -d lists the disks)"
[ -b "$dev" ] || [ -n "${EDGEVOICE_SYSFS:-}" ] || die "$dev is not a block device"
name=$(basename "$(readlink -f "$dev")")
[ -d "$SYS/block/$name" ] || die "$dev is not a whole disk (no $SYS/block/$name): give the disk (/dev/sdb), not a partition (/dev/sdb1)"
removable=$(cat "$SYS/block/$name/removable" 2>/dev/null || echo 0)
tran=$(lsblk -dno TRAN "$dev" 2>/dev/null | tr -d ' ' || true)
case $name in mmcblk*) [ -n "$tran" ] || tran=mmc ;; esac
if [ "$removable" != 1 ] && [ "$tran" != usb ] && [ "$tran" != mmc ]; then
	die "refusing $dev: not removable (removable=$removable, transport=${tran:-none}); this is likely a built-in disk"
fi
mounted=$(lsblk -nro MOUNTPOINT "$dev" 2>/dev/null | grep -v '^$' || true)
[ -z "$mounted" ] || die "refusing $dev: mounted at $(echo "$mounted" | tr '\n' ' ')— unmount it first (sudo umount ${dev}*)"
size=$(($(cat "$SYS/block/$name/size" 2>/dev/null || echo 0) * 512))
[ "$size" -gt 0 ] || die "refusing $dev: size 0 (no medium in the reader?)"
model=$(lsblk -dno MODEL "$dev" 2>/dev/null | sed 's/ *$//' || true)
[ -n "$model" ] || model=$(cat "$SYS/block/$name/device/model" 2>/dev/null | sed 's/ *$//' || echo unknown)
raw=$(xz --robot --list "$image" 2>/dev/null | awk '$1 == "totals" {print $5}' || echo 0)
[ "${raw:-0}" -le "$size" ] || die "refusing $dev: $((size / 1000000)) MB is smaller than the image ($((raw / 1000000)) MB)"

echo "flash: $image"
echo "flash:   -> $dev: $model, $((size / 1000000)) MB, transport ${tran:-?}, removable=$removable"
if [ -z "$yes" ]; then
	[ -t 0 ] || die "not a terminal: pass -y to write without asking"
	read -r -p "Everything on $dev will be lost. Write? [y/N] " a
	case $a in y | Y | yes) ;; *) die "nothing written" ;; esac
fi
[ "$(id -u)" = 0 ] || die "writing $dev needs root (sudo make flash DEV=$dev)"
bmap=${image%.xz}.bmap
if command -v bmaptool >/dev/null && [ -f "$bmap" ]; then
	bmaptool copy --bmap "$bmap" "$image" "$dev"
else
	echo "flash: no bmaptool or no $bmap: writing every block with dd"
	xzcat "$image" | dd of="$dev" bs=4M conv=fsync status=progress
fi
sync
echo "flash: done; put the settings on the boot partition (README: First boot), then into the Pi"
