package resample

import "golang.org/x/sys/cpu"

// runNEON computes n outputs like runGo (see runAVX2 in kernel_amd64.go for the
// arguments). tp is a multiple of 8.
//
//go:noescape
func runNEON(dst *float32, n int, x *float32, h *float32, tp, p, l, si, sf int)

func runNEONGo(k *kernel, dst []float32, hist []float32, start, p int) {
	if len(dst) == 0 {
		return
	}
	last := start + (len(dst)-1)*k.si + (p+(len(dst)-1)*k.sf)/k.l
	_ = hist[last+k.tp-1]
	runNEON(&dst[0], len(dst), &hist[start], &k.coefs[0], k.tp, p, k.l, k.si, k.sf)
}

func init() {
	if cpu.ARM64.HasASIMD {
		run = runNEONGo
		kernelName = "neon"
	}
}
