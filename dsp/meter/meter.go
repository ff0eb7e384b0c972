package meter

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Floor is the level reported for digital silence, in dBFS.
const Floor = -120.0

// DBFS converts a linear amplitude (1.0 = full scale) to dBFS, clamped at Floor.
func DBFS(x float64) float64 {
	if x <= 0 {
		return Floor
	}
	return max(20*math.Log10(x), Floor)
}

// Peak returns the largest absolute sample value of x (0 for empty x).
func Peak(x []float32) float64 {
	var p float32
	for _, v := range x {
		if v < 0 {
			v = -v
		}
		if v > p {
			p = v
		}
	}
	return float64(p)
}

// RMS returns the root mean square of x (0 for empty x).
func RMS(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

// Meter measures peak and RMS over consecutive windows of a fixed length.
type Meter struct {
	window int // samples per window
	n      int
	sum    float64
	peak   float32

	pubPeak atomic.Uint64 // float64 bits, linear
	pubRMS  atomic.Uint64
	windows atomic.Uint64
}

// New returns a meter for a stream at rate Hz that publishes a value every window
// (for example 50 ms for an LED).
func New(rate int, window time.Duration) (*Meter, error) {
	n := int(int64(rate) * int64(window) / int64(time.Second))
	if rate <= 0 || n < 1 {
		return nil, fmt.Errorf("meter: New: window %v at %d Hz is less than one sample", window, rate)
	}
	return &Meter{window: n}, nil
}

// Write adds samples. One goroutine only; never allocates.
func (m *Meter) Write(x []float32) {
	for len(x) > 0 {
		k := min(len(x), m.window-m.n)
		var s0, s1 float32 // float32 partial sums per call chunk, accumulated in float64
		p := m.peak
		seg := x[:k]
		for i := 0; i+1 < len(seg); i += 2 {
			a, b := seg[i], seg[i+1]
			s0 += a * a
			s1 += b * b
			if a < 0 {
				a = -a
			}
			if b < 0 {
				b = -b
			}
			if a > p {
				p = a
			}
			if b > p {
				p = b
			}
		}
		if len(seg)%2 == 1 {
			a := seg[len(seg)-1]
			s0 += a * a
			if a < 0 {
				a = -a
			}
			if a > p {
				p = a
			}
		}
		s := float64(s0) + float64(s1)
		m.sum += s
		m.peak = p
		m.n += k
		x = x[k:]
		if m.n == m.window {
			m.pubPeak.Store(math.Float64bits(float64(m.peak)))
			m.pubRMS.Store(math.Float64bits(math.Sqrt(m.sum / float64(m.window))))
			m.windows.Add(1)
			m.n, m.sum, m.peak = 0, 0, 0
		}
	}
}

// Reset drops the window in progress (published values stay). Writer side only.
func (m *Meter) Reset() { m.n, m.sum, m.peak = 0, 0, 0 }

// Peak returns the peak of the last finished window in dBFS (Floor before the first).
func (m *Meter) Peak() float64 { return DBFS(math.Float64frombits(m.pubPeak.Load())) }

// RMS returns the RMS of the last finished window in dBFS (Floor before the first).
func (m *Meter) RMS() float64 { return DBFS(math.Float64frombits(m.pubRMS.Load())) }

// Level maps the last window's RMS to 0..1 linearly in dB between floorDB (0) and 0 dBFS
// (1), for an LED brightness. floorDB must be negative (for example -60).
func (m *Meter) Level(floorDB float64) float64 {
	if floorDB >= 0 {
		return 0
	}
	return min(1, max(0, 1-m.RMS()/floorDB))
}

// Windows returns how many windows have been published.
func (m *Meter) Windows() uint64 { return m.windows.Load() }
