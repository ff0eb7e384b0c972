# edgevoice: build and test entry points. One line per target; anything longer is a script
# in build/. Set up a machine once with build/install-deps.sh (make installs nothing).
GO      ?= go
PKGS    ?= ./...
ARCHES  ?= arm64 armv7
# evaluated once (not per recipe), so both .deb files of one `make deb` get the same version
ifeq ($(origin VERSION),undefined)
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
endif
export VERSION
# nolibopusfile: rtc/opus uses raw Opus packets only, so nothing links libopusfile
# (the .deb depends on libopus0 alone). Passed to every go command that builds the product.
TAGS    := nolibopusfile
LDFLAGS := -s -w -X github.com/edgevoice/edgevoice/internal/cli.version=$(VERSION)
export TAGS

.PHONY: all deps build lint vet test test-fast test-slow ci-extra clean arm64 armv7 amd64 cross size deb deploy test-arm test-lab test-audio-arm64 demo run sim emulator audio-devices configs keys-demo rss-run bench-audio bench-audio-smoke bench-dsp bench-dsp-all bench-events bench-hw bench-keys bench-rtc fuzz-dsp fuzz-events fuzz-hw fuzz-config fuzz-broker image flash test-image test-repro soak soak-short

all: build
# the Debian packages and Go modules the build and the tests need (idempotent; root or sudo)
deps: ; bash build/install-deps.sh
# bin/edgevoice, bin/edgevoice-provisiond (the key daemon) and bin/edgevoice-broker, native
build: ; $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...
# gofmt, go vet and staticcheck (pinned in build/tools/go.mod); CI runs it
lint: ; build/lint.sh $(PKGS)
vet: ; $(GO) vet -tags $(TAGS) $(PKGS)
# go vet, then the unit tests under the race detector (make test PKGS=./rtc/... for one area)
test: vet ; $(GO) test -tags $(TAGS) -race -count=1 -timeout 20m $(PKGS)
# the same without vet or the race detector, for a quick edit loop
test-fast: ; $(GO) test -tags $(TAGS) -count=1 $(PKGS)
# the slow suites that skip themselves unless EDGEVOICE_SLOW=1 (loss sweep, 200 connects, the echo loop end to end,
# broker load, 1-hour resampler drift, 10 s paced capture), in the packages that have them (make test ran
# the rest); PKGS= given on the command line runs those instead; about 3 min
SLOW_PKGS = $(if $(filter command line,$(origin PKGS)),$(PKGS),$(shell grep -rl --include='*_test.go' --exclude-dir=.git --exclude-dir=dist EDGEVOICE_SLOW . | xargs -r -n1 dirname | sort -u))
test-slow: ; EDGEVOICE_SLOW=1 $(GO) test -tags $(TAGS) -count=1 -timeout 40m $(SLOW_PKGS)
# what CI runs after `make lint test`, each as its own section of .ci/run (this line is the list)
ci-extra: deb bench-dsp bench-keys bench-audio-smoke fuzz-events fuzz-config fuzz-broker test-slow soak-short test-arm test-aec-arm test-lab image test-repro test-image
clean: ; rm -rf bin dist

