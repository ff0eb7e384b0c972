package aec

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/edgevoice/edgevoice/dsp/resample"
)

// PathConfig configures a Path.
type PathConfig struct {
	// StreamRate is the rate of the audio in and out (the appliance's 48 kHz session
	// rate, or a WAV file's rate).
	StreamRate int
	// Canceller is what runs; its Rate is the rate the canceller runs at (16000 when 0).
	Canceller Config
	// Delay is the device delay between the speaker side's Far and the microphone side's
	// Mic for the same moment (the playback queue; see Reference).
	Delay time.Duration
	// MaxDelay bounds Delay over the path's life (0: 500 ms).
	MaxDelay time.Duration
	// HoldUntilConverged mutes the output while the far end plays until the canceller
	// has shown it cancels (ERLE ≥ 15 dB over 0.5 s of far-end audio): a fresh filter
	// passes the first second or two of echo, enough for a service's VAD to hear the
	// device. After that the path is full duplex for good (the filter is kept across
	// answers). The appliance and `edgevoice aec` set it.
	HoldUntilConverged bool
}

// Path is the echo canceller in a stream: the speaker side hands it what the speaker is
// given (Far), the microphone side the captured audio (Mic), both at StreamRate in any
// chunk size; it converts to the canceller's rate, frames 10 ms, cancels and converts
// back. Far and Mic may run on two goroutines (one each); neither allocates.
type Path struct {
	c            *Canceller
	ref          *Reference
	farRS, micRS *resample.Resampler
	outRS        *resample.Resampler
	farBuf       []float32
	acc          []float32 // microphone audio at the canceller's rate, not yet a frame
	accN         int
	micBuf       []float32
	refFrame     []float32
	outFrame     []float32
	// farHeard is the count of Far samples since the far end was last audible (for the
	// half-duplex gate); written by Far, read by FarActive.
	farHeard atomic.Int64
	hang     int64
	// convergence (microphone side): smoothed mic and output power over far-end frames
	hold       bool
	micE, outE float64
	good       int
	converged  atomic.Bool
	bypass     atomic.Bool
}

// convergedAfter is how many far-end frames (in all) must show ERLE ≥ convergedERLE.
const (
	convergedAfter = 50 // 0.5 s
	convergedERLE  = 15 // dB
)

// MaxChunk is the longest chunk Far and Mic take (100 ms at 48 kHz).
const MaxChunk = 4800

// farFloor is the level below which the far end counts as silent (-60 dBFS).
const farFloor = 1e-3

// NewPath returns a path. Close frees it.
func NewPath(cfg PathConfig) (*Path, error) {
	if cfg.Canceller.Rate == 0 {
		cfg.Canceller.Rate = 16000
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = 500 * time.Millisecond
	}
	if cfg.Delay < 0 || cfg.Delay > cfg.MaxDelay {
		return nil, fmt.Errorf("aec: delay %v out of range (0..%v)", cfg.Delay, cfg.MaxDelay)
	}
	c, err := New(cfg.Canceller)
	if err != nil {
		return nil, err
	}
	rate := cfg.Canceller.Rate
	p := &Path{c: c, ref: NewReference(rate, cfg.MaxDelay), hold: cfg.HoldUntilConverged && cfg.Canceller.Echo}
	p.ref.SetDelay(cfg.Delay)
	if cfg.StreamRate != rate {
		if p.farRS, err = resample.New(cfg.StreamRate, rate); err == nil {
			if p.micRS, err = resample.New(cfg.StreamRate, rate); err == nil {
				p.outRS, err = resample.New(rate, cfg.StreamRate)
			}
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("aec: %w", err)
		}
		p.farBuf = make([]float32, p.farRS.MaxOut(MaxChunk))
		p.micBuf = make([]float32, p.micRS.MaxOut(MaxChunk))
	}
	n := c.FrameLen()
	p.acc = make([]float32, n+len(p.micBuf)+MaxChunk)
	p.refFrame, p.outFrame = make([]float32, n), make([]float32, n)
	p.hang = int64(cfg.StreamRate) * int64(cfg.Delay+300*time.Millisecond) / int64(time.Second)
	p.farHeard.Store(p.hang + 1)
	return p, nil
}

