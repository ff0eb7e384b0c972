//go:build speexdsp

package resample

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/edgevoice/edgevoice/dsp/resample/internal/speexref"
)

func newSpeex(t testing.TB, in, out int) *speexref.Resampler {
	s, err := speexref.New(in, out, 5)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// BenchmarkSpeexQ5 is libspeexdsp at quality 5 (float API) on the same pairs and chunks.
func BenchmarkSpeexQ5(b *testing.B) {
	for _, pr := range pairs {
		b.Run(fmt.Sprintf("%d-%d/speexdsp-q5", pr[0], pr[1]), func(b *testing.B) {
			benchConverter(b, newSpeex(b, pr[0], pr[1]), pr[0])
		})
	}
}

// TestBenchTable prints the side-by-side table of `make bench-dsp`
// (EDGEVOICE_BENCH_TABLE=1). Each pair is benchmarked ours/speexdsp alternately, twice,
// keeping the faster run of each, in this one process.
func TestBenchTable(t *testing.T) {
	if os.Getenv("EDGEVOICE_BENCH_TABLE") == "" {
		t.Skip("set EDGEVOICE_BENCH_TABLE=1 (make bench-dsp)")
	}
	nsPer := func(c func() converter, in int) float64 {
		r := testing.Benchmark(func(b *testing.B) { benchConverter(b, c(), in) })
		return float64(r.T.Nanoseconds()) / float64(r.N) / float64(in/50)
	}
	w := os.Stdout
	fmt.Fprintf(w, "resample: 20 ms chunks, ns/sample = ns per INPUT sample, kernel %q, %s/%s, GOMAXPROCS %d\n",
		kernelName, runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "%-13s | %14s | %22s | %6s | %17s | %22s | %12s\n",
		"pair", "ours ns/sample", "speexdsp q5 ns/sample", "ratio", "our worst alias dB", "speexdsp worst alias dB", "our delay ms")
	for _, pr := range pairs {
		in, out := pr[0], pr[1]
		ours := func() converter { return mustNew(t, in, out) }
		sp := func() converter { return newSpeex(t, in, out) }
		o, s := nsPer(ours, in), nsPer(sp, in)
		o2, s2 := nsPer(ours, in), nsPer(sp, in)
		o, s = min(o, o2), min(s, s2)
		oa, _ := worstAlias(ours, in, out, 24)
		sa, _ := worstAlias(sp, in, out, 24)
		fmt.Fprintf(w, "%-13s | %14.2f | %22.2f | %5.2fx | %17.1f | %22.1f | %12.2f\n",
			fmt.Sprintf("%d->%d", in, out), o, s, s/o, oa, sa, mustNew(t, in, out).Delay().Seconds()*1000)
	}
}
