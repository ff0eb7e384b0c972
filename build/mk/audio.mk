# audio area (hw/audio, edgevoice devices/record/play/levels).
.PHONY: test-audio test-audio-slow bench-audio bench-audio-smoke audio-devices test-audio-arm64

AUDIO_TMP ?= /tmp/edgevoice-audio

# make test-audio: hw/audio (real ALSA through the file plugin, malgo's null backend,
# reopen/backoff) and the audio subcommands, under the race detector.
test-audio: deps
	$(GO) test -race -count=1 ./hw/audio/...
	$(GO) test -race -count=1 -run 'DevicesCommand|RecordCommand|RecordUnknown|PlayCommand|LevelsCommand' ./cmd/edgevoice/

# make test-audio-slow: the paced-capture timing over 10 s instead of 1 s.
test-audio-slow:
	EDGEVOICE_SLOW=1 $(GO) test -count=1 -run 'Null' -v ./hw/audio/malgo/

# make bench-audio: cost of the data callback bodies per 10 ms period (480 frames),
# capture and playback, with and without format conversion; 0 allocs expected.
bench-audio:
	$(GO) test -count=1 -run '^$$' -bench 'Callback' -benchtime 0.5s ./hw/audio/

# CI: the benchmarks must still run (a few iterations, no timing claims).
bench-audio-smoke:
	$(GO) test -count=1 -run '^$$' -bench 'Callback' -benchtime 100x ./hw/audio/

# make audio-devices: `edgevoice devices` against the file-plugin test devices.
audio-devices: build
	@mkdir -p $(AUDIO_TMP)
	@printf 'package main\nimport ("fmt";"os";"github.com/edgevoice/edgevoice/hw/audio/audiotest")\nfunc main(){e,err:=audiotest.WriteALSAConfig(os.Args[1]);if err!=nil{panic(err)};fmt.Print(e)}\n' > $(AUDIO_TMP)/rig.go
	ALSA_CONFIG_PATH=$$($(GO) run $(AUDIO_TMP)/rig.go $(AUDIO_TMP)) $(BIN)/edgevoice devices -config '' -backend alsa

ci-extra: bench-audio-smoke

# make test-audio-arm64: hw/audio built for arm64 (cgo, cross compiler) and run under
# qemu against the arm64 libasound from multiarch: real ALSA file-plugin tests included.
test-audio-arm64: deps
	@mkdir -p $(AUDIO_TMP)
	CC=aarch64-linux-gnu-gcc CGO_ENABLED=1 GOARCH=arm64 $(GO) test -c -o $(AUDIO_TMP)/audio.arm64.test ./hw/audio/
	CC=aarch64-linux-gnu-gcc CGO_ENABLED=1 GOARCH=arm64 $(GO) test -c -o $(AUDIO_TMP)/malgo.arm64.test ./hw/audio/malgo/
	cd $(AUDIO_TMP) && timeout 300 qemu-aarch64-static -L / ./audio.arm64.test -test.count=1 -test.run 'Clip|Convert|WAV|Reopen|Close'
	cd $(AUDIO_TMP) && timeout 300 qemu-aarch64-static -L / ./malgo.arm64.test -test.count=1 -test.run 'ALSA'
