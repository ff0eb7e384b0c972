#!/bin/bash
# guest.sh PHASE — make test-image's side inside the booted image (run as root by the
# injected edgevoice-imagetest.service, from the 9p share mounted at /mnt/host). It waits,
# acts and collects raw evidence into /mnt/host/PHASE/; test-image.sh asserts on it on the
# host (jq is not in the image). PHASE:
#   first   first boot: root grown, setup applied, both units, idle with a key, watchdog,
#           clean stop, journal priorities, systemd-analyze security, a talk turn through
#           `edgevoice ctl` (the question played into snd-aloop); then a second turn and,
#           while its answer plays, "ready" for a hard power-off
#   second  after the hard power-off: the setup fault of the bad files put on FAT (error
#           LEDs, Status=, edgevoice status, journal), setup not re-applied, fs state; the
#           files fixed, the setup run again (it reloads edgevoice): idle; poweroff
set -u
phase=$1
O=/mnt/host/$phase
mkdir -p "$O"
exec >"$O/guest.log" 2>&1
set -x
up() { cut -d' ' -f1 /proc/uptime; }
note() { printf '%s %s\n' "$(up)" "$*" >>"$O/notes.txt"; }
# idle_with_key: the appliance reports state idle and holds a key
idle_with_key() {
	local s
	s=$(timeout 10 edgevoice status -json 2>/dev/null | tr -d ' \n\t') || return 1
	[[ $s == *'"appliance":{"state":"idle"'* && $s == *'"key":{'* ]]
}
# setup_fault_with_key: the appliance shows the setup fault (state error) and holds a key
setup_fault_with_key() {
	local s
	s=$(timeout 10 edgevoice status -json 2>/dev/null | tr -d ' \n\t') || return 1
	[[ $s == *'"appliance":{"state":"error"'* && $s == *'"setup":"setup"'* && $s == *'"key":{'* ]]
}
wait_for() { # SECONDS CHECK -> 0 when CHECK holds within SECONDS
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$end" ]; do
		"$2" && return 0
		sleep 1
	done
	return 1
}
wait_idle() { wait_for "$1" idle_with_key; }
# talk_turn NAME: subscribe to the events, record the speaker, press (edgevoice ctl), play
# the question into the mic's loopback, release; evidence in NAME-*
talk_turn() {
	local n=$1
	edgevoice ctl subscribe >"$O/$n-events.jsonl" 2>"$O/$n-subscribe.err" &
	sub=$!
	arecord -q -D plughw:CARD=Loopback,DEV=1,SUBDEV=0 -f S16_LE -r 16000 -c 1 -d 40 "$O/$n-speaker.wav" 2>"$O/$n-arecord.err" &
	rec=$!
	sleep 1
	note "$n: press"
	edgevoice ctl press >"$O/$n-press.json" 2>&1
	aplay -q -D plughw:CARD=Loopback,DEV=0,SUBDEV=1 /mnt/host/question.wav 2>"$O/$n-aplay.err"
	edgevoice ctl release >"$O/$n-release.json" 2>&1
	note "$n: released"
}
seen_state() { grep -q "\"state\":\"$2\"" "$O/$1-events.jsonl" 2>/dev/null; }
wait_seen() { # TURN STATE SECONDS
	local end=$(($(date +%s) + $3))
	while [ "$(date +%s)" -lt "$end" ]; do
		seen_state "$1" "$2" && return 0
		sleep 0.2
	done
	return 1
}
show() { systemctl show "$@" -p ActiveState,SubState,Result,StatusText,NRestarts,MainPID,ExecMainStatus,ExecMainCode,WatchdogUSec,Type; }
files() {
	stat -c '%n %a %U %G %s %Y' /etc/edgevoice/credential /etc/edgevoice/edgevoice.toml \
		/etc/edgevoice/edgevoice.toml.d/50-boot.toml /home/admin/.ssh/authorized_keys \
		/etc/hostname /etc/sudoers.d/010-edgevoice-admin /etc/ssh/ssh_host_ed25519_key \
		/etc/wpa_supplicant/wpa_supplicant-wlan0.conf \
		/etc/systemd/system/sys-subsystem-net-devices-wlan0.device.wants/wpa_supplicant@wlan0.service 2>&1
}

timeout 300 systemctl is-system-running --wait >"$O/system-running.txt" 2>&1
note "system running: $(cat "$O/system-running.txt")"
systemd-analyze >"$O/systemd-analyze.txt" 2>&1
systemd-analyze blame --no-pager 2>&1 | head -25 >"$O/blame.txt"
systemd-analyze critical-chain edgevoice.service --no-pager >"$O/critical-chain.txt" 2>&1

