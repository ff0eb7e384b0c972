#!/usr/bin/env bash
# rss-run.sh: RSS of `edgevoice run` against the issue-7 goals (idle <= 30 MB, streaming
# <= 45 MB; MB = 10^6 bytes), measured natively from /proc, from bin/ (make build).
#
# bin/edgevoice emulator (own process, free loopback port) -> the key daemon
# bin/edgevoice-provisiond (broker profile) -> bin/edgevoice run (simulated board, a ~100 s
# speech WAV as the mic, a WAV file as the speaker, loopback-only WebRTC). The talk key is
# pressed through script(1)'s pty (the simulated board's terminal: space toggles). Reads
# VmRSS/RssAnon/RssFile of the run process idle (max over RSS_IDLE_SECS after the first
# key) and streaming (max over RSS_TURNS talk turns: RSS_TALK_SECS of uplink, then the
# spoken reply), prints VmHWM and the SIGTERM->exit time, and fails if over a goal.
# Work files: bin/rss-run/.
set -euo pipefail
cd "$(dirname "$0")/.."
idle_goal=${RSS_IDLE_MB:-30}
stream_goal=${RSS_STREAM_MB:-45}
idle_secs=${RSS_IDLE_SECS:-5}
talk_secs=${RSS_TALK_SECS:-4}
turns_want=${RSS_TURNS:-2}

command -v script >/dev/null || { echo "rss-run: needs script(1) (util-linux) to press the talk key" >&2; exit 2; }
ev=$PWD/bin/edgevoice
provisiond=$PWD/bin/edgevoice-provisiond
for b in "$ev" "$provisiond"; do
	[ -x "$b" ] || { echo "rss-run: $b missing; run make build" >&2; exit 1; }
done
D=$PWD/bin/rss-run
rm -rf "$D"
mkdir -p "$D"

