#!/usr/bin/env bash
# keys-demo.sh: the key path end to end on loopback, from bin/ (make build): the emulator
# as the upstream service, the reference broker in front of it with one registered device,
# then the key daemon as the device runs it. Shows that the device token gets a key, that a
# wrong token gets 401, `keys get` and `keys status` over the daemon's socket, and the
# daemon's idle memory (README, Performance: goal <= 15 MB). Work files: bin/keys-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin
ev=$bin/edgevoice
provisiond=$bin/edgevoice-provisiond
broker=$bin/edgevoice-broker
for b in "$ev" "$provisiond" "$broker"; do
	[ -x "$b" ] || { echo "keys-demo: $b missing; run make build" >&2; exit 1; }
done
dir=$bin/keys-demo
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"

pids=()
trap 'rc=$?; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; exit $rc' EXIT
waitfor() { # WHAT COMMAND...: poll for 10 s
	local i=0
	until "${@:2}" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "keys-demo: $1 did not come up within 10 s; logs in $dir" >&2; exit 1; }
		sleep 0.1
	done
}
port() { (exec 3<>"/dev/tcp/127.0.0.1/$1"); }

printf 'test-api-key\n' >upstream.key
chmod 600 upstream.key
"$ev" emulator -listen 127.0.0.1:18443 >emulator.log 2>&1 &
pids+=($!)
"$broker" broker -profile azure -deployment gpt-realtime -credential-file upstream.key -pin-session \
	-mint-url http://127.0.0.1:18443/openai/v1/realtime/client_secrets -sdp-url http://127.0.0.1:18443/openai/v1/realtime/calls \
	-listen 127.0.0.1:18080 -database broker.db >broker.log 2>&1 &
pids+=($!)
waitfor "the emulator" port 18443
waitfor "the broker" port 18080
"$broker" device add -database broker.db kitchen >device.token 2>/dev/null
chmod 600 device.token
printf 'evd_%s\n' "not-a-registered-device-token-0000000000000" >wrong.token
chmod 600 wrong.token

echo "== check with the device token"
"$provisiond" check -profile broker -broker-url http://127.0.0.1:18080 -credential-file device.token
echo "== check with a wrong token (must fail)"
if "$provisiond" check -profile broker -broker-url http://127.0.0.1:18080 -credential-file wrong.token; then
	echo "keys-demo: a wrong device token was accepted" >&2
	exit 1
fi

"$provisiond" provisiond -config "" -profile broker -broker-url http://127.0.0.1:18080 -credential-file device.token \
	-socket "$PWD/keys.sock" -allow-users "$(id -u)" >provisiond.log 2>&1 &
ppid=$!
pids+=($ppid)
waitfor "the key socket" test -S keys.sock
echo "== keys get"
"$provisiond" keys -socket keys.sock get
sleep 3
echo "== keys status (the refill runs 2 s after a hand-out)"
"$provisiond" keys -socket keys.sock status
echo "== edgevoice-provisiond idle memory (what edgevoice-provisioning.service runs)"
grep -E 'VmRSS|RssAnon|RssFile' "/proc/$ppid/status"
