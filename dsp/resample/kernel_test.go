package resample

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelMatchesGo checks that the kernel in use (assembly where the CPU has it) gives
// the same outputs as the portable Go kernel, within float32 rounding.
func TestKernelMatchesGo(t *testing.T) {
	t.Logf("kernel %s", kernelName)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, in := range Rates {
		for _, out := range Rates {
			if in == out {
				continue
			}
			r := mustNew(t, in, out)
			k := r.k
			hist := make([]float32, len(r.hist))
			for i := range hist {
				hist[i] = float32(rng.NormFloat64())
			}
			n := min((len(hist)-k.tp)*k.l/k.m, 300)
			a := make([]float32, n)
			b := make([]float32, n)
			p := rng.IntN(k.l)
			runGo(k, a, hist, 0, p)
			run(k, b, hist, 0, p)
			for i := range a {
				// scale of the rounding error: sum of |terms|
				if d := math.Abs(float64(a[i] - b[i])); d > 1e-5*(1+math.Abs(float64(a[i]))) {
					t.Fatalf("%d->%d output %d: go %v, %s %v", in, out, i, a[i], kernelName, b[i])
				}
			}
		}
	}
}
