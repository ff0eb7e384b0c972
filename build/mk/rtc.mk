# rtc area. hraban/opus (rtc/opus) also wraps libopusfile unless built with the
# nolibopusfile tag; rtc only uses raw Opus packets, so the product is built with the
# tag and never links libopusfile (install-deps.sh installs libopusfile-dev only so a
# plain `go test ./...` without the tag compiles too). Keep the tag in GOFLAGS for all targets.
# `go env GOFLAGS` keeps what the environment or `go env -w` set (here -buildvcs=false);
# an exported GOFLAGS would otherwise replace it. If another area needs build tags too,
# merge them into this one -tags list (the last -tags flag wins).
export GOFLAGS := $(strip $(filter-out -tags=nolibopusfile,$(shell $(GO) env GOFLAGS)) -tags=nolibopusfile)

.PHONY: test-rtc bench-rtc
# test-rtc: the rtc packages under the race detector (EDGEVOICE_SLOW=1 adds the
# 5/10/20 % loss sweep and the 200-connect stall histogram)
test-rtc:
	$(GO) test -race -count=1 ./rtc/...

# bench-rtc: codec and uplink per-frame cost, then press → first RTP packet over 50
# cold connects to the emulator (median, p95, ICE+DTLS share)
bench-rtc:
	$(GO) test -run XXX -bench 'Encode20ms|UplinkFrame' -benchtime=1s ./rtc/opus ./rtc
	$(GO) test -run XXX -bench PressToFirstPacket -benchtime=50x ./rtc