// MaxOut is the most Mic writes for a chunk of n samples.
func (p *Path) MaxOut(n int) int {
	frames := (p.c.FrameLen()+n+2)/p.c.FrameLen() + 1
	if p.outRS == nil {
		return frames * p.c.FrameLen()
	}
	return frames * p.outRS.MaxOut(p.c.FrameLen())
}

// Latency is the delay the path adds to the microphone audio: the resamplers' and the
// canceller's (plus, at rates that do not divide into 10 ms frames evenly, up to one
// frame of framing).
func (p *Path) Latency() time.Duration {
	d := p.c.Latency()
	if p.micRS != nil {
		d += p.micRS.Delay() + p.outRS.Delay()
	}
	return d
}

// SetDelay changes the device delay (a device was re-opened with another latency).
func (p *Path) SetDelay(d time.Duration) { p.ref.SetDelay(d) }

// Delay returns the device delay in use (PathConfig.Delay, or the last SetDelay).
func (p *Path) Delay() time.Duration { return p.ref.Delay() }

// Far takes what the speaker was given (speaker side), at most MaxChunk samples.
func (p *Path) Far(x []float32) {
	loud := false
	for _, v := range x {
		if v > farFloor || v < -farFloor {
			loud = true
			break
		}
	}
	if loud {
		p.farHeard.Store(0)
	} else if h := p.farHeard.Load(); h <= p.hang {
		p.farHeard.Store(h + int64(len(x)))
	}
	if p.farRS != nil {
		x = p.farBuf[:p.farRS.Process(p.farBuf, x)]
	}
	p.ref.Write(x)
}

// FarActive reports whether the far end was audible within the device delay plus
// 300 ms (its echo may still be in the room): what the half-duplex gate mutes on.
func (p *Path) FarActive() bool { return p.farHeard.Load() <= p.hang }

// Mic cleans a chunk of captured audio (at most MaxChunk samples) into dst (at least
// MaxOut(len(x))) and returns how many samples it wrote: whole frames are processed as
// they fill, so the count varies from call to call, and over a stream it matches the
// input.
func (p *Path) Mic(dst, x []float32) (int, error) {
	if len(x) > MaxChunk {
		return 0, fmt.Errorf("aec: chunk of %d samples (at most %d)", len(x), MaxChunk)
	}
	if p.micRS != nil {
		x = p.micBuf[:p.micRS.Process(p.micBuf, x)]
	}
	p.accN += copy(p.acc[p.accN:], x)
	n := p.c.FrameLen()
	w, off := 0, 0
	for ; p.accN-off >= n; off += n {
		p.ref.Read(p.refFrame)
		if err := p.c.Process(p.outFrame, p.acc[off:off+n], p.refFrame); err != nil {
			return w, err
		}
		if p.hold && !p.converged.Load() {
			p.track(p.acc[off:off+n], p.outFrame)
			if p.FarActive() && !p.bypass.Load() {
				clear(p.outFrame)
			}
		}
		if p.outRS != nil {
			w += p.outRS.Process(dst[w:], p.outFrame)
		} else {
			w += copy(dst[w:], p.outFrame)
		}
	}
	p.accN = copy(p.acc, p.acc[off:p.accN])
	return w, nil
}

// Bypass lets the output through while the path would hold it (HoldUntilConverged):
// the appliance sets it while the talk button is held, so a press-to-talk barge-in is
// heard even before the canceller has converged.
func (p *Path) Bypass(on bool) { p.bypass.Store(on) }

// Converged reports whether the canceller has shown it cancels (HoldUntilConverged).
func (p *Path) Converged() bool { return p.converged.Load() }

// track estimates the canceller's ERLE over frames where the reference is audible.
func (p *Path) track(mic, out []float32) {
	var re, me, oe float64
	for i := range mic {
		re += float64(p.refFrame[i]) * float64(p.refFrame[i])
		me += float64(mic[i]) * float64(mic[i])
		oe += float64(out[i]) * float64(out[i])
	}
	if re < farFloor*farFloor*float64(len(mic)) {
		return
	}
	p.micE, p.outE = 0.9*p.micE+me, 0.9*p.outE+oe // ~100 ms
	if p.micE > p.outE*math.Pow(10, convergedERLE/10) {
		p.good++ // cumulative: pauses and double talk only slow it down
	}
	if p.good >= convergedAfter {
		p.converged.Store(true)
	}
}

// Close frees the canceller.
func (p *Path) Close() { p.c.Close() }
