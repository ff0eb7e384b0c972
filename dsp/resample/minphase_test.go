package resample

import (
	"math"
	"math/cmplx"
	"testing"
)

func TestFFT(t *testing.T) {
	const n = 64
	x := make([]complex128, n)
	x[3] = 1
	fft(x, false)
	for k, v := range x { // a delayed impulse: unit magnitude, linear phase
		if want := cmplx.Rect(1, -2*math.Pi*3*float64(k)/n); cmplx.Abs(v-want) > 1e-12 {
			t.Fatalf("bin %d = %v, want %v", k, v, want)
		}
	}
	fft(x, true)
	for i, v := range x {
		want := 0.0
		if i == 3 {
			want = 1
		}
		if cmplx.Abs(v-complex(want, 0)) > 1e-12 {
			t.Fatalf("round trip sample %d = %v", i, v)
		}
	}
}

// TestMinimumPhase checks the low-delay prototype keeps the linear-phase one's energy and
// has it up front: the response peaks within the first 1.5 ms.
func TestMinimumPhase(t *testing.T) {
	lin := mustNew(t, 48000, 16000)
	ld, err := NewLowDelay(48000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	energy := func(c []float32) (e float64, peak int) {
		var best float32
		for i, v := range c { // L = 1: one row, stored oldest-first
			e += float64(v) * float64(v)
			if a := float32(math.Abs(float64(v))); a > best {
				best, peak = a, len(c)-1-i
			}
		}
		return e, peak
	}
	e1, p1 := energy(lin.k.coefs)
	e2, p2 := energy(ld.k.coefs)
	t.Logf("energy %.6f vs %.6f; peak at tap %d vs %d", e1, e2, p1, p2)
	if math.Abs(e1-e2) > 1e-3*e1 {
		t.Errorf("energy changed: %g -> %g", e1, e2)
	}
	if float64(p2)/48000 > 0.0015 || p2 >= p1 {
		t.Errorf("low-delay peak at tap %d (linear %d)", p2, p1)
	}
}
