# emulator area: realtime/events (data-channel event types) and emulator (the local
# realtime emulator). Targets call go directly.
.PHONY: emulator test-emulator fuzz-events bench-events

EMULATOR_LISTEN  ?= 127.0.0.1:8443
EMULATOR_DIALECT ?= ga

# make emulator [EMULATOR_LISTEN=127.0.0.1:8443] [EMULATOR_DIALECT=ga|preview] [EMULATOR_FLAGS=--drop-after=30s]
emulator: build
	$(BIN)/edgevoice emulator --listen $(EMULATOR_LISTEN) --dialect $(EMULATOR_DIALECT) $(EMULATOR_FLAGS)

# make test-emulator: the event codec and the emulator's own tests (real pion client) under -race
test-emulator:
	$(GO) test -race -count=1 ./realtime/events ./emulator
	$(GO) test -race -count=1 -run 'TestEmulator' ./cmd/edgevoice

# make fuzz-events: short fuzz passes of the event decoder (malformed JSON) and of the
# emulator's mint endpoints (arbitrary bodies)
fuzz-events:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 15s ./realtime/events
	$(GO) test -run '^$$' -fuzz '^FuzzMintBodies$$' -fuzztime 10s ./emulator

# make bench-events: encode/decode cost per event
bench-events:
	$(GO) test -run '^$$' -bench . -benchtime 1s ./realtime/events

ci-extra: fuzz-events