# boot 1: idle; boot 2 (bad files on FAT): the setup fault
ready=idle_with_key
[ "$phase" = second ] && ready=setup_fault_with_key
if wait_for 240 $ready; then
	echo "$(up)" >"$O/idle-uptime.txt"
	note "$ready"
else
	note "NOT $ready after 240 s"
fi
df -B1M --output=size / | tail -1 | tr -d ' ' >"$O/rootfs-mib.txt"
findmnt -no SOURCE / >"$O/rootfs-dev.txt"
systemctl show edgevoice-growroot.service -p ActiveState,Result,ConditionResult >"$O/growroot.show"
journalctl -b -u edgevoice-growroot -o cat --no-pager >"$O/growroot.journal.txt" 2>&1
edgevoice status -json >"$O/status.json" 2>"$O/status.err"
show edgevoice.service >"$O/edgevoice.show"
show edgevoice-provisioning.service >"$O/provisioning.show"
show edgevoice-firstboot.service >"$O/firstboot.show"
show ssh.service >"$O/ssh.show"
systemctl is-enabled ssh.service wpa_supplicant@wlan0.service >"$O/enabled.txt" 2>&1
files >"$O/files.txt"
cat /run/edgevoice-setup/status >"$O/setup-status.txt" 2>&1
hostname >"$O/hostname.txt"
cat /etc/machine-id >"$O/machine-id.txt"
# the credential's content, compared here (only the verdict leaves the guest)
if cmp -s <(tr -d '\n' </etc/edgevoice/credential) <(tr -d '\n' </mnt/host/token); then echo same; else echo differs; fi >"$O/credential-content.txt"
# the Wi-Fi file: the derived key, never the passphrase (only the verdict leaves the guest)
{ set +x; } 2>/dev/null # the trace would show the passphrase
w=/etc/wpa_supplicant/wpa_supplicant-wlan0.conf
if [ ! -f $w ]; then echo missing; elif grep -qF -- "$(cat /mnt/host/wifi-psk)" $w; then echo passphrase-stored; elif grep -Eq $'^\tpsk=[0-9a-f]{64}$' $w && grep -q '^country=DE$' $w; then echo ok; else echo unexpected; fi >"$O/wifi-conf.txt"
set -x
journalctl -b -u edgevoice-firstboot -o json --no-pager >"$O/firstboot.journal.json"
ls -la /etc/edgevoice /etc/edgevoice/edgevoice.toml.d >"$O/etc-edgevoice.txt" 2>&1
findmnt -no SOURCE,OPTIONS /boot/firmware >"$O/bootfs-mount.txt" 2>&1
ls -la /boot/firmware >"$O/bootfs-ls.txt" 2>&1

