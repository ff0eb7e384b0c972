// Package aectest builds the synthetic room the echo canceller is measured in, and measures
// a canceller's output: ERLE on far-end-only segments, the gain of the near-end component
// alone and in double talk, and the near-end speech's spectral envelope
// (internal/speechmatch). It is shared by the speexdsp tests (hw/aec), the WebRTC
// comparison (hw/aec/internal/webrtcref), `edgevoice aec`'s tests and the simulated
// board's closed speaker → mic loop.
//
// The room: an impulse response with a pure delay, a direct path and an exponentially
// decaying diffuse tail (RT60), scaled so that the echo at the microphone is a set level
// below the far end; plus a noise floor and near-end speech. The far end is the repo's
// spoken question; the near end is the same recording played backwards (speech with the
// same spectrum, uncorrelated with the far end).
package aectest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/edgevoice/edgevoice/dsp/resample"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/hw/sim"
	"github.com/edgevoice/edgevoice/internal/speechmatch"
)

// Spec describes a room.
type Spec struct {
	Rate    int     // Hz
	DelayMs float64 // pure delay of the echo path (device + acoustic)
	RT60    float64 // seconds
	EchoDB  float64 // echo level at the mic relative to the far end (e.g. -6)
	Seed    uint64
	// DelayChangeAt, when > 0, switches the echo path's delay to DelayMs2 at this second
	// (a USB device re-opened with a different latency).
	DelayChangeAt float64
	DelayMs2      float64
}

// Default is the room: RT60 0.3 s, 60 ms delay, echo 6 dB below the far end.
func Default(rate int) Spec {
	return Spec{Rate: rate, DelayMs: 60, RT60: 0.3, EchoDB: -6, Seed: 15}
}

// Segment is a span of the scenario in samples, [From, To).
type Segment struct{ From, To int }

// Scene is one synthetic recording: Far is what the speaker was given, Mic what the
// microphone heard (Echo + Near + noise).
type Scene struct {
	Spec
	Far, Mic, Echo, Near []float32
	// FarOnly are the far-end-only segments after 2 s of convergence; FarOnlyAfterDT the
	// one after the double talk; NearOnly the near-end-only one; DoubleTalk both at once.
	FarOnly, FarOnlyAfterDT, NearOnly, DoubleTalk Segment
	// AfterChange is the far-end-only window from 2 s to 4 s after a delay change.
	AfterChange Segment
}

// LoadClip reads a mono 16-bit WAV and converts it to rate.
func LoadClip(path string, rate int) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := audio.NewWAVSource[float32](f, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if src.Format().Channels != 1 {
		return nil, fmt.Errorf("%s: want mono", path)
	}
	var clip []float32
	buf := make([]float32, 4096)
	for {
		n, err := src.Read(context.Background(), buf)
		clip = append(clip, buf[:n]...)
		if err != nil {
			break
		}
	}
	if len(clip) == 0 {
		return nil, errors.New(path + ": no audio")
	}
	return Resample(clip, src.Format().Rate, rate)
}

// Resample converts x from one rate to another, compensating nothing (the resampler's
// delay stays in); tests that compare signals find the lag.
func Resample(x []float32, from, to int) ([]float32, error) {
	if from == to {
		return slices.Clone(x), nil
	}
	r, err := resample.New(from, to)
	if err != nil {
		return nil, err
	}
	src := append(slices.Clone(x), make([]float32, from/10)...)
	out := make([]float32, r.MaxOut(len(src)))
	return out[:r.Process(out, src)], nil
}

// IR returns the room impulse response at s.Rate with the given delay (the simulated
// board's, sim.RoomIR, with a tail of 1.2 × RT60: 72 dB down at its end).
func IR(s Spec, delayMs float64) []float64 {
	return sim.RoomIR(s.Rate, time.Duration(delayMs*float64(time.Millisecond)),
		time.Duration(1.2*s.RT60*float64(time.Second)), s.RT60, s.Seed)
}

