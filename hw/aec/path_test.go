package aec

import (
	"math"
	"testing"

	"github.com/edgevoice/edgevoice/hw/aec/aectest"
)

// runPath streams sc through a Path at the scene's rate in chunks of chunk samples and
// returns the output shifted back by the path's stated latency (so it lines up with the
// input sample for sample), and the path.
func runPath(t *testing.T, sc aectest.Scene, cfg Config, chunk int) []float32 {
	t.Helper()
	p, err := NewPath(PathConfig{StreamRate: sc.Rate, Canceller: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := make([]float32, 0, len(sc.Mic)+p.MaxOut(chunk))
	buf := make([]float32, p.MaxOut(chunk))
	for i := 0; i+chunk <= len(sc.Mic); i += chunk {
		p.Far(sc.Far[i : i+chunk])
		n, err := p.Mic(buf, sc.Mic[i:i+chunk])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	lat := int(math.Round(p.Latency().Seconds() * float64(sc.Rate)))
	t.Logf("rate %d: path latency %v (%d samples)", sc.Rate, p.Latency(), lat)
	aligned := make([]float32, len(sc.Mic))
	if lat < len(out) {
		copy(aligned, out[lat:])
	}
	return aligned
}

// TestPathRates: the live path (the session's 48 kHz, and the device's 16 kHz) through
// the canceller at 16 kHz: the room's bars hold, and the output lines up with the input
// within a millisecond once the stated latency is taken out.
func TestPathRates(t *testing.T) {
	for _, rate := range []int{48000, 16000} {
		sc := scene(t, aectest.Default(rate))
		out := runPath(t, sc, Config{Echo: true, NoiseSuppression: true}, rate/100)
		r, err := aectest.Measure(sc, out)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d Hz: %v", rate, r)
		if r.ERLE < 25 || math.Abs(r.NearGainAlone) > 3 || math.Abs(r.NearGainDT) > 6 || len(r.MatchProblems) > 0 {
			t.Errorf("%d Hz: ERLE %.1f dB (≥ 25), near gain %+.2f dB alone (±3), %+.2f dB double talk (±6), speech %v",
				rate, r.ERLE, r.NearGainAlone, r.NearGainDT, r.MatchProblems)
		}
		if math.Abs(r.NearLagMs) > 1 {
			t.Errorf("%d Hz: output %.2f ms off the input after taking out the stated latency", rate, r.NearLagMs)
		}
	}
}

// TestPathAllocs: Far and Mic allocate nothing.
func TestPathAllocs(t *testing.T) {
	p, err := NewPath(PathConfig{StreamRate: 48000, Canceller: Config{Echo: true, NoiseSuppression: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := make([]float32, 480)
	for i := range x {
		x[i] = float32(0.1 * math.Sin(float64(i)/7))
	}
	dst := make([]float32, p.MaxOut(len(x)))
	if a := testing.AllocsPerRun(200, func() {
		p.Far(x)
		_, _ = p.Mic(dst, x)
	}); a != 0 {
		t.Errorf("%v allocations per 10 ms, want 0", a)
	}
}

// TestPathHoldUntilConverged: with HoldUntilConverged the output is silent while the far
// end plays until the canceller cancels; it converges within the first 4 s of far-end
// speech, and afterwards the near end passes at its level (full duplex).
func TestPathHoldUntilConverged(t *testing.T) {
	sc := scene(t, aectest.Default(16000))
	p, err := NewPath(PathConfig{StreamRate: 16000, HoldUntilConverged: true, Canceller: Config{Echo: true, NoiseSuppression: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := make([]float32, len(sc.Mic))
	buf := make([]float32, p.MaxOut(160))
	convergedAt, w := -1, 0
	for i := 0; i+160 <= len(sc.Mic); i += 160 {
		p.Far(sc.Far[i : i+160])
		n, err := p.Mic(buf, sc.Mic[i:i+160])
		if err != nil {
			t.Fatal(err)
		}
		w += copy(out[w:], buf[:n])
		if convergedAt < 0 && p.Converged() {
			convergedAt = i
		}
	}
	t.Logf("converged after %.2f s of the far end", float64(convergedAt)/16000)
	if convergedAt < 0 || convergedAt > 4*16000 {
		t.Fatalf("converged at sample %d, want within 4 s", convergedAt)
	}
	var held float64
	for _, v := range out[8000:min(convergedAt, len(out))] { // the far end plays from the start
		held += float64(v) * float64(v)
	}
	if held != 0 {
		t.Errorf("the output carried energy %g before the canceller converged", held)
	}
	if g, _ := aectest.NearGain(sc.Near, out[160:], sc.DoubleTalk, 320); math.Abs(g) > 6 {
		t.Errorf("near end in double talk after convergence %+.2f dB (want within 6 dB)", g)
	}
}

// BenchmarkPath is the live path's CPU per 10 ms at the session's 48 kHz: the far end
// and the mic converted to 16 kHz, cancelled (echo, noise suppression) and back.
func BenchmarkPath(b *testing.B) {
	sc := scene(b, aectest.Default(48000))
	p, err := NewPath(PathConfig{StreamRate: 48000, HoldUntilConverged: true, Canceller: Config{Echo: true, NoiseSuppression: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	buf := make([]float32, p.MaxOut(480))
	frames := len(sc.Mic) / 480
	i := 0
	for b.Loop() {
		f := i % frames
		p.Far(sc.Far[f*480 : (f+1)*480])
		_, _ = p.Mic(buf, sc.Mic[f*480:(f+1)*480])
		i++
	}
}
