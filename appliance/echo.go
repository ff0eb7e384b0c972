package appliance

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/hw/aec"
)

// EchoMode is how the appliance keeps the answer's own sound out of the uplink
// ([audio] echo).
type EchoMode int

// Echo modes.
const (
	EchoOff  EchoMode = iota // nothing: a headset, or a mic array that cancels echo itself
	EchoGate                 // half-duplex: the uplink is silent while the answer plays, unless talk is held
	EchoAEC                  // echo cancellation with what the speaker was given as the reference
)

func (m EchoMode) String() string {
	switch m {
	case EchoOff:
		return "off"
	case EchoGate:
		return "gate"
	case EchoAEC:
		return "aec"
	}
	return fmt.Sprintf("EchoMode(%d)", int(m))
}

// ParseEchoMode parses "off", "gate" or "aec".
func ParseEchoMode(s string) (EchoMode, error) {
	for _, m := range []EchoMode{EchoOff, EchoGate, EchoAEC} {
		if m.String() == s {
			return m, nil
		}
	}
	return EchoOff, fmt.Errorf("echo mode %q: want \"aec\", \"gate\" or \"off\"", s)
}

// EchoConfig is the uplink's echo, noise and gain processing ([audio] echo, echo_tail,
// noise_suppression, agc).
type EchoConfig struct {
	Mode             EchoMode
	Tail             time.Duration // the canceller's filter (0: aec.DefaultTail)
	NoiseSuppression bool
	AGC              bool
	// Delay is the device delay between handing a sample to the speaker and its echo
	// reaching the mic pump, as far as the devices' buffering tells, at its lowest: the
	// echo must never come before its reference (cmd/edgevoice echoDelay: the playback
	// queue, the playback device's buffer and the capture device's period as negotiated
	// when they were opened, less their refill jitter; SetEchoDelay when they are
	// reopened with another); the filter covers the rest (Tail: the room, the converters).
	Delay time.Duration
	// DelayDetail says what Delay is made of, for status ("queue 40ms + ...").
	DelayDetail string
}

// maxEchoDelay bounds the reference delay (aec.PathConfig.MaxDelay's default).
const maxEchoDelay = 500 * time.Millisecond

// EchoPathConfig is the hw/aec configuration for e on a stream at rate: what the live
// path runs, and what `edgevoice aec` runs on recordings. ok is false when e asks for
// no processing at all.
func EchoPathConfig(e EchoConfig, rate int) (cfg aec.PathConfig, ok bool) {
	cfg = aec.PathConfig{StreamRate: rate, Delay: min(max(e.Delay, 0), maxEchoDelay), MaxDelay: maxEchoDelay, HoldUntilConverged: true, Canceller: aec.Config{
		Echo: e.Mode == EchoAEC, Tail: e.Tail, NoiseSuppression: e.NoiseSuppression, AGC: e.AGC,
	}}
	return cfg, e.Mode != EchoOff || e.NoiseSuppression || e.AGC
}

// echoPath is the appliance's uplink processing: the speaker pump hands it what the
// speaker is given, the mic pump the captured audio; nil when there is nothing to do.
type echoPath struct {
	mode EchoMode
	p    *aec.Path
	out  []float32

	mu     sync.Mutex // guards detail (status and SetEchoDelay, never the audio pumps)
	detail string     // what the delay in use is made of
}

func newEchoPath(e EchoConfig) (*echoPath, error) {
	cfg, ok := EchoPathConfig(e, sessionRate)
	if !ok {
		return nil, nil
	}
	p, err := aec.NewPath(cfg)
	if err != nil {
		return nil, fmt.Errorf("appliance: echo: %w", err)
	}
	ep := &echoPath{mode: e.Mode, p: p, out: make([]float32, p.MaxOut(aec.MaxChunk)), detail: e.DelayDetail}
	runtime.AddCleanup(ep, func(p *aec.Path) { p.Close() }, p)
	return ep, nil
}

// readSpeaker is ReadSpeaker, with what the speaker is given kept as the far end.
func (a *Appliance) readSpeaker(dst []float32) int {
	n := a.ReadSpeaker(dst)
	if e := a.echo; e != nil {
		e.p.Far(dst)
	}
	return n
}

// writeMic is WriteMic after the echo path: cancellation (aec; until the canceller has
// converged the uplink is held while the far end plays, unless the talk button is held),
// the half-duplex gate (gate: silence while the far end plays unless the talk button is
// held) and the noise and gain processing. It allocates nothing.
func (a *Appliance) writeMic(pcm []float32) {
	e := a.echo
	if e == nil {
		a.WriteMic(pcm)
		return
	}
	talking := State(a.shown.Load()) == Listening
	e.p.Bypass(talking) // a held talk button is heard even while the canceller converges
	for len(pcm) > 0 {
		chunk := pcm[:min(len(pcm), aec.MaxChunk)]
		pcm = pcm[len(chunk):]
		n, err := e.p.Mic(e.out, chunk)
		if err != nil {
			// a frame of the wrong size cannot happen (Path frames itself); pass audio on
			a.WriteMic(chunk)
			continue
		}
		out := e.out[:n]
		if e.mode == EchoGate && e.p.FarActive() && !talking {
			clear(out)
		}
		if n > 0 {
			a.WriteMic(out)
		}
	}
}

// Echo describes the uplink's echo handling for status and logs: "off", "gate",
// "aec (converging: the uplink is held while the answer plays)" or "aec".
func (a *Appliance) Echo() string {
	e := a.echo
	switch {
	case e == nil || e.mode == EchoOff:
		return EchoOff.String()
	case e.mode == EchoAEC && !e.p.Converged():
		return "aec (converging: the uplink is held while the answer plays)"
	}
	return e.mode.String()
}

// SetEchoDelay reports the device delay of the echo reference (see EchoConfig.Delay)
// after the audio devices were opened or reopened; detail says what it is made of. A
// change moves the reference by exactly the difference, so the canceller's filter stays
// valid (hw/aec Reference.SetDelay); the same delay again changes nothing. It never
// blocks the audio pumps (an atomic store) and may be called from any goroutine.
func (a *Appliance) SetEchoDelay(d time.Duration, detail string) {
	e := a.echo
	if e == nil {
		return
	}
	d = min(max(d, 0), maxEchoDelay)
	e.mu.Lock()
	e.detail = detail
	e.mu.Unlock()
	if d != e.p.Delay() {
		e.p.SetDelay(d)
	}
}

// EchoDelay returns the reference delay in use and what it is made of (0 and "" when
// there is no echo path).
func (a *Appliance) EchoDelay() (time.Duration, string) {
	e := a.echo
	if e == nil {
		return 0, ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.p.Delay(), e.detail
}
