#!/usr/bin/env bash
# test-repro.sh — is the image's ext4 root file system bit-for-bit reproducible?
# (make test-repro)
#
#   build/image/test-repro.sh [TREE.tar]
#
# Unpacks the tree (default: the cached base tree of base.sh) twice and makes the root file
# system from each copy with make_root_fs (lib.sh), after changing a directory at a
# different time in each (the emptied /boot/firmware mount point, whose mtime was the one
# difference between two builds) and, before the second, reading every file (atimes
# move); ctimes differ between the copies anyway. Prints
# both sha256s; exits 1 when they differ, with where (blocks, dumpe2fs diff).
# Needs root (owners in the tree). About 2-3 min.
set -euo pipefail
prog=test-repro
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
cd "$root"
[ "$(id -u)" = 0 ] || die "needs root (owners and modes in the tree)"
cache=${EDGEVOICE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgevoice/image}
tarball=${1:-}
if [ -z "$tarball" ]; then
	tarball=$(ls -t "$cache"/base-*/base.tar 2>/dev/null | head -1) || true
	[ -n "$tarball" ] || die "no cached base tree in $cache: run make image first (or give a tarball)"
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
mkdir -p "$cache"
work=$(mktemp -d "$cache/repro.XXXXXX")
trap 'rm -rf "$work"' EXIT
sums=()
for n in 1 2; do
	mkdir "$work/tree$n" "$work/w$n"
	tar -C "$work/tree$n" --numeric-owner --xattrs --xattrs-include='*' -xpf "$tarball"
	find "$work/tree$n" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch --no-dereference --date="@$SOURCE_DATE_EPOCH"
	# what a build does after its clamp, at another time in each run: a directory emptied
	# (the /boot/firmware mount point: its mtime moves), every file read (atimes move)
	[ "$n" = 2 ] && sleep 1.1
	mkdir -p "$work/tree$n/boot/firmware"
	: >"$work/tree$n/boot/firmware/.repro" && rm "$work/tree$n/boot/firmware/.repro"
	[ "$n" = 2 ] && find "$work/tree$n" -type f -print0 | xargs -0r cat >/dev/null
	mib=$((($(du -s --block-size=1M --apparent-size "$work/tree$n" | cut -f1) * 13 / 10 + 384 + 63) / 64 * 64))
	make_root_fs "$work/tree$n" "$work/root$n.img" "$mib" "$work/w$n"
	sums+=("$(sha256sum <"$work/root$n.img" | cut -d' ' -f1)")
	log "build $n: sha256 ${sums[-1]} ($mib MiB)"
done
if [ "${sums[0]}" = "${sums[1]}" ]; then
	log "PASS: the root file system is bit-for-bit reproducible (sha256 ${sums[0]})"
	exit 0
fi
log "FAIL: the two root file systems differ"
cmp -l "$work/root1.img" "$work/root2.img" | awk '{o=$1-1; b=int(o/4096); if (b!=last) {n++; if (n<=20) printf "  block %d (byte %d)\n", b, o; last=b}} END {printf "  %d blocks differ\n", n}' >&2 || true
diff <(dumpe2fs "$work/root1.img" 2>/dev/null) <(dumpe2fs "$work/root2.img" 2>/dev/null) | head -20 >&2 || true
[ -n "${KEEP:-}" ] && { trap - EXIT; log "kept $work"; }
exit 1
