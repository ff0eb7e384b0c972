# rtc area. hraban/opus (rtc/opus) also wraps libopusfile unless built with the
# nolibopusfile tag, and libopusfile is not installed: without the tag every go
# build/vet/test of ./... fails in pkg-config. Keep the tag in GOFLAGS for all targets.
export GOFLAGS += -tags=nolibopusfile

.PHONY: test-rtc bench-rtc
# test-rtc: the rtc packages under the race detector
test-rtc:
	$(GO) test -race -count=1 ./rtc/...

# bench-rtc: codec, uplink and connect benchmarks side by side in one run
bench-rtc:
	$(GO) test -run XXX -bench . -benchtime=1s ./rtc/...
