package resample

import (
	"math"
	"math/bits"
	"math/cmplx"
)

// minimumPhase returns the minimum-phase filter with (nearly) the magnitude response of h,
// by the real-cepstrum (homomorphic) method on an 8x zero-padded FFT grid, truncated to
// len(h) taps.
func minimumPhase(h []float64) []float64 {
	size := 1 << bits.Len(uint(8*len(h)-1))
	x := make([]complex128, size)
	for i, v := range h {
		x[i] = complex(v, 0)
	}
	fft(x, false)
	peak := 0.0
	for _, v := range x {
		peak = max(peak, cmplx.Abs(v))
	}
	floor := peak * 1e-12 // -240 dB: keeps log finite at the stop band's zeros
	for i, v := range x {
		x[i] = complex(math.Log(max(cmplx.Abs(v), floor)), 0)
	}
	fft(x, true) // real cepstrum
	// fold the anti-causal part onto the causal part
	for i := 1; i < size/2; i++ {
		x[i] *= 2
	}
	for i := size/2 + 1; i < size; i++ {
		x[i] = 0
	}
	fft(x, false)
	for i, v := range x {
		x[i] = cmplx.Exp(v)
	}
	fft(x, true)
	out := make([]float64, len(h))
	for i := range out {
		out[i] = real(x[i])
	}
	return out
}

// fft is an in-place iterative radix-2 FFT; inverse includes the 1/n scaling.
func fft(x []complex128, inverse bool) {
	n := len(x)
	shift := 64 - bits.Len(uint(n-1))
	for i := range n {
		j := int(bits.Reverse64(uint64(i)) >> shift)
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	tw := make([]complex128, n/2) // twiddles of the full size; stage size uses every n/size-th
	for k := range tw {
		tw[k] = cmplx.Rect(1, sign*2*math.Pi*float64(k)/float64(n))
	}
	for size := 2; size <= n; size <<= 1 {
		half, stride := size/2, n/size
		for start := 0; start < n; start += size {
			a, b := x[start:start+half], x[start+half:start+size]
			for k := range a {
				t := b[k] * tw[k*stride]
				a[k], b[k] = a[k]+t, a[k]-t
			}
		}
	}
	if inverse {
		s := complex(1/float64(n), 0)
		for i := range x {
			x[i] *= s
		}
	}
}
