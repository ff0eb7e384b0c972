#!/usr/bin/env bash
# test-image.sh — boot the built Raspberry Pi image under qemu-system-aarch64 -M virt
# (TCG, cortex-a53; QEMU cannot run the Pi's boot firmware, so the image's own kernel and
# initrd are booted directly, taken out of its ext4 partition with debugfs) and check it
# under its real systemd (make test-image):
#   boot 1: on a disk 1 GiB bigger than the image (qemu-img resize): the root partition
#           and file system grown to it; the first-boot files on the FAT partition
#           (edgevoice.toml, credential for an `edgevoice emulator` unit in the guest,
#           wifi.toml, hostname, ssh key) are applied with the right owners and modes,
#           credential and Wi-Fi file are gone from FAT, the passphrase is stored nowhere;
#           both units active (Type=notify: READY) with a Status= line; `edgevoice status`
#           idle with a key; SIGSTOP -> watchdog restart; a clean `systemctl stop`; journal
#           warnings and systemd-analyze security recorded; a talk turn through the running
#           service (`edgevoice ctl press`/`release`, the question played into snd-aloop,
#           the answer recorded from it); a second turn, and while its answer plays a hard
#           power-off (QEMU killed)
#   boot 2: with a bad edgevoice.toml and wifi.toml put on FAT meanwhile: their errors
#           (FILE:LINE:COL) in the journal, the status file and edgevoice-setup.txt, the
#           files left on FAT, the installed config unchanged; the appliance shows the
#           setup fault (state error, Status= line, `edgevoice status`, its journal) with a
#           key; nothing corrupt, the killed boot's journal readable; then the files fixed
#           and the setup run again (it reloads edgevoice): idle; poweroff
#   host:   the poweroff's journal (read from the image with debugfs + journalctl -D),
#           e2fsck -fn of both partitions, the credential in no log, flash.sh's refusals
#
#   build/image/test-image.sh [IMAGE.img.xz]    # default: newest dist/*-rpi-arm64.img.xz
#
# Evidence and a summary (results.json) go to dist/test-image/. The talk turns need
# `edgevoice ctl` (issue 13) in the image; without it they are reported as failed.
set -euo pipefail
prog=test-image
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
cd "$root"
for t in qemu-system-aarch64 qemu-img debugfs mcopy mtype sfdisk jq e2fsck fsck.vfat journalctl ssh-keygen; do
	command -v $t >/dev/null || die "$t missing: run build/image/install-deps.sh"
