package mix

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Format is the sample format of the interleaved input.
type Format int

// Sample formats (little-endian when given as bytes).
const (
	S16 Format = iota // signed 16-bit, full scale 32768
	S32               // signed 32-bit, full scale 2^31
	F32               // float32, full scale 1.0
)

func (f Format) String() string {
	switch f {
	case S16:
		return "s16"
	case S32:
		return "s32"
	case F32:
		return "f32"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Size returns the bytes per sample.
func (f Format) Size() int {
	if f == S16 {
		return 2
	}
	return 4
}

// ParseFormat parses "s16", "s32" or "f32".
func ParseFormat(s string) (Format, error) {
	for f := S16; f <= F32; f++ {
		if f.String() == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("mix: unknown sample format %q (want s16, s32 or f32)", s)
}

// Mode is how the selected channels are combined.
type Mode int

// Modes.
const (
	Select   Mode = iota // one channel: Channels[0]
	Average              // the mean of Channels
	DelaySum             // the mean of Channels, each delayed by its Delays entry
)

func (m Mode) String() string {
	switch m {
	case Select:
		return "select"
	case Average:
		return "average"
	case DelaySum:
		return "delay-sum"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "select", "average" or "delay-sum".
func ParseMode(s string) (Mode, error) {
	for m := Select; m <= DelaySum; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("mix: unknown mode %q (want select, average or delay-sum)", s)
}

// MaxDelay is the largest per-channel delay in samples.
const MaxDelay = 4096

// Config describes a Mixer.
type Config struct {
	// InChannels is the number of interleaved channels in the input (1..64).
	InChannels int
	// Format is the input sample format.
	Format Format
	// Mode combines Channels into one.
	Mode Mode
	// Channels are the input channel indexes to use (0-based). Empty means channel 0
	// for Select and every channel for Average and DelaySum.
	Channels []int
	// Delays are, for DelaySum, the delay in samples of each entry of Channels
	// (0..MaxDelay); empty means no delay.
	Delays []int
	// Rate is the sample rate in Hz; needed only when DCCutoffHz > 0.
	Rate int
	// DCCutoffHz is the -3 dB corner of the DC-blocking high-pass; 0 disables it.
	DCCutoffHz float64
	// GainDB is applied after mixing and DC blocking.
	GainDB float64
	// Limit enables the soft limiter after the gain (output stays inside ±1).
	Limit bool
}

// Mixer converts interleaved input to mono float32. See Config.
type Mixer struct {
	cfg   Config
	ch    []int
	delay []int
	hist  []float32 // DelaySum: per used channel, a ring of histLen samples
	hmask int
	hpos  int
	scale float32 // 1/full scale, divided by the number of mixed channels
	dc    *DCBlocker
	lim   Limiter
	gain  float32
}

// New checks cfg and returns a Mixer.
func New(cfg Config) (*Mixer, error) {
	if cfg.InChannels < 1 || cfg.InChannels > 64 {
		return nil, fmt.Errorf("mix: New: InChannels = %d, want 1..64", cfg.InChannels)
	}
	if cfg.Format < S16 || cfg.Format > F32 {
		return nil, fmt.Errorf("mix: New: unknown format %v", cfg.Format)
	}
	m := &Mixer{cfg: cfg}
	switch cfg.Mode {
	case Select:
		if len(cfg.Channels) > 1 {
			return nil, fmt.Errorf("mix: New: select mode takes one channel, got %v", cfg.Channels)
		}
		m.ch = []int{0}
	case Average, DelaySum:
		for c := range cfg.InChannels {
			m.ch = append(m.ch, c)
		}
	default:
		return nil, fmt.Errorf("mix: New: unknown mode %v", cfg.Mode)
	}
	if len(cfg.Channels) > 0 {
		m.ch = append([]int(nil), cfg.Channels...)
	}
	for _, c := range m.ch {
		if c < 0 || c >= cfg.InChannels {
			return nil, fmt.Errorf("mix: New: channel %d out of range: the input has %d channels (0..%d)", c, cfg.InChannels, cfg.InChannels-1)
		}
	}
	if len(cfg.Delays) > 0 {
		if cfg.Mode != DelaySum {
			return nil, fmt.Errorf("mix: New: Delays given but mode is %v (want delay-sum)", cfg.Mode)
		}
		if len(cfg.Delays) != len(m.ch) {
			return nil, fmt.Errorf("mix: New: %d delays for %d channels", len(cfg.Delays), len(m.ch))
		}
	}
	m.delay = make([]int, len(m.ch))
	maxD := 0
	for i, d := range cfg.Delays {
		if d < 0 || d > MaxDelay {
			return nil, fmt.Errorf("mix: New: delay %d of channel %d out of range 0..%d", d, m.ch[i], MaxDelay)
		}
		m.delay[i] = d
		maxD = max(maxD, d)
	}
	if cfg.Mode == DelaySum && maxD > 0 {
		n := 1
		for n <= maxD {
			n <<= 1
		}
		m.hist = make([]float32, n*len(m.ch))
		m.hmask = n - 1
	}
	full := map[Format]float64{S16: 32768, S32: 2147483648, F32: 1}[cfg.Format]
	m.scale = float32(1 / (full * float64(len(m.ch))))
	if cfg.DCCutoffHz < 0 {
		return nil, fmt.Errorf("mix: New: DCCutoffHz = %g, want >= 0", cfg.DCCutoffHz)
	}
	if cfg.DCCutoffHz > 0 {
		dc, err := NewDCBlocker(cfg.Rate, cfg.DCCutoffHz)
		if err != nil {
			return nil, fmt.Errorf("mix: New: %w", err)
		}
		m.dc = dc
	}
	if math.IsNaN(cfg.GainDB) || cfg.GainDB > 60 || cfg.GainDB < -120 {
		return nil, fmt.Errorf("mix: New: GainDB = %g, want -120..60", cfg.GainDB)
	}
	m.gain = float32(math.Pow(10, cfg.GainDB/20))
	m.lim = DefaultLimiter
	return m, nil
}

// Config returns the configuration the mixer was built with.
func (m *Mixer) Config() Config { return m.cfg }

// Frames returns the number of whole frames in n input samples of all channels.
func (m *Mixer) Frames(n int) int { return n / m.cfg.InChannels }

// Reset clears the delay lines and the DC blocker.
func (m *Mixer) Reset() {
	clear(m.hist)
	m.hpos = 0
	if m.dc != nil {
		m.dc.Reset()
	}
}

func (m *Mixer) checkDst(dst []float32, frames int) {
	if len(dst) < frames {
		panic(fmt.Sprintf("BUG: mix: dst has %d samples for %d frames", len(dst), frames))
	}
}

// ProcessS16 mixes whole frames of interleaved S16 src into dst and returns the number of
// frames written (len(src)/InChannels; a trailing partial frame is ignored). It panics if
// dst is shorter or the format is not S16.
func (m *Mixer) ProcessS16(dst []float32, src []int16) int {
	m.mustFormat(S16)
	nc := m.cfg.InChannels
	frames := len(src) / nc
	m.checkDst(dst, frames)
	if m.hist == nil && len(m.ch) == 1 { // select: one strided pass
		for f, i := 0, m.ch[0]; f < frames; f, i = f+1, i+nc {
			dst[f] = float32(src[i]) * m.scale
		}
		return m.post(dst[:frames])
	}
	for f := range frames {
		fr := src[f*nc : f*nc+nc]
		if m.hist == nil {
			var s int32
			for _, c := range m.ch {
				s += int32(fr[c])
			}
			dst[f] = float32(s) * m.scale
			continue
		}
		dst[f] = m.delayed(func(c int) float32 { return float32(fr[c]) })
	}
	return m.post(dst[:frames])
}

// ProcessS32 is ProcessS16 for S32 input.
func (m *Mixer) ProcessS32(dst []float32, src []int32) int {
	m.mustFormat(S32)
	nc := m.cfg.InChannels
	frames := len(src) / nc
	m.checkDst(dst, frames)
	if m.hist == nil && len(m.ch) == 1 { // select: one strided pass
		for f, i := 0, m.ch[0]; f < frames; f, i = f+1, i+nc {
			dst[f] = float32(float64(src[i]) * float64(m.scale))
		}
		return m.post(dst[:frames])
	}
	for f := range frames {
		fr := src[f*nc : f*nc+nc]
		if m.hist == nil {
			var s float64
			for _, c := range m.ch {
				s += float64(fr[c])
			}
			dst[f] = float32(s * float64(m.scale))
			continue
		}
		dst[f] = m.delayed(func(c int) float32 { return float32(fr[c]) })
	}
	return m.post(dst[:frames])
}

// ProcessF32 is ProcessS16 for float32 input.
func (m *Mixer) ProcessF32(dst []float32, src []float32) int {
	m.mustFormat(F32)
	nc := m.cfg.InChannels
	frames := len(src) / nc
	m.checkDst(dst, frames)
	if m.hist == nil && len(m.ch) == 1 { // select: one strided pass
		for f, i := 0, m.ch[0]; f < frames; f, i = f+1, i+nc {
			dst[f] = src[i] * m.scale
		}
		return m.post(dst[:frames])
	}
	for f := range frames {
		fr := src[f*nc : f*nc+nc]
		if m.hist == nil {
			var s float32
			for _, c := range m.ch {
				s += fr[c]
			}
			dst[f] = s * m.scale
			continue
		}
		dst[f] = m.delayed(func(c int) float32 { return fr[c] })
	}
	return m.post(dst[:frames])
}

// ProcessBytes mixes little-endian interleaved samples of the configured format (as
// capture devices deliver them) and returns the number of frames written.
func (m *Mixer) ProcessBytes(dst []float32, src []byte) int {
	nc := m.cfg.InChannels
	bs := m.cfg.Format.Size()
	frames := len(src) / (nc * bs)
	m.checkDst(dst, frames)
	for f := range frames {
		fr := src[f*nc*bs : (f+1)*nc*bs]
		get := func(c int) float32 {
			switch m.cfg.Format {
			case S16:
				return float32(int16(binary.LittleEndian.Uint16(fr[c*2:])))
			case S32:
				return float32(int32(binary.LittleEndian.Uint32(fr[c*4:])))
			}
			return math.Float32frombits(binary.LittleEndian.Uint32(fr[c*4:]))
		}
		if m.hist == nil {
			var s float32
			for _, c := range m.ch {
				s += get(c)
			}
			dst[f] = s * m.scale
			continue
		}
		dst[f] = m.delayed(get)
	}
	return m.post(dst[:frames])
}

func (m *Mixer) mustFormat(f Format) {
	if m.cfg.Format != f {
		panic(fmt.Sprintf("BUG: mix: Process%s called on a %v mixer", map[Format]string{S16: "S16", S32: "S32", F32: "F32"}[f], m.cfg.Format))
	}
}

// delayed pushes the current frame into the delay lines and returns the delayed mean.
func (m *Mixer) delayed(get func(c int) float32) float32 {
	n := m.hmask + 1
	var s float32
	for i, c := range m.ch {
		line := m.hist[i*n : i*n+n]
		line[m.hpos] = get(c)
		s += line[(m.hpos-m.delay[i])&m.hmask]
	}
	m.hpos = (m.hpos + 1) & m.hmask
	return s * m.scale
}

func (m *Mixer) post(y []float32) int {
	if m.dc != nil {
		m.dc.Process(y)
	}
	if m.gain != 1 {
		for i := range y {
			y[i] *= m.gain
		}
	}
	if m.cfg.Limit {
		m.lim.Process(y)
	}
	return len(y)
}