if [ "$phase" = first ]; then
	# hardening, recorded
	for u in edgevoice.service edgevoice-provisioning.service; do
		systemd-analyze security --no-pager "$u" >"$O/security-$u.txt" 2>&1
	done
	# the watchdog: a stopped main process is killed and restarted within WatchdogSec + slack
	pid=$(systemctl show -p MainPID --value edgevoice.service)
	n0=$(systemctl show -p NRestarts --value edgevoice.service)
	t0=$(date +%s.%N)
	kill -STOP "$pid"
	note "SIGSTOP $pid (NRestarts $n0)"
	restarted=""
	for _ in $(seq 1 120); do
		p=$(systemctl show -p MainPID --value edgevoice.service)
		if [ "$p" != "$pid" ] && [ "$p" != 0 ] && [ "$(systemctl show -p ActiveState --value edgevoice.service)" = active ]; then
			restarted=1
			break
		fi
		sleep 0.5
	done
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')
	echo "{\"stopped_pid\":$pid,\"new_pid\":${p:-0},\"restarts_before\":$n0,\"restarts_after\":$(systemctl show -p NRestarts --value edgevoice.service),\"seconds\":$secs,\"restarted\":${restarted:-0}}" >"$O/watchdog.json"
	journalctl -b -u edgevoice.service --since "-90s" -o short-monotonic --no-pager >"$O/watchdog.journal.txt"
	wait_idle 120 && note "idle again after the watchdog restart" || note "NOT idle 120 s after the watchdog restart"
	# a clean stop (what poweroff does to the unit): SIGTERM, exit 0 within TimeoutStopSec
	t0=$(date +%s%N)
	systemctl stop edgevoice.service
	t1=$(date +%s%N)
	show edgevoice.service >"$O/stopped.show"
	echo $(((t1 - t0) / 1000000)) >"$O/stop-ms.txt"
	journalctl -b -u edgevoice.service -n 15 -o short-monotonic --no-pager >"$O/stop.journal.txt"
	systemctl start edgevoice.service
	wait_idle 120 && note "idle again after stop/start" || note "NOT idle 120 s after stop/start"
	# a fault that must log warnings: the broker away while the key daemon retries
	systemctl stop edgevoice-emulator.service
	systemctl restart edgevoice-provisioning.service # prefetch: mints at once, and fails
	sleep 10
	systemctl start edgevoice-emulator.service
	sleep 2
	systemctl reload edgevoice-provisioning.service
	wait_idle 120 && note "idle again after the broker came back" || note "NOT idle 120 s after the broker came back"
	# journal priorities: what the units logged, with journald's PRIORITY field
	journalctl -b -p warning -o json --no-pager >"$O/warnings.journal.json"
	journalctl -b -o json --no-pager -u edgevoice -u edgevoice-provisioning >"$O/units.journal.json"
	show edgevoice.service >"$O/final.show"
	# a talk turn through the running service: edgevoice ctl press/release, the question
	# played into snd-aloop, the answer recorded from it
	talk_turn turn1
	wait_seen turn1 speaking 90 && note "turn1: speaking"
	for _ in $(seq 1 450); do # then idle again (the last state event)
		grep '"state":' "$O/turn1-events.jsonl" | tail -1 | grep -q '"state":"idle"' && break
		sleep 0.2
	done
	sleep 0.5
	kill $sub $rec 2>/dev/null
	wait $sub $rec 2>/dev/null
	edgevoice status -json >"$O/turn1-status.json" 2>&1
	note "turn1: done"
	# a second turn; while its answer plays: the hard power-off
	talk_turn turn2
	if wait_seen turn2 speaking 90; then
		note "turn2: speaking: ready for the hard power-off"
		echo speaking >"$O/turn2-at-kill.txt"
	else
		note "turn2: no answer within 90 s; the power-off comes anyway"
	fi
	: >/mnt/host/ready-for-kill
	sleep infinity
else
	# back after a hard power-off: nothing corrupt, setup not applied twice
	dmesg | grep -iE 'EXT4-fs|FAT-fs|recover|corrupt' >"$O/dmesg-fs.txt" 2>&1
	journalctl -b -p err -o short-monotonic --no-pager >"$O/errors.txt" 2>&1
	journalctl --list-boots --no-pager >"$O/boots.txt" 2>&1
	journalctl -b -1 -u edgevoice -n 5 -o short-monotonic --no-pager >"$O/previous-boot.txt" 2>&1
	journalctl -b -1 -u edgevoice -o cat --no-pager 2>&1 | grep -c . >"$O/previous-boot-lines.txt"
	# the file-system checks of this boot (the root's by systemd-fsck-root, or by the
	# initramfs into /run/initramfs/fsck.log)
	cat /run/initramfs/fsck.log >"$O/fsck.txt" 2>/dev/null
	journalctl -b -u systemd-fsck-root -u 'systemd-fsck@*' -o cat --no-pager >>"$O/fsck.txt" 2>&1
	dmesg | grep -iE 'fsck|clean|recovery' >>"$O/fsck.txt" 2>&1
	# the setup fault, as the user sees it
	systemctl show edgevoice.service -p StatusText >"$O/setup-fault.statustext"
	edgevoice status >"$O/setup-fault.status.txt" 2>&1
	journalctl -b -u edgevoice -o json --no-pager >"$O/edgevoice.journal.json"
	cp /boot/firmware/edgevoice-setup.txt "$O/edgevoice-setup.txt" 2>/dev/null
	# fixed: the files corrected on the boot partition, the setup run again, a reload
	cp /mnt/host/good.toml /boot/firmware/edgevoice.toml
	rm -f /boot/firmware/wifi.toml
	systemctl restart edgevoice-firstboot.service # it reloads the running edgevoice itself
	cp /run/edgevoice-setup/status "$O/setup-status-fixed.txt"
	if wait_idle 120; then note "idle after the fix and a reload"; else note "NOT idle 120 s after the fix"; fi
	edgevoice status -json >"$O/status-fixed.json" 2>&1
	note "powering off (clean)"
	sync
	: >/mnt/host/poweroff-started
	systemctl poweroff
fi
