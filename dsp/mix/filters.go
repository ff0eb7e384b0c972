package mix

import (
	"fmt"
	"math"
)

// DCBlocker is a first-order DC-blocking high-pass: y[n] = x[n] − x[n−1] + R·y[n−1].
type DCBlocker struct {
	r      float32
	x1, y1 float32
}

// NewDCBlocker returns a DC blocker for rate Hz with its corner at cutoffHz
// (0 < cutoffHz < rate/4; 20..100 Hz is typical for speech).
func NewDCBlocker(rate int, cutoffHz float64) (*DCBlocker, error) {
	if rate <= 0 || cutoffHz <= 0 || cutoffHz >= float64(rate)/4 {
		return nil, fmt.Errorf("mix: DC blocker cutoff %g Hz at rate %d Hz: want rate > 0 and 0 < cutoff < rate/4", cutoffHz, rate)
	}
	return &DCBlocker{r: float32(math.Exp(-2 * math.Pi * cutoffHz / float64(rate)))}, nil
}

// Process filters x in place.
func (d *DCBlocker) Process(x []float32) {
	x1, y1, r := d.x1, d.y1, d.r
	for i, v := range x {
		y1 = v - x1 + r*y1
		x1 = v
		x[i] = y1
	}
	d.x1, d.y1 = x1, y1
}

// Reset clears the filter state.
func (d *DCBlocker) Reset() { d.x1, d.y1 = 0, 0 }

// Limiter is a memoryless soft limiter: samples with magnitude up to Knee pass unchanged,
// larger ones are compressed smoothly (tanh) so the output never exceeds ±1.
type Limiter struct {
	// Knee is the linear level where compression starts (0 < Knee < 1).
	Knee float32
}

// DefaultLimiter starts compressing at −3 dBFS.
var DefaultLimiter = Limiter{Knee: 0.7079}

// Process limits x in place.
func (l Limiter) Process(x []float32) {
	k := l.Knee
	room := 1 - k
	for i, v := range x {
		a := v
		if a < 0 {
			a = -a
		}
		if a <= k {
			continue
		}
		c := k + room*float32(math.Tanh(float64((a-k)/room)))
		if v < 0 {
			c = -c
		}
		x[i] = c
	}
}