// Build lays out the scene: far-end speech 0 … 10.6 s, near-end alone 11 … 13.5 s, then
// double talk (far end from 14 s, near end 14.5 … 17 s) and far end alone until 19.2 s.
// With a delay change, the far end plays for 14 s and the delay changes at DelayChangeAt.
func Build(s Spec, clip []float32) Scene {
	r := s.Rate
	sec := func(t float64) int { return int(t * float64(r)) }
	q := clip
	back := slices.Clone(q)
	slices.Reverse(back)
	sc := Scene{Spec: s}
	total := sec(19.5)
	if s.DelayChangeAt > 0 {
		total = sec(s.DelayChangeAt + 4.5)
	}
	far := make([]float32, total)
	near := make([]float32, total)
	put := func(dst, x []float32, at float64) int {
		i := sec(at)
		return i + copy(dst[i:], x)
	}
	if s.DelayChangeAt > 0 {
		for t := 0.0; t < float64(total)/float64(r); t += 2.7 {
			put(far, q, t)
		}
	} else {
		var farEnd int
		for _, t := range []float64{0, 2.7, 5.4, 8.1} {
			farEnd = put(far, q, t)
		}
		sc.FarOnly = Segment{sec(2), farEnd}
		nearEnd := put(near, back, 11)
		sc.NearOnly = Segment{sec(11), nearEnd}
		put(far, q, 14)
		farEnd = put(far, q, 16.7)
		nearEnd = put(near, back, 14.5)
		sc.DoubleTalk = Segment{sec(14.5), nearEnd}
		sc.FarOnlyAfterDT = Segment{nearEnd, farEnd}
	}
	// echo: far through the room (the delay may change mid-way)
	echo := convolve(far, IR(s, s.DelayMs))
	if s.DelayChangeAt > 0 {
		e2 := convolve(far, IR(s, s.DelayMs2))
		c := sec(s.DelayChangeAt)
		copy(echo[c:], e2[c:])
		sc.AfterChange = Segment{c + sec(2), c + sec(4)}
	}
	g := math.Pow(10, s.EchoDB/20) * energyRMS(far) / energyRMS(echo)
	scale(echo, g)
	// near end at the echo's level: 0 dB signal-to-echo ratio in double talk
	if e := energyRMS(near); e > 0 {
		scale(near, float32(energyRMS(echo)/e))
	}
	mic := make([]float32, total)
	rng := rand.New(rand.NewPCG(s.Seed, 2))
	noise := math.Pow(10, -75.0/20) // white noise floor, -75 dBFS RMS
	for i := range mic {
		mic[i] = echo[i] + near[i] + float32(noise*rng.NormFloat64())
	}
	sc.Far, sc.Mic, sc.Echo, sc.Near = far, mic, echo, near
	return sc
}

func scale[T float32 | float64](x []float32, g T) {
	for i := range x {
		x[i] *= float32(g)
	}
}

// energyRMS is the RMS over the active part of x (samples within 40 dB of its peak in
// 10 ms blocks), so silences do not set levels.
func energyRMS(x []float32) float64 {
	const block = 160
	var peak float64
	for i := 0; i+block <= len(x); i += block {
		peak = max(peak, rms(x[i:i+block]))
	}
	var s float64
	var n int
	for i := 0; i+block <= len(x); i += block {
		if e := rms(x[i : i+block]); e > peak/100 {
			s += e * e
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return math.Sqrt(s / float64(n))
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if len(x) == 0 {
		return 0
	}
	return math.Sqrt(s / float64(len(x)))
}

// convolve is x * h by overlap-add FFT, truncated to len(x).
func convolve(x []float32, h []float64) []float32 {
	n := 1
	for n < 2*len(h) {
		n <<= 1
	}
	step := n - len(h) + 1
	H := make([]complex128, n)
	for i, v := range h {
		H[i] = complex(v, 0)
	}
	fft(H, false)
	out := make([]float64, len(x)+n)
	buf := make([]complex128, n)
	for off := 0; off < len(x); off += step {
		clear(buf)
		for i := 0; i < step && off+i < len(x); i++ {
			buf[i] = complex(float64(x[off+i]), 0)
		}
		fft(buf, false)
		for i := range buf {
			buf[i] *= H[i]
		}
		fft(buf, true)
		for i := range buf {
			out[off+i] += real(buf[i]) / float64(n)
		}
	}
	y := make([]float32, len(x))
	for i := range y {
		y[i] = float32(out[i])
	}
	return y
}

func fft(x []complex128, inverse bool) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, sign*2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := range size / 2 {
				a, b := x[start+k], x[start+k+size/2]*wk
				x[start+k], x[start+k+size/2] = a+b, a-b
				wk *= w
			}
		}
	}
}