# bin/linux-ARCH/: every binary cross-compiled with cgo for the board (build/cross.sh; amd64 for the VM lab)
arm64 armv7 amd64: ; build/cross.sh $@
cross: $(ARCHES)
# the stripped arm64 edgevoice binary (goal: at most 20 MB)
size: arm64 ; @stat -c '%s' bin/linux-arm64/edgevoice | awk '{printf "arm64 stripped: %.1f MB (%d bytes)\n", $$1/1e6, $$1}'
# dist/edgevoice_<version>_<arch>.deb, always rebuilt from the sources, then checked (build/check-deb.sh)
deb: ; build/deb.sh $(ARCHES)
# make soak [SOAK_DURATION=1h]: talk turns through the control socket against the emulator with a
# fault every 10th turn; checks answers, stuck states, RSS ±3 MB, goroutines (build/soak.sh)
soak: ; SOAK_DURATION=$(or $(SOAK_DURATION),1h) build/soak.sh
# the same for 3 minutes (CI, in ci-extra: about 3.5 min)
soak-short: ; SOAK_DURATION=3m build/soak.sh
# make deploy HOST=user@board [DEB_ARCH=arm64|armhf|amd64]: build the .deb for the board's architecture (asked over ssh; ARMv6 is refused), install it without prompts, show status
deploy: ; build/deploy.sh '$(HOST)' $(DEB_ARCH)
# cgo-free test binaries of every package under qemu, then the real ARM binaries (version, demo)
test-arm: ; ARCHES='$(ARCHES)' build/test-arm.sh
# the VM lab (issue 12): the amd64 package installed under a real systemd with gpio-sim and a
# USB sound card (lab/README.md); host packages from build/vm/install-deps.sh (build/install-deps.sh
# runs it); caches in ~/.cache/edgevoice/vm; about 10 min under TCG, report in dist/lab/report.json
test-lab: ; build/test-lab.sh $(LAB_ARGS)
# dist/edgevoice-<version>-rpi-arm64.img.xz (+ .sha256, .bmap): Debian bookworm arm64 for the Pi
# with the arm64 .deb and first-boot setup; root; host packages from build/image/install-deps.sh
image: ; build/image/build.sh
# make flash DEV=/dev/sdX [FLASH_ARGS=-y]: write the newest image to a removable card (asks first)
flash: ; build/image/flash.sh $(FLASH_ARGS) '$(DEV)'
# boot the built image under qemu-system-aarch64 (TCG) with test first-boot files and check it
test-image: ; build/image/test-image.sh $(TEST_IMAGE_ARGS)
# build the image's ext4 root twice from one cached tree and compare the sha256s (~1 min)
test-repro: ; build/image/test-repro.sh
# hw/audio's cgo tests (real ALSA through the file plugin) built for arm64 and run under qemu
test-audio-arm64: ; build/test-audio-arm64.sh
# hw/aec's tests (ERLE, double talk, delay change, allocations) and its CPU per frame on arm64 and armhf under qemu
test-aec-arm: ; ARCHES='$(or $(AEC_ARCHES),arm64 armhf)' build/test-aec-arm.sh
# the measurement that chose speexdsp for hw/aec: both libraries in the synthetic room (ERLE, double talk, delay change) and their CPU per 10 ms frame
aec-compare: ; $(GO) test -tags webrtcaudio -count=1 -run Compare -bench Frame -benchtime 2000x -v ./hw/aec/internal/webrtcref/

# one full talk turn on a simulated board against the local emulator (no hardware, no account)
demo: build ; bin/edgevoice demo -out bin/demo-reply.wav
# the interactive simulated appliance (terminal talk key, default sound devices, the emulator)
run: build ; bin/edgevoice run -config configs/dev.toml -emulator
# the simulated board alone in this terminal (space = talk, m = mute, +/- volume, q = quit)
sim: build ; bin/edgevoice sim -config ""
# make emulator [EMULATOR_LISTEN=127.0.0.1:8443] [EMULATOR_DIALECT=ga|preview] [EMULATOR_FLAGS=-drop-after=30s]
emulator: build ; bin/edgevoice emulator -listen $(or $(EMULATOR_LISTEN),127.0.0.1:8443) -dialect $(or $(EMULATOR_DIALECT),ga) $(EMULATOR_FLAGS)
# `edgevoice devices` against the ALSA file-plugin test devices of hw/audio/audiotest
audio-devices: build ; ALSA_CONFIG_PATH=$$($(GO) run ./build/alsarig bin/alsarig) bin/edgevoice devices -config '' -backend alsa
# regenerate configs/edgevoice.toml.example from the config structs (the test that checks it, with -update)
configs: ; $(GO) test -tags $(TAGS) -count=1 -run '^TestExampleConfig$$' $$(dirname $$(grep -rl --include='*_test.go' 'func TestExampleConfig(' .)) -update
# key daemon + broker on loopback in front of the emulator: tokens, keys, the daemon's idle RSS
keys-demo: build ; build/keys-demo.sh
# RSS of `edgevoice run` idle and over talk turns against the goals (build/rss-run.sh)
rss-run: build ; build/rss-run.sh

# benchmarks and fuzz passes, one area each (build/bench.sh, build/fuzz.sh say what runs)
bench-audio bench-audio-smoke bench-dsp bench-dsp-all bench-events bench-hw bench-keys bench-rtc: ; build/bench.sh $(@:bench-%=%)
fuzz-dsp fuzz-events fuzz-hw fuzz-config fuzz-broker: ; build/fuzz.sh $(@:fuzz-%=%)
