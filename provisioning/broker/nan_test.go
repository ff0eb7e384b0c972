package broker

import (
	"math"
	"testing"
)

// TestRateLimitRefusesNaNAndInf: NaN passed the "perMinute <= 0" check and turned the
// rate limit off (200 for every request); infinity is no limit either.
func TestRateLimitRefusesNaNAndInf(t *testing.T) {
	var s Server
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, -1} {
		if err := WithRateLimit(v, 3)(&s); err == nil {
			t.Errorf("WithRateLimit(%g, 3) accepted", v)
		}
	}
	if err := WithRateLimit(6, 3)(&s); err != nil {
		t.Errorf("WithRateLimit(6, 3): %v", err)
	}
}
