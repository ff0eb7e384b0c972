#!/usr/bin/env bash
# fuzz.sh AREA: short fuzz passes of one area (make fuzz-AREA); a failing input is written
# to the package's testdata/fuzz/ and fails the run.
#
#   dsp     ring buffer wrap-around and resampler chunk independence, 15 s each
#   events  the event decoder (malformed JSON), 15 s, and the emulator's mint endpoints
#           (arbitrary bodies), 10 s
#   hw      the button debouncer, 15 s
set -euo pipefail
cd "$(dirname "$0")/.."
tags=${TAGS:-nolibopusfile}
fuzz() { # NAME TIME PACKAGE (go test -fuzz takes one package)
	echo "fuzz: $1 in $3 for $2"
	go test -tags "$tags" -run '^$' -fuzz "^$1\$" -fuzztime "$2" "$3"
}

case ${1:?usage: build/fuzz.sh dsp|events|hw} in
dsp)
	fuzz FuzzWrapAround 15s ./dsp/ring/
	fuzz FuzzChunkIndependence 15s ./dsp/resample/
	;;
events)
	fuzz FuzzDecode 15s ./realtime/events
	fuzz FuzzMintBodies 10s ./emulator
	;;
hw) fuzz FuzzDebounce 15s ./hw/button/ ;;
*)
	echo "fuzz: unknown area $1" >&2
	exit 2
	;;
esac
