package resample

import (
	"fmt"
	"testing"
)

// benchConverter feeds 20 ms chunks of a 1 kHz tone and reports ns per input sample.
func benchConverter(b *testing.B, c converter, inRate int) {
	src := tone(inRate, 1000, 0.5, inRate/50)
	dst := make([]float32, c.MaxOut(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		c.Process(dst, src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(src)), "ns/sample")
}

// BenchmarkResample measures each pair with 20 ms chunks (ns/sample is per input sample).
func BenchmarkResample(b *testing.B) {
	for _, pr := range pairs {
		b.Run(fmt.Sprintf("%d-%d/%s", pr[0], pr[1], kernelName), func(b *testing.B) {
			benchConverter(b, mustNew(b, pr[0], pr[1]), pr[0])
		})
	}
}

// BenchmarkResampleGo is the same with the portable kernel, for comparison.
func BenchmarkResampleGo(b *testing.B) {
	saved := run
	run = runGo
	defer func() { run = saved }()
	for _, pr := range pairs {
		b.Run(fmt.Sprintf("%d-%d/go", pr[0], pr[1]), func(b *testing.B) {
			benchConverter(b, mustNew(b, pr[0], pr[1]), pr[0])
		})
	}
}
