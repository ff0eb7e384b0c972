#!/usr/bin/env bash
# run.sh — boot the lab VM (Debian bookworm amd64, Debian's kernel, real systemd) with the
# given edgevoice .deb(s), run a guest script in it, and collect its JSON results.
#
#   build/vm/run.sh [options] DEB...
#
#   -s, --scenarios "1 2 6"  scenarios to run (default: all the guest script knows; passed
#                            to the guest as LAB_SCENARIOS)
#   -g, --guest DIR          directory copied to the share as lab/ whose guest-main.sh runs
#                            in the guest (default: the repository's lab/)
#   -r, --report FILE        the JSON report (default: dist/lab/report.json)
#   -k, --keep DIR           keep the share (results, console log, journal) in DIR
#                            (default: dist/lab/run, replaced each run)
#   -t, --timeout SECS       kill QEMU after this long (default 900)
#   -m, --memory MB          guest memory (default 2048)
#
# Inputs: the .deb files (installed in the guest with apt, so postinst, sysusers, tmpfiles
# and the udev rules run as on a device); host packages from build/vm/install-deps.sh; the
# cached root filesystem (build/vm/rootfs.sh) and modules (build/vm/modules.sh), built
# here when missing. Needs root (mmdebstrap) the first time.
#
# The guest writes one JSON object per scenario to out/results.jsonl on the 9p share:
# {"name","pass","detail","duration_ms",...}. The report adds the run's timings; the exit
# status is 0 only when every scenario passed and the guest finished (1: a scenario
# failed, 2: the run itself broke).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

scenarios=""
guest=$repo/lab
report=$repo/dist/lab/report.json
keep=$repo/dist/lab/run
timeout_s=900
mem=2048
debs=()
while [ $# -gt 0 ]; do
	case $1 in
	-s | --scenarios) scenarios=$2; shift ;;
	-g | --guest) guest=$2; shift ;;
	-r | --report) report=$2; shift ;;
	-k | --keep) keep=$2; shift ;;
	-t | --timeout) timeout_s=$2; shift ;;
	-m | --memory) mem=$2; shift ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "run: unknown option $1 (see --help)" >&2
		exit 2
		;;
	*) debs+=("$1") ;;
	esac
	shift
