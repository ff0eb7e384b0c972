# dsp area: the side-by-side resampler table against libspeexdsp, all dsp benchmarks,
# a short fuzz pass, and the dsp tests on arm64 under qemu (NEON kernel).
.PHONY: bench-dsp bench-dsp-all fuzz-dsp test-dsp-arm64

DSP_TMP ?= /tmp/edgevoice-dsp

# make bench-dsp: ONE table, ours vs libspeexdsp q5 (cgo, tag speexdsp, never in the
# product), same pairs, same 20 ms chunks, benchmarked alternately in one test process.
bench-dsp: deps
	@mkdir -p $(DSP_TMP)
	@EDGEVOICE_BENCH_TABLE=1 $(GO) test -tags speexdsp -count=1 -run '^TestBenchTable$$' \
		-benchtime 0.5s -v ./dsp/resample/ > $(DSP_TMP)/bench.out 2>&1 || { cat $(DSP_TMP)/bench.out; exit 1; }
	@grep -E '^(resample:|pair|[0-9]+->)' $(DSP_TMP)/bench.out

# make bench-dsp-all: every dsp benchmark (ring, resampler per pair and kernel, speexdsp,
# mixer, meter) with allocations reported.
bench-dsp-all: deps
	$(GO) test -tags speexdsp -count=1 -run '^$$' -bench . -benchtime 0.5s ./dsp/...

# make fuzz-dsp: 15 s each for ring wrap-around and resampler chunk independence
fuzz-dsp:
	$(GO) test -run '^$$' -fuzz '^FuzzWrapAround$$' -fuzztime 15s ./dsp/ring/
	$(GO) test -run '^$$' -fuzz '^FuzzChunkIndependence$$' -fuzztime 15s ./dsp/resample/

# make test-dsp-arm64: the dsp tests built for arm64 (NEON kernel) and run under qemu
# (-short skips the 1-hour resampler run, which takes minutes under emulation)
test-dsp-arm64: deps
	@mkdir -p $(DSP_TMP)
	@for p in ring resample mix meter; do \
		CGO_ENABLED=0 GOARCH=arm64 $(GO) test -c -o $(DSP_TMP)/$$p.arm64.test ./dsp/$$p/ || exit 1; \
		echo "qemu-aarch64 dsp/$$p"; \
		(cd dsp/$$p && qemu-aarch64-static $(DSP_TMP)/$$p.arm64.test -test.count=1 -test.short -test.v) \
			> $(DSP_TMP)/$$p.arm64.out 2>&1 || { cat $(DSP_TMP)/$$p.arm64.out; exit 1; }; \
		grep -E 'kernel|^(ok|PASS|FAIL)' $(DSP_TMP)/$$p.arm64.out | head -3; \
	done

# CI prints the table too (about 10-30 s; the ratio uses thread CPU time, so it is stable
# on a loaded runner).
ci-extra: bench-dsp
