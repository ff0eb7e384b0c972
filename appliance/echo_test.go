package appliance

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc"
)

// toneSession plays a loud tone and records what the uplink carried.
type toneSession struct {
	nopSession
	mu  sync.Mutex
	up  []float32
	pos int
}

func (s *toneSession) WriteMic(p []float32) {
	s.mu.Lock()
	s.up = append(s.up, p...)
	s.mu.Unlock()
}

func (s *toneSession) ReadSpeaker(dst []float32) int {
	for i := range dst {
		dst[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(s.pos)/sessionRate))
		s.pos++
	}
	return len(dst)
}

func newEchoAppliance(t *testing.T, e EchoConfig, s Session) *Appliance {
	t.Helper()
	keys := rtc.KeySourceFunc(func(context.Context) (realtime.Key, error) { return realtime.Key{}, nil })
	a, err := New(Config{Volume: 1, Echo: e}, Deps{Keys: keys, NewSession: func(realtime.Key, rtc.KeySource) (Session, error) { return s, nil }})
	if err != nil {
		t.Fatal(err)
	}
	a.sess.Store(&sessionBox{s: s})
	return a
}

// TestEchoPathNoAllocs: the mic and speaker paths with echo cancellation allocate
// nothing per period.
func TestEchoPathNoAllocs(t *testing.T) {
	a := newEchoAppliance(t, EchoConfig{Mode: EchoAEC, NoiseSuppression: true}, nopSession{})
	mic, spk := make([]float32, 480), make([]float32, 480)
	if n := testing.AllocsPerRun(100, func() { a.readSpeaker(spk); a.writeMic(mic) }); n != 0 {
		t.Errorf("%v allocs per period with echo = aec", n)
	}
}

// TestEchoGate: with echo = "gate" the uplink is silent while the answer plays (its
// echo would reach the service), and open while talk is held (a press barges in).
func TestEchoGate(t *testing.T) {
	s := &toneSession{}
	a := newEchoAppliance(t, EchoConfig{Mode: EchoGate}, s)
	spk := make([]float32, 480)
	level := func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		var e float64
		for _, v := range s.up {
			e += float64(v) * float64(v)
		}
		n := len(s.up)
		s.up = s.up[:0]
		return math.Sqrt(e / float64(max(n, 1)))
	}
	pass := func(frames int) {
		for range frames {
			a.readSpeaker(spk)
			a.writeMic(spk) // the mic hears the speaker
		}
	}
	pass(100)
	if l := level(); l > 1e-4 {
		t.Errorf("gate: the uplink carried level %.4f while the answer played", l)
	}
	a.shown.Store(int32(Listening))
	pass(100)
	if l := level(); l < 0.1 {
		t.Errorf("gate: the uplink carried level %.4f while talk was held (want the mic through)", l)
	}
}

// TestEchoHoldPress: with echo = "aec" the uplink is held while the first answer plays
// (the canceller has not converged on the tone-free room yet), but a held talk button
// (a press-to-talk barge-in) is heard at once.
func TestEchoHoldPress(t *testing.T) {
	s := &toneSession{}
	a := newEchoAppliance(t, EchoConfig{Mode: EchoAEC}, s)
	spk, mic := make([]float32, 480), make([]float32, 480)
	for i := range mic {
		mic[i] = float32(0.2 * math.Sin(float64(i)/3)) // the user, not the speaker's tone
	}
	level := func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		var e float64
		for _, v := range s.up {
			e += float64(v) * float64(v)
		}
		n := len(s.up)
		s.up = s.up[:0]
		return math.Sqrt(e / float64(max(n, 1)))
	}
	for range 20 {
		a.readSpeaker(spk)
		a.writeMic(mic)
	}
	if l := level(); l > 1e-4 || a.Echo() == "aec" {
		t.Errorf("before convergence (%s) the uplink carried level %.4f, want held", a.Echo(), l)
	}
	a.shown.Store(int32(Listening))
	for range 20 {
		a.readSpeaker(spk)
		a.writeMic(mic)
	}
	if l := level(); l < 0.05 {
		t.Errorf("talk held: the uplink carried level %.4f, want the user through", l)
	}
}
