//go:build webrtcaudio

package webrtcref

import (
	"testing"

	"github.com/edgevoice/edgevoice/hw/aec"
	"github.com/edgevoice/edgevoice/hw/aec/aectest"
)

const clipPath = "../../../../cmd/edgevoice/assets/question.wav"

type proc interface {
	aectest.Processor
	Close()
}

type candidate struct {
	name string
	make func(rate int) (proc, error)
}

func candidates() []candidate {
	return []candidate{
		{"speexdsp MDF 200ms", func(r int) (proc, error) { return aec.New(aec.Config{Rate: r, Echo: true}) }},
		{"speexdsp MDF 200ms + NS", func(r int) (proc, error) {
			return aec.New(aec.Config{Rate: r, Echo: true, NoiseSuppression: true})
		}},
		{"webrtc AEC (extended, delay-agnostic)", func(r int) (proc, error) { return New(r, AEC, false, false, 0) }},
		{"webrtc AEC + NS", func(r int) (proc, error) { return New(r, AEC, true, false, 0) }},
		{"webrtc AEC + NS, delay 60ms reported", func(r int) (proc, error) { return New(r, AEC, true, false, 60) }},
		{"webrtc AECM + NS", func(r int) (proc, error) { return New(r, AECM, true, false, 60) }},
	}
}

// TestCompare runs every candidate through the room and a delay change and logs
// the figures (the choice is made by reading them; NOTES.md has the table).
func TestCompare(t *testing.T) {
	clip, err := aectest.LoadClip(clipPath, 16000)
	if err != nil {
		t.Fatal(err)
	}
	sc := aectest.Build(aectest.Default(16000), clip)
	ch := aectest.Default(16000)
	ch.DelayChangeAt, ch.DelayMs2 = 6, 100
	scChange := aectest.Build(ch, clip)
	for _, c := range candidates() {
		p, err := c.make(16000)
		if err != nil {
			t.Fatal(err)
		}
		out, err := aectest.Run(p, sc)
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		r, err := aectest.Measure(sc, out)
		if err != nil {
			t.Fatal(err)
		}
		p, _ = c.make(16000)
		out, _ = aectest.Run(p, scChange)
		p.Close()
		rc, _ := aectest.Measure(scChange, out)
		t.Logf("%s: %v; speech problems %v; ERLE 2-4 s after a 60→100 ms delay change %.1f dB", c.name, r, r.MatchProblems, rc.ERLEAfterChange)
	}
}

// BenchmarkFrame is the CPU per 10 ms frame at 16 kHz mono, echo path converged.
func BenchmarkFrame(b *testing.B) {
	clip, err := aectest.LoadClip(clipPath, 16000)
	if err != nil {
		b.Fatal(err)
	}
	sc := aectest.Build(aectest.Default(16000), clip)
	for _, c := range candidates() {
		b.Run(c.name, func(b *testing.B) {
			p, err := c.make(16000)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			n := p.FrameLen()
			out := make([]float32, n)
			frames := len(sc.Mic) / n
			i := 0
			for b.Loop() {
				f := i % frames
				_ = p.Process(out, sc.Mic[f*n:(f+1)*n], sc.Far[f*n:(f+1)*n])
				i++
			}
		})
	}
}
