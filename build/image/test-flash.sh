#!/usr/bin/env bash
# test-flash.sh — flash.sh's safety checks against a fake /sys and a fake lsblk on PATH
# (no real disk is touched: every case must stop before writing). Part of make test-image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/bin" "$t/dev"
# fake lsblk: answers from $t/lsblk/NAME.{TRAN,MODEL,MOUNTPOINT}
cat >"$t/bin/lsblk" <<'EOT'
#!/bin/sh
d=$FAKE/lsblk/$(basename "$(eval echo \${$#})")
case "$*" in
*TRAN*) cat "$d.TRAN" 2>/dev/null ;;
*MODEL*) cat "$d.MODEL" 2>/dev/null ;;
*MOUNTPOINT*) cat "$d.MOUNTPOINT" 2>/dev/null ;;
esac
EOT
chmod +x "$t/bin/lsblk"
# an image: 8 MB raw
head -c 8000000 /dev/zero | xz -T1 -0 >"$t/img.xz"
disk() { # NAME REMOVABLE TRAN MOUNTPOINT SECTORS
	mkdir -p "$t/sys/block/$1" "$t/lsblk"
	echo "$2" >"$t/sys/block/$1/removable"
	echo "$5" >"$t/sys/block/$1/size"
	printf '%s\n' "$3" >"$t/lsblk/$1.TRAN"
	echo "Fake Card $1" >"$t/lsblk/$1.MODEL"
	printf '%s' "$4" >"$t/lsblk/$1.MOUNTPOINT"
	: >"$t/dev/$1"
}
disk sda 0 sata "" 1000000000 # the internal disk
disk sdb 1 usb "" 62500000    # a card in a USB reader (32 GB)
disk sdc 1 usb "/media/card" 62500000
disk mmcblk0 0 "" "" 62500000 # a card in the built-in slot (removable=0, transport mmc)
disk sdd 1 usb "" 8000        # 4 MB: too small
disk nvme0n1 0 nvme "" 1000000000
fails=0
run() { # WANT(refuse|prompt) PATTERN ARGS...
	local want=$1 pat=$2 outp rc=0
	shift 2
	outp=$(PATH="$t/bin:$PATH" FAKE=$t EDGEVOICE_SYSFS=$t/sys "$here/flash.sh" -i "$t/img.xz" "$@" </dev/null 2>&1) || rc=$?
	if [ $rc -eq 0 ] || ! grep -q -- "$pat" <<<"$outp"; then
		echo "FAIL: flash.sh $*: want $want with \"$pat\", got exit $rc:"
		sed 's/^/    /' <<<"$outp"
		fails=$((fails + 1))
	else
		echo "ok: flash.sh $* -> $(tail -1 <<<"$outp")"
	fi
}
run refuse "does not exist" "$t/dev/sdz"
run refuse "not removable" "$t/dev/sda"
run refuse "not removable" "$t/dev/nvme0n1"
run refuse "mounted at /media/card" "$t/dev/sdc"
run refuse "smaller than the image" "$t/dev/sdd"
mkdir -p "$t/dev/part" && : >"$t/dev/part/sdb1"
run refuse "not a whole disk" "$t/dev/part/sdb1"
run refuse "which device" ""
# accepted devices get as far as the question (stdin is not a terminal: nothing written)
run prompt "Fake Card sdb, 32 MB\|Fake Card sdb, 32000 MB" "$t/dev/sdb"
run prompt "not a terminal: pass -y" "$t/dev/sdb"
run prompt "not a terminal: pass -y" "$t/dev/mmcblk0"
[ $fails -eq 0 ] || {
	echo "test-flash: $fails failed"
	exit 1
}
echo "test-flash: all refusals and prompts as expected"