done
[ ${#debs[@]} -gt 0 ] || {
	echo "run: give the edgevoice .deb(s) to install (build/deb.sh amd64 builds one; make test-lab does both)" >&2
	exit 2
}
for d in "${debs[@]}"; do
	[ -f "$d" ] || {
		echo "run: $d: no such file" >&2
		exit 2
	}
done
[ -f "$guest/guest-main.sh" ] || {
	echo "run: $guest/guest-main.sh missing" >&2
	exit 2
}
for c in qemu-system-x86_64 mmdebstrap jq mke2fs; do
	command -v "$c" >/dev/null || {
		echo "run: $c not found; run build/vm/install-deps.sh" >&2
		exit 2
	}
done

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
t_start=$(now)

# 1. root filesystem and modules (cached)
t0=$(now)
rootfs=$("$here/rootfs.sh")
t_rootfs=$(secs "$t0" "$(now)")
t0=$(now)
modules=$("$here/modules.sh")
t_modules=$(secs "$t0" "$(now)")
kver=$(cat "$rootfs/kernel-version")
[ "$kver" = "$(cat "$modules/kernel-version")" ] || {
	echo "run: rootfs kernel $kver but modules built for $(cat "$modules/kernel-version")" >&2
	exit 2
}

# 2. the share: debs, modules, the guest script; results come back in out/
share=$keep
rm -rf "$share"
mkdir -p "$share/debs" "$share/modules" "$share/out"
cp "${debs[@]}" "$share/debs/"
cp "$modules"/*.ko "$share/modules/"
cp -r "$guest" "$share/lab"
# the lab's timing probe on the gadget side (lab/probe: a separate module with cgo/alsa-lib;
# the guest has the same bookworm libasound2)
mkdir -p "$share/tools"
(cd "$repo/lab/probe" && CGO_ENABLED=1 go build -trimpath -o "$share/tools/probe" .) || {
	echo "run: building lab/probe failed (needs Go and libasound2-dev: build/install-deps.sh)" >&2
	exit 2
}
printf 'LAB_SCENARIOS=%q\nLAB_KERNEL=%q\n' "$scenarios" "$kver" >"$share/lab/params"

# 3. boot. TCG unless /dev/kvm can run Debian's kernel (a kvm_pvm host cannot).
accel=(-accel tcg,thread=multi -cpu max)
if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && [ -z "${EDGEVOICE_VM_TCG:-}" ]; then
	accel=(-accel kvm -cpu host)
fi
console=$share/console.log
echo "run: booting $(basename "$rootfs") (kernel $kver, ${accel[1]}, ${mem} MB, timeout ${timeout_s} s)" >&2
t_boot=$(now)
set +e
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 "${accel[@]}" -smp 2 -m "$mem" \
	-kernel "$rootfs/vmlinuz" -initrd "$rootfs/initrd.img" \
	-append "console=ttyS0 root=/dev/vda rw panic=-1 quiet loglevel=4 systemd.show_status=0 edgevoice.lab" \
	-drive "file=$rootfs/rootfs.img,format=raw,if=virtio" -snapshot \
	-virtfs "local,path=$share,mount_tag=hostshare,security_model=none,id=hostshare" \
	-nic none -nographic -no-reboot >"$console" 2>&1 </dev/null &
qpid=$!
set -e
# progress: the guest's "lab:" lines from the serial console, with the host's clock
t_test=""
tail -n +1 -F --pid=$qpid "$console" 2>/dev/null | while IFS= read -r line; do
	case $line in
	*"lab: "*)
		msg=${line#*lab: }
		printf '  [%6ss] %s\n' "$(secs "$t_boot" "$(now)")" "${msg%$'\r'}" >&2
		case $msg in "share mounted"*) echo "$(now)" >"$share/.t_test" ;; esac
		;;
	esac
done || true # progress only: never a reason to stop before the report
set +e
wait $qpid
qrc=$?
set -e
t_end=$(now)
[ -f "$share/.t_test" ] && t_test=$(cat "$share/.t_test")

# 4. the report
[ -n "$t_test" ] || t_test=$t_end
guest_rc=$(cat "$share/out/exit-code" 2>/dev/null || echo "")
results=$share/out/results.jsonl
touch "$results"
mkdir -p "$(dirname "$report")"
broke=""
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then broke="QEMU killed after ${timeout_s} s (timeout)"; fi
if [ -z "$broke" ] && [ -z "$guest_rc" ]; then broke="the guest script did not finish (QEMU exit $qrc; see $console)"; fi
if [ -z "$broke" ] && [ ! -s "$results" ]; then broke="the guest reported no scenario (guest exit $guest_rc)"; fi
jq -s \
	--arg kernel "$kver" --arg rootfs "$(basename "$rootfs")" --arg accel "${accel[1]}" \
	--argjson rootfs_s "$t_rootfs" --argjson modules_s "$t_modules" \
	--argjson boot_to_test_s "$(secs "$t_boot" "$t_test")" --argjson vm_s "$(secs "$t_boot" "$t_end")" \
	--argjson total_s "$(secs "$t_start" "$t_end")" --arg qemu_exit "$qrc" --arg guest_exit "$guest_rc" \
	--arg broke "$broke" --arg debs "$(printf '%s\n' "${debs[@]##*/}")" \
	--slurpfile build <(cat "$rootfs/build-times.json") \
	'{
	  ok: ($broke == "" and all(.[]; .pass)),
	  broken: (if $broke == "" then null else $broke end),
	  passed: [.[] | select(.pass) | .name] | length,
	  failed: [.[] | select(.pass | not) | .name],
	  debs: ($debs | split("\n") | map(select(. != ""))),
	  kernel: $kernel, rootfs: $rootfs, accel: $accel,
	  timings_s: {rootfs: $rootfs_s, rootfs_cold_build: $build[0], modules: $modules_s,
	              boot_to_test: $boot_to_test_s, vm: $vm_s, total: $total_s},
	  qemu_exit: $qemu_exit, guest_exit: $guest_exit,
	  scenarios: .
	}' "$results" >"$report"

# 5. summary
echo "run: results (report $report, console and journal in $share)" >&2
jq -r '.scenarios[] | "  \(if .pass then "PASS" else "FAIL" end)  \(.name)  (\(.duration_ms / 1000 | tostring | .[0:5]) s)\(if .pass then "" else "\n        " + (.detail | gsub("\n"; "\n        ")) end)"' "$report" >&2
jq -r '"run: \(.passed) passed, \(.failed | length) failed; boot to test \(.timings_s.boot_to_test) s, VM \(.timings_s.vm) s, total \(.timings_s.total) s"' "$report" >&2
if [ -n "$broke" ]; then
	echo "run: BROKEN: $broke" >&2
	tail -30 "$console" >&2
	exit 2
fi
jq -e .ok "$report" >/dev/null || exit 1
