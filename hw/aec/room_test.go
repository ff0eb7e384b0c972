package aec

import (
	"math"
	"testing"

	"github.com/edgevoice/edgevoice/hw/aec/aectest"
)

// clipPath is the demo's spoken question (espeak-ng, 16 kHz mono), the far end of the
// synthetic room; played backwards it is the near end.
const clipPath = "../../cmd/edgevoice/assets/question.wav"

func scene(t testing.TB, s aectest.Spec) aectest.Scene {
	t.Helper()
	clip, err := aectest.LoadClip(clipPath, s.Rate)
	if err != nil {
		t.Fatal(err)
	}
	return aectest.Build(s, clip)
}

func runRoom(t *testing.T, cfg Config, sc aectest.Scene) aectest.Result {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, err := aectest.Run(c, sc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := aectest.Measure(sc, out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRoom: the room (RT60 0.3 s, 60 ms delay, echo 6 dB below the far end) at
// 16 kHz through the live path's settings: ERLE ≥ 25 dB on far-end-only speech after 2 s
// (and after the double talk), the near end's gain within 3 dB alone and 6 dB in double
// talk, and the near-end speech's spectrum and envelope kept (speechmatch). With the
// canceller off the same measurement must fail (the check can fail).
func TestRoom(t *testing.T) {
	sc := scene(t, aectest.Default(16000))
	r := runRoom(t, Config{Rate: 16000, Echo: true, NoiseSuppression: true}, sc)
	t.Logf("speexdsp MDF + preprocessor: %v", r)
	if r.ERLE < 25 || r.ERLEAfterDT < 25 {
		t.Errorf("ERLE %.1f dB, after double talk %.1f dB (want ≥ 25 dB)", r.ERLE, r.ERLEAfterDT)
	}
	if math.Abs(r.NearGainAlone) > 3 {
		t.Errorf("near-end gain alone %+.2f dB (want within 3 dB)", r.NearGainAlone)
	}
	if math.Abs(r.NearGainDT) > 6 {
		t.Errorf("near-end gain in double talk %+.2f dB (want within 6 dB)", r.NearGainDT)
	}
	for _, p := range r.MatchProblems {
		t.Errorf("near-end speech: %s", p)
	}
	off := runRoom(t, Config{Rate: 16000}, sc)
	if off.ERLE > 3 {
		t.Errorf("with nothing on, ERLE %.1f dB: the measurement does not see the echo", off.ERLE)
	}
}
