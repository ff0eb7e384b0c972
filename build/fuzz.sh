#!/usr/bin/env bash
# fuzz.sh AREA: short fuzz passes of one area (make fuzz-AREA); a failing input is written
# to the package's testdata/fuzz/ and fails the run.
#
#   dsp     ring buffer wrap-around and resampler chunk independence, 15 s each
#   events  the event decoder (malformed JSON), 15 s, and the emulator's mint endpoints
#           (arbitrary bodies), 10 s
#   hw      the button debouncer, 15 s
#   config  the config decoder (arbitrary files: no panic, finite numbers, print round trip), 10 s
#   broker  the key broker's request handling (bodies, tokens), 15 s
set -euo pipefail
cd "$(dirname "$0")/.."
tags=${TAGS:-nolibopusfile}
# fuzz NAME TIME: the package is the one whose tests define NAME, so a package move does
# not break the target (go test -fuzz takes one package)
fuzz() {
	local dir
	dir=$(grep -rl --include='*_test.go' "^func $1(" . | xargs -r dirname | sort -u)
	[ -n "$dir" ] && [ "$(wc -l <<<"$dir")" = 1 ] || {
		echo "fuzz: $1 is defined in ${dir:-no package}; want exactly one" >&2
		exit 1
	}
	echo "fuzz: $1 in $dir for $2"
	go test -tags "$tags" -run '^$' -fuzz "^$1\$" -fuzztime "$2" "$dir"
}

case ${1:?usage: build/fuzz.sh dsp|events|hw|config|broker} in
dsp)
	fuzz FuzzWrapAround 15s
	fuzz FuzzChunkIndependence 15s
	;;
events)
	fuzz FuzzDecode 15s
	fuzz FuzzMintBodies 10s
	;;
hw) fuzz FuzzDebounce 15s ;;
config) fuzz FuzzConfigDecode 10s ;;
broker) fuzz FuzzRequest 15s ;;
*)
	echo "fuzz: unknown area $1" >&2
	exit 2
	;;
esac