epid= provpid= spid= rpid=
cleanup() {
	local rc=$?
	exec 3>&- || true
	# the run process is the child of script(1) when the status query never answered
	[ -n "$rpid" ] || rpid=$(cat "/proc/$spid/task/$spid/children" 2>/dev/null || true)
	if [ -n "$rpid" ]; then
		kill $rpid 2>/dev/null || true
		local i=0
		while [ -e "/proc/${rpid%% *}" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	fi
	for p in $spid $provpid $epid; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

printf 'rss-run-device-token\n' >"$D/device.token"
chmod 600 "$D/device.token"
# the bundled question (44-byte header, then PCM) 40 times: a ~100 s mic; the data size
# field says "to the end of the file"
q=$(git ls-files -- '*/question.wav' | head -1) # the demo's bundled question, wherever it lives
[ -f "$q" ] || { echo "rss-run: the bundled question.wav is missing" >&2; exit 1; }
{
	head -c 40 "$q"
	printf '\377\377\377\377'
	for _ in $(seq 40); do tail -c +45 "$q"; done
} >"$D/mic.wav"
cat >"$D/run.toml" <<TOML
[appliance]
control_socket = "$D/control.sock"
log_format = "text"
[board]
kind = "sim"
[audio]
input_file = "$D/mic.wav"
pace_files = true
output_file = "$D/reply.wav"
[provisioning]
socket = "$D/keys.sock"
[rtc]
loopback_candidates = true
interfaces = ["lo"]
allow_ips = ["127.0.0.0/8"]
TOML

"$ev" emulator -listen 127.0.0.1:0 -device-token rss-run-device-token >"$D/emulator.out" 2>"$D/emulator.log" &
epid=$!
url=
for i in $(seq 100); do
	url=$(sed -n 's/^edgevoice emulator on \(http:[^ ]*\) .*/\1/p' "$D/emulator.out")
	[ -z "$url" ] || break
	sleep 0.1
done
[ -n "$url" ] || { echo "rss-run: the emulator did not start" >&2; cat "$D/emulator.log" >&2; exit 1; }

"$provisiond" provisiond -config "" -profile broker -broker-url "$url" -credential-file "$D/device.token" \
	-socket "$D/keys.sock" -allow-users "$(id -u)" >"$D/provisiond.log" 2>&1 &
provpid=$!
mkfifo "$D/keys"
script -qfec "exec '$ev' run -config '$D/run.toml' 2>'$D/run.log'" /dev/null <"$D/keys" >"$D/terminal.out" 2>&1 &
spid=$!
exec 3>"$D/keys"

st() { "$ev" status -socket "$D/control.sock" -json 2>/dev/null | tr -d ' \n' || true; }
waitfor() { # PATTERN WHAT: poll the status for 30 s
	local i=0
	until st | grep -q "$1"; do
		i=$((i + 1))
		[ $i -le 300 ] || { echo "rss-run: no $2 within 30 s" >&2; tail -20 "$D/run.log" >&2; exit 1; }
		sleep 0.1
	done
}
waitfor '"appliance":{"state":"idle".*"key":{' "idle state with a key"
rpid=$(st | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
[ -n "$rpid" ] && [ -r "/proc/$rpid/status" ] || { echo "rss-run: no pid from edgevoice status" >&2; exit 1; }
i=0
until grep -q 'keys: space' "$D/terminal.out"; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "rss-run: no terminal" >&2; exit 1; }
	sleep 0.1
done

rss= # "VmRSS RssAnon RssFile" in kB, the sample with the largest VmRSS so far
sample() {
	local cur
	cur=$(awk '/^(VmRSS|RssAnon|RssFile):/{printf "%s ", $2}' "/proc/$rpid/status")
	if [ -z "$rss" ] || [ "${cur%% *}" -gt "${rss%% *}" ]; then rss=$cur; fi
}
mb() { awk -v k="$1" 'BEGIN{printf "%.1f MB", k*1024/1e6}'; }
kb() { awk -v mb="$1" 'BEGIN{printf "%d", mb*1e6/1024}'; }
show() { # LABEL "VmRSS RssAnon RssFile" GOAL_MB; returns 1 when over the goal
	local l=$1 goal=$3
	set -- $2
	printf '%-10s VmRSS %s  (RssAnon %s, RssFile %s)' "$l" "$(mb "$1")" "$(mb "$2")" "$(mb "$3")"
	if [ "$1" -le "$(kb "$goal")" ]; then echo "  goal <= $goal MB: ok"; else echo "  goal <= $goal MB: OVER"; return 1; fi
}

for _ in $(seq "$idle_secs"); do sleep 1; sample; done
idle=$rss
rss= n=0
for t in $(seq "$turns_want"); do
	printf ' ' >&3
	waitfor '"appliance":{"state":"listening".*"session":{"state":"connected"' "listening on a connected session (turn $t)"
	for _ in $(seq $((talk_secs * 2))); do sleep 0.5; sample; n=$((n + 1)); done
	printf ' ' >&3
	waitfor '"appliance":{"state":"speaking"' "a spoken reply (turn $t)"
	i=0
	while [ $i -lt 40 ] && st | grep -q '"appliance":{"state":"speaking"'; do sample; n=$((n + 1)); i=$((i + 1)); sleep 0.25; done
done
stream=$rss
turns=$(st | sed -n 's/.*"turns":\([0-9]*\).*/\1/p')
hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$rpid/status")

echo "== edgevoice run (pid $rpid): sim board, WAV mic/speaker, keys from edgevoice-provisiond, emulator in its own process"
rc=0
show idle "$idle" "$idle_goal" || rc=1
show streaming "$stream" "$stream_goal" || rc=1
echo "           (idle: max of $idle_secs samples; streaming: max of $n samples over $turns talk turns)"
echo "peak       VmHWM $(mb "$hwm") (whole run, start-up included)"
echo "== edgevoice status after the turns (the emulator runs as its own process)"
"$ev" status -socket "$D/control.sock" || true
echo "== state changes (run.log)"
grep 'msg=state' "$D/run.log" | sed 's/.* from=/  from=/' | head -30 || true

t0=$(date +%s%N)
kill -TERM "$rpid"
i=0
while kill -0 "$rpid" 2>/dev/null && [ $i -lt 500 ]; do i=$((i + 1)); sleep 0.01; done
t1=$(date +%s%N)
if kill -0 "$rpid" 2>/dev/null; then echo "rss-run: run still running 5 s after SIGTERM" >&2; rc=1; else rpid=; fi
echo "SIGTERM -> exit: $(((t1 - t0) / 1000000)) ms"
grep -q 'msg=stopped' "$D/run.log" || { echo "rss-run: run did not log a clean stop:" >&2; tail -5 "$D/run.log" >&2; rc=1; }
exit $rc
