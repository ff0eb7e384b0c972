package mix

import (
	"fmt"
	"math"
)

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
	scale float32 // 1 / the number of mixed channels
	dc    *DCBlocker
	lim   Limiter
	gain  float32
}

// New checks cfg and returns a Mixer.
func New(cfg Config) (*Mixer, error) {
	if cfg.InChannels < 1 || cfg.InChannels > 64 {
		return nil, fmt.Errorf("mix: New: InChannels = %d, want 1..64", cfg.InChannels)
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
	m.scale = float32(1 / float64(len(m.ch)))
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

// Process mixes whole frames of interleaved float32 src (full scale ±1) into dst and
// returns the number of frames written (len(src)/InChannels; a trailing partial frame
// is ignored). It panics if dst is shorter.
func (m *Mixer) Process(dst []float32, src []float32) int {
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
