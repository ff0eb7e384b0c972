package resample

import "golang.org/x/sys/cpu"

// runAVX2 computes n outputs: output j is the dot product of the row for its phase with
// the tp history samples starting at x, where x and p advance by (si, sf) per output as in
// runGo. tp is a multiple of 8.
//
//go:noescape
func runAVX2(dst *float32, n int, x *float32, h *float32, tp, p, l, si, sf int)

func runAVX2Go(k *kernel, dst []float32, hist []float32, start, p int) {
	if len(dst) == 0 {
		return
	}
	// bounds: the last output's window must lie inside hist.
	last := start + (len(dst)-1)*k.si + (p+(len(dst)-1)*k.sf)/k.l
	_ = hist[last+k.tp-1]
	runAVX2(&dst[0], len(dst), &hist[start], &k.coefs[0], k.tp, p, k.l, k.si, k.sf)
}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		run = runAVX2Go
		kernelName = "avx2-fma"
	}
}
