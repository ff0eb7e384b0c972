#!/usr/bin/env bash
# bench.sh AREA: the benchmarks of one area (make bench-AREA). Timing figures are for a
# person reading them; only bench-dsp's table and bench-keys' p99 are compared to goals
# (README, Performance).
#
#   audio        capture/playback callback bodies per 10 ms period (480 frames), with and
#                without conversion; 0 allocs expected
#   audio-smoke  the same for 100 iterations: CI checks that the benchmarks still run
#   dsp          ONE table, ours vs libspeexdsp q5 (cgo, tag speexdsp, never in the
#                product), same pairs, same 20 ms chunks, timed alternately in one process
#                (the ratio uses thread CPU time, so it holds on a loaded runner)
#   dsp-all      every dsp benchmark (ring, resampler per pair and kernel, speexdsp, mixer,
#                meter) with allocations
#   events       encode/decode cost per data-channel event
#   hw           LED engine cost (Step work, engine CPU by getrusage, bare-timer baseline)
#   keys         key socket `get` latency with prefetch (p50/p99 in µs)
#   rtc          codec and uplink per-frame cost, then press -> first RTP packet over 50
#                cold connects to the emulator (median, p95, ICE+DTLS share)
set -euo pipefail
cd "$(dirname "$0")/.."
tags=${TAGS:-nolibopusfile}
bench() { go test -tags "$tags" -count=1 -run '^$' "$@"; }

case ${1:?usage: build/bench.sh audio|audio-smoke|dsp|dsp-all|events|hw|keys|rtc} in
audio) bench -bench Callback -benchtime 0.5s ./hw/audio/... ;;
audio-smoke) bench -bench Callback -benchtime 100x ./hw/audio/... ;;
dsp)
	out=$(mktemp)
	trap 'rm -f "$out"' EXIT
	if ! EDGEVOICE_BENCH_TABLE=1 go test -tags "$tags speexdsp" -count=1 -run '^TestBenchTable$' \
		-benchtime 0.5s -v ./dsp/resample/ >"$out" 2>&1; then
		cat "$out"
		exit 1
	fi
	grep -E '^(resample:|pair|[0-9]+->)' "$out"
	;;
dsp-all) go test -tags "$tags speexdsp" -count=1 -run '^$' -bench . -benchtime 0.5s ./dsp/... ;;
events) bench -bench . -benchtime 1s "$(go list ./... | grep '/events$')" ;;
hw) bench -bench . -benchtime 1s ./hw/led/ ;;
keys) bench -bench 'BenchmarkKeySocketGet' -benchtime 1000x ./provisioning/... ;;
rtc)
	bench -bench 'Encode20ms|UplinkFrame' -benchtime 1s ./rtc/opus ./rtc
	bench -bench PressToFirstPacket -benchtime 50x ./rtc
	;;
*)
	echo "bench: unknown area $1" >&2
	exit 2
	;;
esac
