package aec

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/hw/aec/aectest"
)

// TestReferenceSampleExact: the speaker side writes in bursts of uneven size (as a
// playback device paces it), the microphone side reads 10 ms frames; the reference comes
// out as one continuous stream, exactly the delay behind, without resyncs.
func TestReferenceSampleExact(t *testing.T) {
	r := NewReference(16000, 200*time.Millisecond)
	r.SetDelay(50 * time.Millisecond) // 800 samples
	var written int
	next := 0.0
	write := func(n int) {
		p := make([]float32, n)
		for i := range p {
			p[i] = float32(written+i) + 1 // sample k holds k+1 (0 = silence)
		}
		written += n
		r.Write(p)
	}
	frame := make([]float32, 160)
	sizes := []int{480, 0, 160, 320, 0, 160, 0, 160} // bursty, 160 a frame on average
	write(800 + 160)
	for k := range 400 {
		write(sizes[k%len(sizes)])
		r.Read(frame)
		if k == 0 {
			next = float64(frame[0]) - 1
		}
		// the frame read is within the slack of "delay behind what was written"
		if lag := float64(written) - next - 160; math.Abs(lag-800) > 1920 {
			t.Fatalf("frame %d: %v samples behind the writer, want 800 ± 1920 (the slack)", k, lag)
		}
		for i, v := range frame {
			if want := float32(next) + 1; v != want {
				t.Fatalf("frame %d sample %d: %v, want %v", k, i, v, want)
			}
			next++
		}
	}
	if r.Resyncs() != 0 {
		t.Errorf("%d resyncs for a jitter within the slack", r.Resyncs())
	}
}

// TestReferenceDelayChange: SetDelay moves the read position by exactly the change.
func TestReferenceDelayChange(t *testing.T) {
	r := NewReference(16000, 200*time.Millisecond)
	p := make([]float32, 160)
	frame := make([]float32, 160)
	k := 0
	step := func() float32 {
		for i := range p {
			p[i] = float32(k*160 + i + 1)
		}
		k++
		r.Write(p)
		r.Read(frame)
		return frame[0]
	}
	for range 10 {
		step()
	}
	before := step()
	r.SetDelay(40 * time.Millisecond)
	after := step()
	if got := before + 160 - after; got != 640 {
		t.Errorf("a 40 ms delay change moved the reference by %v samples, want 640", got)
	}
}