// Processor is an echo canceller under test: 10 ms frames of mic and far-end reference.
type Processor interface {
	FrameLen() int
	Process(out, mic, ref []float32) error
}

// Run feeds the scene through p frame by frame (the reference given as is: the scene's
// delay is the echo path the canceller must cover) and returns the output.
func Run(p Processor, sc Scene) ([]float32, error) {
	n := p.FrameLen()
	out := make([]float32, len(sc.Mic))
	for i := 0; i+n <= len(sc.Mic); i += n {
		if err := p.Process(out[i:i+n], sc.Mic[i:i+n], sc.Far[i:i+n]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Result is what Measure found.
type Result struct {
	ERLE, ERLEAfterDT, ERLEAfterChange float64 // dB
	NearGainAlone, NearGainDT          float64 // dB
	NearLagMs                          float64 // the output's delay of the near end
	Match                              string  // speechmatch report of the near end alone
	MatchProblems                      []string
}

func (r Result) String() string {
	return fmt.Sprintf("ERLE %.1f dB (after double talk %.1f dB); near-end gain alone %+.2f dB, in double talk %+.2f dB, lag %.1f ms; near-end speech: %s",
		r.ERLE, r.ERLEAfterDT, r.NearGainAlone, r.NearGainDT, r.NearLagMs, r.Match)
}

// ERLE is the echo return loss enhancement over seg: the mic's power over the output's.
func ERLE(mic, out []float32, seg Segment) float64 {
	return 20 * math.Log10(rms(mic[seg.From:seg.To])/max(rms(out[seg.From:seg.To]), 1e-12))
}

// NearGain is the gain of the near-end component in out over seg: the least-squares
// projection of out on the near-end signal, at the best lag within ±maxLag samples.
func NearGain(near, out []float32, seg Segment, maxLag int) (dB float64, lag int) {
	x := near[seg.From:seg.To]
	var xx float64
	for _, v := range x {
		xx += float64(v) * float64(v)
	}
	best := 0.0
	for l := -maxLag; l <= maxLag; l++ {
		if seg.From+l < 0 || seg.To+l > len(out) {
			continue
		}
		y := out[seg.From+l : seg.To+l]
		var xy float64
		for i, v := range x {
			xy += float64(v) * float64(y[i])
		}
		if g := xy / xx; g > best {
			best, lag = g, l
		}
	}
	return 20 * math.Log10(max(best, 1e-9)), lag
}

// Measure measures out, the canceller's output for sc.
func Measure(sc Scene, out []float32) (Result, error) {
	var r Result
	if sc.DelayChangeAt > 0 {
		r.ERLEAfterChange = ERLE(sc.Mic, out, sc.AfterChange)
		return r, nil
	}
	r.ERLE = ERLE(sc.Mic, out, sc.FarOnly)
	r.ERLEAfterDT = ERLE(sc.Mic, out, sc.FarOnlyAfterDT)
	maxLag := sc.Rate / 50
	var lag int
	r.NearGainAlone, lag = NearGain(sc.Near, out, sc.NearOnly, maxLag)
	r.NearLagMs = float64(lag) * 1000 / float64(sc.Rate)
	r.NearGainDT, _ = NearGain(sc.Near, out, sc.DoubleTalk, maxLag)
	sent, err := Resample(sc.Near[sc.NearOnly.From:sc.NearOnly.To], sc.Rate, speechmatch.Rate)
	if err != nil {
		return r, err
	}
	got, err := Resample(out[sc.NearOnly.From:sc.NearOnly.To], sc.Rate, speechmatch.Rate)
	if err != nil {
		return r, err
	}
	r.Match, r.MatchProblems = speechmatch.Match(sent, got)
	return r, nil
}
