package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/hw/aec/aectest"
	"github.com/edgevoice/edgevoice/internal/cli/clitest"
)

// TestAECCommand: `edgevoice aec` on recordings of the synthetic room at the device's
// rates: the output has the mic's rate and length, the echo is gone on far-end-only
// speech (ERLE ≥ 25 dB, the live path's bar), and the near end comes out at its level,
// sample-aligned with the mic (the path's latency taken out).
func TestAECCommand(t *testing.T) {
	for _, rate := range []int{16000, 48000} {
		sc := aectest.Build(aectest.Default(rate), loadQuestion(t, rate))
		dir := t.TempDir()
		ref, mic, out := filepath.Join(dir, "ref.wav"), filepath.Join(dir, "mic.wav"), filepath.Join(dir, "out.wav")
		if err := writeMonoWAV(ref, rate, sc.Far); err != nil {
			t.Fatal(err)
		}
		if err := writeMonoWAV(mic, rate, sc.Mic); err != nil {
			t.Fatal(err)
		}
		r := clitest.Run(t, app, nil, "aec", "-config", "", "-ref", ref, "-mic", mic, "-out", out)
		if r.Code != 0 {
			t.Fatalf("%d Hz: exit %d: %s", rate, r.Code, r.Stderr)
		}
		t.Logf("%d Hz: %s", rate, strings.TrimSpace(r.Stderr))
		got, gotRate, err := readMonoWAV(out)
		if err != nil {
			t.Fatal(err)
		}
		if gotRate != rate || len(got) != len(sc.Mic) {
			t.Fatalf("%d Hz: output %d samples at %d Hz, want %d at %d", rate, len(got), gotRate, len(sc.Mic), rate)
		}
		res, err := aectest.Measure(sc, got)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d Hz: %v", rate, res)
		if res.ERLE < 25 {
			t.Errorf("%d Hz: ERLE %.1f dB (want ≥ 25)", rate, res.ERLE)
		}
		if math.Abs(res.NearGainAlone) > 3 || res.NearLagMs != 0 {
			t.Errorf("%d Hz: near end %+.2f dB at a lag of %.3f ms (want within 3 dB at lag 0: sample-aligned)", rate, res.NearGainAlone, res.NearLagMs)
		}
	}
	// with echo off the tool returns the mic unchanged
	dir := t.TempDir()
	x := []float32{0.5, -0.25, 0.125, 0}
	ref, mic, out := filepath.Join(dir, "ref.wav"), filepath.Join(dir, "mic.wav"), filepath.Join(dir, "out.wav")
	_ = writeMonoWAV(ref, 16000, make([]float32, 4))
	_ = writeMonoWAV(mic, 16000, x)
	if r := clitest.Run(t, app, nil, "aec", "-config", "", "-echo", "off", "-ref", ref, "-mic", mic, "-out", out); r.Code == 0 {
		// noise suppression is on by default: the path still runs, the length holds
		got, _, _ := readMonoWAV(out)
		if len(got) != len(x) {
			t.Errorf("-echo off: %d samples out, want %d", len(got), len(x))
		}
	} else {
		t.Errorf("-echo off: exit %d: %s", r.Code, r.Stderr)
	}
	if r := clitest.Run(t, app, nil, "aec", "-config", "", "-ref", ref, "-out", out); r.Code != 2 {
		t.Errorf("without -mic: exit %d, want 2 (usage)", r.Code)
	}
}

func loadQuestion(t *testing.T, rate int) []float32 {
	t.Helper()
	clip, err := aectest.LoadClip("assets/question.wav", rate)
	if err != nil {
		t.Fatal(err)
	}
	return clip
}