done
xzimg=${1:-$(ls -t dist/edgevoice-*-rpi-arm64.img.xz 2>/dev/null | head -1 || true)}
[ -n "$xzimg" ] && [ -f "$xzimg" ] || die "no image: run make image first (or pass IMAGE.img.xz)"
R=dist/test-image
rm -rf "$R"
mkdir -p "$R"
R=$(cd "$R" && pwd)
work=$(mktemp -d "${EDGEVOICE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgevoice/image}/test.XXXXXX")
qpid=""
# qpid is timeout(1)'s; QEMU is its child: a hard power-off kills QEMU itself
qkill() { [ -n "$qpid" ] && { pkill -KILL -P "$qpid" 2>/dev/null; kill -KILL "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; }; }
trap 'qkill; rm -rf "$work"' EXIT
fails=()
pass=()
check() { # NAME CONDITION-EXIT-STATUS MESSAGE
	if [ "$2" = 0 ]; then pass+=("$1"); echo "ok   $1: $3"; else fails+=("$1: $3"); echo "FAIL $1: $3"; fi
}
t() { "$@" >/dev/null 2>&1 && echo 0 || echo 1; }

# ---- the image
size=$(stat -c %s "$xzimg")
check image-size "$([ "$size" -le $((300 * 1024 * 1024)) ] && echo 0 || echo 1)" "$xzimg is $((size / 1048576)) MiB compressed (goal <= 300)"
if [ -f "$xzimg.sha256" ]; then
	check sha256 "$(cd "$(dirname "$xzimg")" && t sha256sum -c "$(basename "$xzimg").sha256")" "$(basename "$xzimg").sha256 matches"
fi
disk=$work/disk.img
xz -dc "$xzimg" | dd of="$disk" bs=1M conv=sparse status=none
[ -f "${xzimg%.xz}.bmap" ] && check bmap "$(t bmaptool copy --bmap "${xzimg%.xz}.bmap" "$xzimg" "$work/bmap-copy.img")" "bmaptool copy with the .bmap verifies the image's checksums"
rm -f "$work/bmap-copy.img"
# a card bigger than the image: the first boot grows the root partition to it
qemu-img resize -q -f raw "$disk" +1G
parts=$(sfdisk -J "$disk")
root_mib0=$(($(jq '.partitiontable.partitions[1].size' <<<"$parts") / 2048))
boff=$(($(jq '.partitiontable.partitions[0].start' <<<"$parts") * 512))
roff=$(($(jq '.partitiontable.partitions[1].start' <<<"$parts") * 512))
btype=$(jq -r '.partitiontable.partitions[0].type' <<<"$parts")
check partitions "$([ "$btype" = c ] && echo 0 || echo 1)" "MBR: boot partition type $btype (want c, FAT32 LBA), $(jq -r '.partitiontable.id' <<<"$parts")"
B="$disk@@$boff"
RT="$disk?offset=$roff"
cmdline=$(mtype -i "$B" ::cmdline.txt | tr -d '\r')
echo "cmdline.txt: $cmdline"
rootarg=$(grep -o 'root=[^ ]*' <<<"$cmdline")
mdir -i "$B" -b :: | sed 's|^::/||' | sort >"$R/bootfs-files.txt"
check bootfs-firmware "$(grep -qx 'start4.elf' "$R/bootfs-files.txt" && grep -qx 'config.txt' "$R/bootfs-files.txt" && grep -q 'bcm2711-rpi-4-b.dtb' "$R/bootfs-files.txt" && echo 0 || echo 1)" "boot partition has the Pi firmware, config.txt and the Pi 4 device tree ($(wc -l <"$R/bootfs-files.txt") files)"
mtype -i "$B" ::config.txt | tr -d '\r' >"$R/config.txt"
# kernel and initrd out of the ext4 partition (no loop mount)
kimg=$(debugfs -R 'ls -p /boot' "$RT" 2>/dev/null | awk -F/ '$6 ~ /^vmlinuz-/ {print $6}' | sort -V | tail -1)
[ -n "$kimg" ] || die "no /boot/vmlinuz-* in the root partition"
kver=${kimg#vmlinuz-}
debugfs -R "dump /boot/vmlinuz-$kver $work/vmlinuz" "$RT" >/dev/null 2>&1
debugfs -R "dump /boot/initrd.img-$kver $work/initrd.img" "$RT" >/dev/null 2>&1
[ -s "$work/vmlinuz" ] && [ -s "$work/initrd.img" ] || die "could not extract kernel $kver and its initrd with debugfs"
echo "kernel $kver ($(stat -c %s "$work/vmlinuz") bytes), initrd $(stat -c %s "$work/initrd.img") bytes"

# ---- the test's additions: first-boot files on FAT, two units in the root (debugfs -w)
token=imagetest-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
share=$work/share
mkdir -p "$share"
echo "$token" >"$share/token"
cp "$here/test/guest.sh" "$share/"
cp cmd/edgevoice/assets/question.wav "$share/question.wav" # the question played into the mic
cp "$here/test/edgevoice.toml" "$share/good.toml"           # boot 2's fix
fb=$work/fb
mkdir -p "$fb"
cp "$here/test/edgevoice.toml" "$fb/edgevoice.toml"
printf '%s\r\n' "$token" >"$fb/credential" # as a Windows editor writes it
echo "evtest" >"$fb/hostname"
ssh-keygen -q -t ed25519 -N '' -C imagetest -f "$work/id_ed25519"
cp "$work/id_ed25519.pub" "$fb/ssh_authorized_keys"
psk=pass-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$psk" >"$share/wifi-psk"
printf 'ssid = "imagetest-net"\npsk = "%s"\ncountry = "de"\n' "$psk" >"$fb/wifi.toml"
for f in edgevoice.toml credential hostname ssh_authorized_keys wifi.toml; do
	mcopy -o -i "$B" "$fb/$f" "::$f"
done
sed "s/@TOKEN@/$token/" "$here/test/edgevoice-emulator.service" >"$work/edgevoice-emulator.service"
echo snd-aloop >"$work/aloop.conf" # the sound card of the test (in linux-image-arm64)
cat >"$work/debugfs.cmd" <<EOT
write $work/aloop.conf /etc/modules-load.d/edgevoice-imagetest.conf
write $here/test/edgevoice-imagetest.service /etc/systemd/system/edgevoice-imagetest.service
write $work/edgevoice-emulator.service /etc/systemd/system/edgevoice-emulator.service
cd /etc/systemd/system/multi-user.target.wants
symlink edgevoice-imagetest.service /etc/systemd/system/edgevoice-imagetest.service
symlink edgevoice-emulator.service /etc/systemd/system/edgevoice-emulator.service
EOT
debugfs -w -f "$work/debugfs.cmd" "$RT" >"$work/debugfs.out" 2>&1 || die "debugfs -w failed: $(cat "$work/debugfs.out")"

boot() { # PHASE -> runs QEMU in the background; sets qpid
	echo "$1" >"$share/phase"
	rm -f "$share/ready-for-kill" "$share/poweroff-started"
	timeout 900 qemu-system-aarch64 -M virt -accel tcg,thread=multi -cpu cortex-a53 -smp 2 -m 1024 \
		-kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
		-append "console=ttyAMA0 $rootarg rootwait panic=-1 edgevoice.imagetest" \
		-drive "file=$disk,format=raw,if=virtio" \
		-virtfs "local,path=$share,mount_tag=hostshare,security_model=none,id=hostshare" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		-nographic -no-reboot >"$R/console-$1.log" 2>&1 </dev/null &
	qpid=$!
	qstart=$(date +%s)
}

# ---- boot 1 (from here on, a failed command is a failed check, not the end of the run)
set +e
echo "boot 1 (first boot) under TCG ..."
boot first
while [ ! -e "$share/ready-for-kill" ] && kill -0 $qpid 2>/dev/null; do sleep 0.2; done
boot1_s=$(($(date +%s) - qstart))
if [ -e "$share/ready-for-kill" ]; then
	qkill # mid-turn: the answer is playing, the journal is unsynced
	check boot1 0 "first boot ran its checks in $boot1_s s; QEMU killed (hard power-off)"
else
	wait $qpid 2>/dev/null || true
	check boot1 1 "QEMU ended before the guest's checks finished ($boot1_s s); see $R/console-first.log"
fi
qpid=""
cp -r "$share/first" "$R/" 2>/dev/null || true
F=$R/first

# ---- assertions on boot 1
mdir -i "$B" -b :: | sed 's|^::/||' | sort >"$R/bootfs-after.txt"
check secrets-gone-from-fat "$(grep -qxE 'credential|wifi.toml' "$R/bootfs-after.txt" && echo 1 || echo 0)" "credential and wifi.toml are no longer on the boot partition"
check applied-renamed "$(grep -qx edgevoice.toml.applied "$R/bootfs-after.txt" && grep -qx hostname.applied "$R/bootfs-after.txt" && grep -qx ssh_authorized_keys.applied "$R/bootfs-after.txt" && echo 0 || echo 1)" "edgevoice.toml, hostname and ssh_authorized_keys renamed *.applied on FAT"
mtype -i "$B" ::edgevoice-setup.txt 2>/dev/null | tr -d '\r' >"$R/edgevoice-setup-1.txt" || true
check setup-txt-ok "$(grep -q 'Everything on this partition was applied' "$R/edgevoice-setup-1.txt" && echo 0 || echo 1)" "edgevoice-setup.txt on FAT: $(sed -n 2p "$R/edgevoice-setup-1.txt")"
fileline() { grep "^$1 " "$F/files.txt" 2>/dev/null | cut -d' ' -f2-4 || true; }
check credential-mode "$([ "$(fileline /etc/edgevoice/credential)" = "600 edgevoice-keys edgevoice-keys" ] && echo 0 || echo 1)" "/etc/edgevoice/credential is '$(fileline /etc/edgevoice/credential)' (want 600 edgevoice-keys edgevoice-keys)"
check credential-content "$([ "$(cat "$F/credential-content.txt" 2>/dev/null)" = same ] && echo 0 || echo 1)" "its content is the token without the CR (guest's verdict: $(cat "$F/credential-content.txt" 2>/dev/null))"
cfg=$(fileline /etc/edgevoice/edgevoice.toml.d/50-boot.toml)
[ -n "$cfg" ] || cfg="main file: $(fileline /etc/edgevoice/edgevoice.toml)"
check config-installed "$(grep -q '644 root root' <<<"$cfg" && echo 0 || echo 1)" "edgevoice.toml installed: $cfg"
check ssh-key "$([ "$(fileline /home/admin/.ssh/authorized_keys)" = "600 admin admin" ] && grep -q 'ssh_host_ed25519_key 600 root root' "$F/files.txt" && echo 0 || echo 1)" "authorized_keys '$(fileline /home/admin/.ssh/authorized_keys)', a host key made on the device"
check ssh-enabled "$(grep -q 'ActiveState=active' "$F/ssh.show" 2>/dev/null && echo 0 || echo 1)" "ssh.service $(grep ActiveState "$F/ssh.show" 2>/dev/null)"
check hostname "$([ "$(cat "$F/hostname.txt" 2>/dev/null)" = evtest ] && echo 0 || echo 1)" "hostname $(cat "$F/hostname.txt" 2>/dev/null)"
check wifi-conf "$([ "$(cat "$F/wifi-conf.txt" 2>/dev/null)" = ok ] && [ "$(fileline /etc/wpa_supplicant/wpa_supplicant-wlan0.conf)" = "600 root root" ] && grep -q 'device.wants/wpa_supplicant@wlan0.service ' "$F/files.txt" && echo 0 || echo 1)" "wpa_supplicant-wlan0.conf $(fileline /etc/wpa_supplicant/wpa_supplicant-wlan0.conf): $(cat "$F/wifi-conf.txt" 2>/dev/null) (derived key, country DE, no passphrase); wpa_supplicant@wlan0 wanted by the wlan0 device"
check firstboot-ok "$(grep -q 'Result=success' "$F/firstboot.show" && grep -q '^state=ok' "$F/setup-status.txt" && echo 0 || echo 1)" "edgevoice-firstboot.service $(grep -E '^Result' "$F/firstboot.show"), status file $(head -1 "$F/setup-status.txt" 2>/dev/null) with $(grep -c '^applied=' "$F/setup-status.txt" 2>/dev/null) applied"
for u in edgevoice provisioning; do
	check "unit-$u" "$(grep -q 'ActiveState=active' "$F/$u.show" && grep -q 'Type=notify' "$F/$u.show" && grep -q 'StatusText=.' "$F/$u.show" && echo 0 || echo 1)" "$u: $(grep -E 'ActiveState|SubState|StatusText' "$F/$u.show" | tr '\n' ' ')"
done
st=$F/status.json
check idle-with-key "$(jq -e '.appliance.state == "idle" and (.appliance.key != null)' "$st" >/dev/null 2>&1 && echo 0 || echo 1)" "edgevoice status: $(jq -c '.appliance | {state, key: (.key | if . then {profile, dialect} else null end)}' "$st" 2>/dev/null || head -c 300 "$st")"
idle1=$(cat "$F/idle-uptime.txt" 2>/dev/null || echo "")
check boot-to-idle "$([ -n "$idle1" ] && echo 0 || echo 1)" "first boot: idle with a key at ${idle1:-never} s after the kernel started (TCG)"
wd=$F/watchdog.json
check watchdog "$(jq -e '.restarted == 1 and .restarts_after > .restarts_before and .seconds <= 45' "$wd" >/dev/null 2>&1 && echo 0 || echo 1)" "SIGSTOP: $(cat "$wd" 2>/dev/null) (WatchdogSec=20s + 25 s slack)"
check clean-stop "$(grep -q 'Result=success' "$F/stopped.show" && grep -q 'ExecMainStatus=0' "$F/stopped.show" && echo 0 || echo 1)" "systemctl stop: $(grep -E 'Result|ExecMainStatus|ExecMainCode' "$F/stopped.show" | tr '\n' ' ')in $(cat "$F/stop-ms.txt") ms"
# the units' own lines (not systemd's about them): text that says WARN/ERROR must carry a
# journald priority of warning or above
uj=$F/units.journal.json
warn_text=$(jq -r 'select(._PID != "1") | .MESSAGE | strings | select(test("level=(WARN|ERROR)|\"level\":\"(WARN|ERROR)\""))' "$uj" 2>/dev/null | wc -l)
prio_warn=$(jq -r 'select(._PID != "1") | select((.PRIORITY | tonumber) <= 4) | .MESSAGE' "$uj" 2>/dev/null | wc -l)
jq -r 'select(._PID != "1") | select((.PRIORITY | tonumber) <= 4) | "\(.PRIORITY) \(._SYSTEMD_UNIT): \(.MESSAGE)"' "$uj" 2>/dev/null | head -20 >"$R/warnings-edgevoice.txt"
check journal-priorities "$([ "$warn_text" -gt 0 ] || [ "$prio_warn" -gt 0 ] && [ "$prio_warn" -ge "$warn_text" ] && echo 0 || echo 1)" "the units logged $warn_text WARN/ERROR line(s) (the key daemon restarted with the broker down, a watchdog kill); $prio_warn reach journald at priority warning or above; journalctl -p warning: $(jq -s length "$F/warnings.journal.json" 2>/dev/null) lines in all"
sec_ev=$(grep -o 'Overall exposure level for edgevoice.service: .*' "$F/security-edgevoice.service.txt" 2>/dev/null | sed 's/.*: //')
sec_pr=$(grep -o 'Overall exposure level for edgevoice-provisioning.service: .*' "$F/security-edgevoice-provisioning.service.txt" 2>/dev/null | sed 's/.*: //')
rootmib=$(cat "$F/rootfs-mib.txt" 2>/dev/null || echo 0)
check root-grown "$([ "$rootmib" -ge $((root_mib0 + 700)) ] && grep -q 'Result=success' "$F/growroot.show" && echo 0 || echo 1)" "root file system $rootmib MiB on a partition of $root_mib0 MiB + 1 GiB of disk: $(grep -m1 'growing' "$F/growroot.journal.txt" 2>/dev/null)"
ev1=$F/turn1-events.jsonl
states1=$(jq -r 'select(.event.type == "state") | .event.state' "$ev1" 2>/dev/null | uniq | tr '\n' ' ')
peak=$(tail -c +45 "$F/turn1-speaker.wav" 2>/dev/null | od -An -v -td2 -w2 | awk '{v = $1 < 0 ? -$1 : $1; if (v > m) m = v} END {print m + 0}')
check talk-turn "$(grep -q '"ok":true' "$F/turn1-press.json" 2>/dev/null && grep -q '"ok":true' "$F/turn1-release.json" && [[ $states1 == *listening*thinking*speaking*idle* ]] && jq -e '.appliance.turns >= 1 and .appliance.session.packets_received > 0' "$F/turn1-status.json" >/dev/null 2>&1 && [ "$peak" -gt 1000 ] && echo 0 || echo 1)" "edgevoice ctl press/release: states $states1; $(jq -c '.appliance | {turns, received: .session.packets_received}' "$F/turn1-status.json" 2>/dev/null); the answer on the speaker's loopback peaks at $peak/32767"
check killed-mid-turn "$([ "$(cat "$F/turn2-at-kill.txt" 2>/dev/null)" = speaking ] && echo 0 || echo 1)" "the hard power-off came while the second turn's answer played (state $(cat "$F/turn2-at-kill.txt" 2>/dev/null || echo unknown))"
check security-recorded "$([ -n "$sec_ev" ] && [ -n "$sec_pr" ] && echo 0 || echo 1)" "systemd-analyze security: edgevoice $sec_ev, edgevoice-provisioning $sec_pr"

# ---- boot 2: after the hard power-off, with two mistakes put on FAT meanwhile
printf '# a mistake on purpose\n[board]\nkind = "gpoi"\n' >"$fb/bad.toml"
printf '# a mistake on purpose: no country\nssid = "imagetest-net"\npsk = "%s"\n' "$psk" >"$fb/badwifi.toml"
mcopy -o -i "$B" "$fb/bad.toml" ::edgevoice.toml
mcopy -o -i "$B" "$fb/badwifi.toml" ::wifi.toml
echo "boot 2 (after the hard power-off; a bad edgevoice.toml and wifi.toml) under TCG ..."
boot second
wait $qpid 2>/dev/null && qrc=0 || qrc=$?
boot2_s=$(($(date +%s) - qstart))
qpid=""
cp -r "$share/second" "$R/" 2>/dev/null || true
S=$R/second
check poweroff "$([ -e "$share/poweroff-started" ] && [ $qrc = 0 ] && echo 0 || echo 1)" "boot 2 ran its checks and powered off by itself (QEMU exit $qrc after $boot2_s s)"
idle2=$(cat "$S/idle-uptime.txt" 2>/dev/null || echo "")
check reboot-setup-fault "$([ -n "$idle2" ] && jq -e '.appliance.state == "error" and .appliance.setup == "setup" and .appliance.key != null and (.appliance.setup_errors | any(test("edgevoice.toml:3:1")))' "$S/status.json" >/dev/null 2>&1 && echo 0 || echo 1)" "after the hard power-off, with the bad files: the setup fault with a key at ${idle2:-never} s: $(jq -c '.appliance | {state, setup, errors: (.setup_errors | length)}' "$S/status.json" 2>/dev/null)"
check setup-fault-status-line "$(grep -q 'StatusText=error: setup fault: /boot/firmware/edgevoice.toml' "$S/setup-fault.statustext" 2>/dev/null && echo 0 || echo 1)" "$(cut -c1-160 "$S/setup-fault.statustext" 2>/dev/null)"
check setup-fault-edgevoice-status "$(grep -q 'setup:        fault' "$S/setup-fault.status.txt" 2>/dev/null && grep -q 'edgevoice.toml:3:1' "$S/setup-fault.status.txt" && grep -q 'reboot' "$S/setup-fault.status.txt" && echo 0 || echo 1)" "edgevoice status: $(grep -A1 '^setup:' "$S/setup-fault.status.txt" 2>/dev/null | tr -s ' ' | tr '\n' ' ' | cut -c1-160)"
check setup-fault-journal "$(jq -c 'select((.PRIORITY | tonumber) <= 3 and (.MESSAGE | tostring | test("setup fault")))' "$S/edgevoice.journal.json" 2>/dev/null | grep -q . && echo 0 || echo 1)" "edgevoice's journal at priority err: $(jq -r 'select((.PRIORITY | tonumber) <= 3) | .MESSAGE | tostring' "$S/edgevoice.journal.json" 2>/dev/null | grep -m1 'setup fault' | cut -c1-140)"
check setup-fixed "$(grep -q '^state=ok' "$S/setup-status-fixed.txt" 2>/dev/null && jq -e '.appliance.state == "idle" and .appliance.key != null and .appliance.setup == null' "$S/status-fixed.json" >/dev/null 2>&1 && echo 0 || echo 1)" "files fixed, systemctl restart edgevoice-firstboot (which reloads edgevoice): $(jq -c '.appliance | {state, setup}' "$S/status-fixed.json" 2>/dev/null)"
check growroot-once "$(grep -q 'ConditionResult=no' "$S/growroot.show" 2>/dev/null && [ "$(cat "$S/rootfs-mib.txt")" = "$rootmib" ] && echo 0 || echo 1)" "second boot: edgevoice-growroot skipped ($(tr '\n' ' ' <"$S/growroot.show" 2>/dev/null)), root still $(cat "$S/rootfs-mib.txt" 2>/dev/null) MiB"
check journal-after-kill "$([ "$(cat "$S/previous-boot-lines.txt" 2>/dev/null || echo 0)" -gt 0 ] && echo 0 || echo 1)" "the killed boot's journal is readable: journalctl -b -1 -u edgevoice has $(cat "$S/previous-boot-lines.txt" 2>/dev/null) lines"
# setup not applied again: the same files, same sizes and mtimes
cut -d' ' -f1-6 "$F/files.txt" >"$work/f1"
cut -d' ' -f1-6 "$S/files.txt" >"$work/f2" 2>/dev/null || :
fbj=$S/firstboot.journal.json
errs=$(jq -r 'select((.PRIORITY|tonumber) <= 3) | .MESSAGE' "$fbj" 2>/dev/null)
check config-error-reported "$(grep -q '^/boot/firmware/edgevoice.toml:3:1: key "board.kind"' <<<"$errs" && echo 0 || echo 1)" "journal (err): $(grep -m1 'edgevoice.toml:[0-9]' <<<"$errs" || echo none)"
check wifi-error-reported "$(grep -q '^/boot/firmware/wifi.toml:1:1: country is missing' <<<"$errs" && echo 0 || echo 1)" "journal (err): $(grep -m1 'wifi.toml:[0-9]' <<<"$errs" | cut -c1-100 || echo none)"
check setup-status-error "$(grep -q '^state=error' "$S/setup-status.txt" && grep -q '^error=.*edgevoice.toml:3:1' "$S/setup-status.txt" && echo 0 || echo 1)" "/run/edgevoice-setup/status: $(head -1 "$S/setup-status.txt" 2>/dev/null), $(grep -c '^error=' "$S/setup-status.txt" 2>/dev/null) error line(s)"
# (what boot 2 saw on FAT before it fixed the files)
awk '{print $NF}' "$S/bootfs-ls.txt" 2>/dev/null | sort >"$R/bootfs-after-2.txt"
tr -d '\r' <"$S/edgevoice-setup.txt" >"$R/edgevoice-setup-2.txt" 2>/dev/null || true
check bad-files-stay "$(grep -qx edgevoice.toml "$R/bootfs-after-2.txt" && grep -qx wifi.toml "$R/bootfs-after-2.txt" && grep -q 'edgevoice.toml:3:1' "$R/edgevoice-setup-2.txt" && echo 0 || echo 1)" "the bad files stay on FAT; edgevoice-setup.txt: $(grep -m1 'edgevoice.toml:3:1' "$R/edgevoice-setup-2.txt" | sed 's/^ *//' | cut -c1-100)"
check idempotent "$(cmp -s "$work/f1" "$work/f2" && echo 0 || echo 1)" "installed files unchanged at the second boot, the bad files kept out (owners, modes, sizes, mtimes)$(diff "$work/f1" "$work/f2" | grep '^[<>]' | head -3 | tr '\n' ' ')"
check machine-id "$([ -s "$F/machine-id.txt" ] && cmp -s "$F/machine-id.txt" "$S/machine-id.txt" && echo 0 || echo 1)" "machine-id made at the first boot and kept: $(cat "$F/machine-id.txt" 2>/dev/null)"
fserr=$(grep -iE 'EXT4-fs (error|warning)|FAT-fs .*(error|corrupt)|I/O error|Buffer I/O' "$S/dmesg-fs.txt" 2>/dev/null)
fsckline=$(grep -aoE '(/dev/vda2|RASPIROOT): (clean|recovering journal)[^,]*' "$S/fsck.txt" 2>/dev/null | head -2 | tr '\n' ' ')
fatline=$(grep -aoE 'Dirty bit is set|Automatically removing dirty bit' "$S/fsck.txt" 2>/dev/null | tail -1)
check fs-after-kill "$([ -z "$fserr" ] && [ -n "$fsckline" ] && ! grep -aqE 'UNEXPECTED INCONSISTENCY|FILE SYSTEM WAS MODIFIED' "$S/fsck.txt" "$R/console-second.log" && echo 0 || echo 1)" "boot after the hard power-off: fsck of the root: ${fsckline:-no line}; of the boot partition: ${fatline:-clean} (the FAT dirty bit is expected after a power loss); kernel: $(grep -c 'recovery complete' "$S/dmesg-fs.txt" 2>/dev/null) ext4 journal recovery, no file-system error${fserr:+: $fserr}; journald: $(grep -c 'uncleanly shut down' "$S/dmesg-fs.txt" 2>/dev/null) journal file(s) renamed as uncleanly shut down (expected)"
check no-device-timeout "$(grep -q 'Timed out waiting for device' "$S/errors.txt" 2>/dev/null && echo 1 || echo 0)" "no unit waits for a missing device (wpa_supplicant@wlan0 without Wi-Fi hardware): $(grep -m1 'Timed out waiting' "$S/errors.txt" 2>/dev/null | cut -c1-120 || echo none)"

# ---- host: the poweroff's journal, file systems, secrets
jdir=$work/journal
debugfs -R "rdump /var/log/journal $work" "$RT" >/dev/null 2>&1 || true
if [ -d "$jdir" ]; then
	journalctl -D "$jdir" -b 0 -u edgevoice.service -o short-monotonic --no-pager >"$R/poweroff.journal.txt" 2>&1 || true
	journalctl -D "$jdir" -o json --no-pager >"$work/all.journal.json" 2>/dev/null || true
	check poweroff-clean-stop "$(tail -5 "$R/poweroff.journal.txt" | grep -q 'Deactivated successfully\|Stopped edgevoice' && ! grep -qiE 'SIGKILL|timed out|Failed with result' <(tail -8 "$R/poweroff.journal.txt") && echo 0 || echo 1)" "poweroff stopped edgevoice cleanly: $(tail -3 "$R/poweroff.journal.txt" | cut -c1-160 | tr '\n' '|')"
	# the test's emulator unit has the token on its command line (journald's _CMDLINE of
	# its lines): its entries are left out; everything else counts
	leaks=$( (jq -c 'select(._SYSTEMD_UNIT != "edgevoice-emulator.service")' "$work/all.journal.json" 2>/dev/null; cat "$R"/console-*.log "$R"/first/* "$R"/second/* 2>/dev/null) | grep -c -F -e "$token" -e "$psk" || true)
	check secrets-not-logged "$([ "$leaks" = 0 ] && echo 0 || echo 1)" "the credential and the Wi-Fi passphrase appear in $leaks line(s) of the guest's journal (all boots), consoles and collected evidence"
else
	check poweroff-clean-stop 1 "no /var/log/journal in the image (debugfs rdump)"
fi
check fsck-root "$(t e2fsck -fn "$RT")" "e2fsck -fn of the root partition after the clean poweroff"
parts2=$(sfdisk -J "$disk")
pend=$(jq '.partitiontable.partitions[1] | .start + .size' <<<"$parts2")
dsect=$(($(stat -c %s "$disk") / 512))
check root-partition-grown "$([ $((dsect - pend)) -le 2048 ] && echo 0 || echo 1)" "partition 2 ends at sector $pend of $dsect (the disk's end, within 1 MiB)"
dd if="$disk" of="$work/boot.img" bs=1M skip=$((boff / 1048576)) count=256 status=none
check fsck-boot "$(t fsck.vfat -n "$work/boot.img")" "fsck.vfat -n of the boot partition"
check flash-refusals "$(t "$here/test-flash.sh")" "flash.sh's refusals (fake /sys and lsblk)"

jq -n --arg image "$(basename "$xzimg")" --argjson xz "$size" --arg kernel "$kver" \
	--arg idle1 "$idle1" --arg idle2 "$idle2" --arg rootmib "$rootmib" --argjson boot1 "$boot1_s" --argjson boot2 "$boot2_s" \
	--arg sec_ev "$sec_ev" --arg sec_pr "$sec_pr" --slurpfile wd "$wd" \
	--argjson pass "$(printf '%s\n' "${pass[@]}" | jq -R . | jq -s .)" \
	--argjson fail "$(printf '%s\n' "${fails[@]+"${fails[@]}"}" | jq -R 'select(. != "")' | jq -s .)" \
	'{image: $image, xz_bytes: $xz, kernel: $kernel, boot_to_idle_s: {first: $idle1, after_hard_poweroff_setup_fault: $idle2}, root_fs_mib_grown: $rootmib,
	  qemu_wall_s: {boot1: $boot1, boot2: $boot2}, security: {edgevoice: $sec_ev, "edgevoice-provisioning": $sec_pr},
	  watchdog: $wd[0], passed: $pass, failed: $fail}' >"$R/results.json" 2>/dev/null || true
echo
if [ ${#fails[@]} -gt 0 ]; then
	echo "test-image: ${#fails[@]} FAILED, ${#pass[@]} passed (evidence in $R):"
	printf '  %s\n' "${fails[@]}"
	exit 1
fi
echo "test-image: all ${#pass[@]} checks passed (evidence in $R)"
