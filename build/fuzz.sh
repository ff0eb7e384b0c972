#!/usr/bin/env bash
# fuzz.sh AREA: short fuzz passes of one area (make fuzz-AREA); a failing input is written
# to the package's testdata/fuzz/ and fails the run.
#
# A pass is a number of executions, not a duration: with a duration (-fuzztime 15s) Go's
# fuzz coordinator (go1.26, golang/go#75804) can report its own deadline as a failure,
# "context deadline exceeded", when a worker is busy as the time runs out, which a loaded
# CI machine hits now and then. The counts below take about the time given on the build
# machine when idle; a busy machine takes longer and still passes. Minimizing a new
# input is capped at 5 s so that a large seed (the example config) cannot stall a pass.
#
#   dsp     ring buffer wrap-around and resampler chunk independence, ~15 s each
#   events  the event decoder (malformed JSON), ~15 s, and the emulator's mint endpoints
#           (arbitrary bodies), ~10 s
#   hw      the button debouncer, ~15 s
#   config  the config decoder (arbitrary files: no panic, finite numbers, print round
#           trip), ~10 s
#   broker  the key broker's request handling (bodies, tokens), ~15 s
set -euo pipefail
cd "$(dirname "$0")/.."
tags=${TAGS:-nolibopusfile}
# fuzz NAME EXECS: the package is the one whose tests define NAME, so a package move does
# not break the target (go test -fuzz takes one package)
fuzz() {
	local dir
	dir=$(grep -rl --include='*_test.go' "^func $1(" . | xargs -r dirname | sort -u)
	[ -n "$dir" ] && [ "$(wc -l <<<"$dir")" = 1 ] || {
		echo "fuzz: $1 is defined in ${dir:-no package}; want exactly one" >&2
		exit 1
	}
	echo "fuzz: $1 in $dir, $2 executions"
	go test -tags "$tags" -run '^$' -fuzz "^$1\$" -fuzztime "${2}x" -fuzzminimizetime 5s "$dir"
}

case ${1:?usage: build/fuzz.sh dsp|events|hw|config|broker} in
dsp)
	fuzz FuzzWrapAround 150000
	fuzz FuzzChunkIndependence 110000
	;;
events)
	fuzz FuzzDecode 900000
	fuzz FuzzMintBodies 50000
	;;
hw) fuzz FuzzDebounce 150000 ;;
config) fuzz FuzzConfigDecode 200000 ;;
broker) fuzz FuzzRequest 20000 ;;
*)
	echo "fuzz: unknown area $1" >&2
	exit 2
	;;
esac