// TestDelayChangeReconverges: the device is re-opened with 40 ms more latency mid-way
// (60 → 100 ms echo path) and reports it; the canceller must cancel at ≥ 25 dB ERLE from
// 2 s after the change (the filter stays valid). Left unreported, the filter must
// re-converge within the same 2 s (also ≥ 25 dB), and do worse than the reported case
// (which shows the alignment is what keeps it).
func TestDelayChangeReconverges(t *testing.T) {
	s := aectest.Default(16000)
	s.DelayChangeAt, s.DelayMs2 = 6, 100
	sc := scene(t, s)
	run := func(report bool) float64 {
		c, err := New(Config{Rate: 16000, Echo: true, NoiseSuppression: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ref := NewReference(16000, 200*time.Millisecond)
		n := c.FrameLen()
		out := make([]float32, len(sc.Mic))
		rf := make([]float32, n)
		change := int(s.DelayChangeAt * 16000)
		for i := 0; i+n <= len(sc.Mic); i += n {
			if report && i == change {
				ref.SetDelay(40 * time.Millisecond)
			}
			// (the scene's echo path is 40 ms longer from the change on: the device plays later)
			ref.Write(sc.Far[i : i+n])
			ref.Read(rf)
			if err := c.Process(out[i:i+n], sc.Mic[i:i+n], rf); err != nil {
				t.Fatal(err)
			}
		}
		return aectest.ERLE(sc.Mic, out, sc.AfterChange)
	}
	reported, unreported := run(true), run(false)
	t.Logf("ERLE 2–4 s after a 60 → 100 ms delay change: %.1f dB reported (Reference.SetDelay), %.1f dB unreported", reported, unreported)
	if reported < 25 {
		t.Errorf("ERLE %.1f dB 2–4 s after a reported delay change (want ≥ 25 dB)", reported)
	}
	if unreported < 25 {
		t.Errorf("ERLE %.1f dB 2–4 s after an unreported delay change (want ≥ 25 dB)", unreported)
	}
	if unreported >= reported {
		t.Errorf("unreported change %.1f dB ≥ reported %.1f dB: the alignment does nothing", unreported, reported)
	}
}

// TestProcessAllocs: a frame through the canceller and the reference allocates nothing.
func TestProcessAllocs(t *testing.T) {
	c, err := New(Config{Rate: 16000, Echo: true, NoiseSuppression: true, AGC: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ref := NewReference(16000, 200*time.Millisecond)
	mic, rf, out := make([]float32, 160), make([]float32, 160), make([]float32, 160)
	for i := range mic {
		mic[i] = float32(0.1 * math.Sin(float64(i)))
	}
	if a := testing.AllocsPerRun(200, func() {
		ref.Write(mic)
		ref.Read(rf)
		_ = c.Process(out, mic, rf)
	}); a != 0 {
		t.Errorf("%v allocations per frame, want 0", a)
	}
}

// TestReferenceResync: when the speaker side runs ahead for good (a stall, clock drift)
// the read position follows after half a second beyond the slack, not at once.
func TestReferenceResync(t *testing.T) {
	r := NewReference(16000, 200*time.Millisecond)
	p, f := make([]float32, 160), make([]float32, 160)
	for range 10 {
		r.Write(p)
		r.Read(f)
	}
	for range 15 { // 150 ms more than read: beyond the 120 ms slack
		r.Write(p)
	}
	for i := range resyncAfter {
		r.Write(p)
		r.Read(f)
		if got := r.Resyncs(); got != 0 && i < resyncAfter-1 {
			t.Fatalf("resynced after %d frames, want %d", i+1, resyncAfter)
		}
	}
	if r.Resyncs() != 1 {
		t.Errorf("%d resyncs, want 1", r.Resyncs())
	}
}

// TestReferenceConcurrent: one writer and one reader goroutine (run with -race).
func TestReferenceConcurrent(t *testing.T) {
	r := NewReference(16000, 100*time.Millisecond)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := make([]float32, 160)
		for range 2000 {
			r.Write(p)
		}
	}()
	f := make([]float32, 160)
	for range 2000 {
		r.Read(f)
	}
	wg.Wait()
}

// BenchmarkProcess is the CPU per 10 ms frame at 16 kHz mono with the live path's
// settings (echo, noise suppression), converged on the room.
func BenchmarkProcess(b *testing.B) {
	sc := scene(b, aectest.Default(16000))
	c, err := New(Config{Rate: 16000, Echo: true, NoiseSuppression: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	n := c.FrameLen()
	out := make([]float32, n)
	frames := len(sc.Mic) / n
	i := 0
	for b.Loop() {
		f := i % frames
		_ = c.Process(out, sc.Mic[f*n:(f+1)*n], sc.Far[f*n:(f+1)*n])
		i++
	}
}

// TestDelayMustNotOvershoot: the canceller covers an echo that arrives up to Tail after
// its reference, never one that arrives before it. With the room's echo 60 ms after the
// far end, a reported device delay up to 60 ms cancels (≥ 25 dB ERLE); 10 ms too much
// and the direct path is lost (< 15 dB). This is why the appliance reports the lowest
// delay the devices can give (cmd/edgevoice echoDelay), not their nominal buffering.
func TestDelayMustNotOvershoot(t *testing.T) {
	s := aectest.Default(16000)
	sc := scene(t, s)
	erle := func(d time.Duration) float64 {
		c, err := New(Config{Rate: 16000, Echo: true, NoiseSuppression: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ref := NewReference(16000, 200*time.Millisecond)
		ref.SetDelay(d)
		n := c.FrameLen()
		out := make([]float32, len(sc.Mic))
		rf := make([]float32, n)
		for i := 0; i+n <= len(sc.Mic); i += n {
			ref.Write(sc.Far[i : i+n])
			ref.Read(rf)
			if err := c.Process(out[i:i+n], sc.Mic[i:i+n], rf); err != nil {
				t.Fatal(err)
			}
		}
		return aectest.ERLE(sc.Mic, out, sc.FarOnly)
	}
	for _, tc := range []struct {
		d        time.Duration
		min, max float64
	}{{30 * time.Millisecond, 25, 99}, {60 * time.Millisecond, 25, 99}, {70 * time.Millisecond, -99, 15}} {
		e := erle(tc.d)
		t.Logf("echo 60 ms after the far end, reference delay %v: ERLE %.1f dB", tc.d, e)
		if e < tc.min || e > tc.max {
			t.Errorf("reference delay %v: ERLE %.1f dB, want %.0f..%.0f dB", tc.d, e, tc.min, tc.max)
		}
	}
}
