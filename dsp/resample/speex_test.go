//go:build speexdsp && linux

package resample

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/edgevoice/edgevoice/dsp/resample/internal/speexref"
)

// threadCPU returns this OS thread's CPU time in ns (immune to other processes on a
// loaded machine, unlike wall time).
func threadCPU() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

// cpuNsPerSample runs c on 20 ms chunks for about budget ns of thread CPU time and returns
// CPU ns per input sample.
func cpuNsPerSample(c converter, inRate int, budget int64) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	src := tone(inRate, 1000, 0.5, inRate/50)
	dst := make([]float32, c.MaxOut(len(src)))
	for range 20 { // warm up caches and branch predictors
		c.Process(dst, src)
	}
	start := threadCPU()
	n := 0
	for threadCPU()-start < budget {
		for range 20 {
			c.Process(dst, src)
		}
		n += 20
	}
	return float64(threadCPU()-start) / float64(n*len(src))
}

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
// (EDGEVOICE_BENCH_TABLE=1). Each pair is timed ours/speexdsp alternately, five rounds,
// keeping the fastest round of each, in this one process; time is the thread's CPU time,
// so other load on the machine does not skew the ratio.
func TestBenchTable(t *testing.T) {
	if os.Getenv("EDGEVOICE_BENCH_TABLE") == "" {
		t.Skip("set EDGEVOICE_BENCH_TABLE=1 (make bench-dsp)")
	}
	w := os.Stdout
	fmt.Fprintf(w, "resample: 20 ms chunks, ns/sample = thread CPU ns per INPUT sample (best of 5 alternating rounds), kernel %q, %s/%s, GOMAXPROCS %d\n",
		kernelName, runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "%-13s | %14s | %22s | %6s | %17s | %22s | %12s\n",
		"pair", "ours ns/sample", "speexdsp q5 ns/sample", "ratio", "our worst alias dB", "speexdsp worst alias dB", "our delay ms")
	for _, pr := range pairs {
		in, out := pr[0], pr[1]
		ours := func() converter { return mustNew(t, in, out) }
		sp := func() converter { return newSpeex(t, in, out) }
		o, s := math.Inf(1), math.Inf(1)
		oc, sc := ours(), sp()
		for range 5 {
			o = min(o, cpuNsPerSample(oc, in, 60e6))
			s = min(s, cpuNsPerSample(sc, in, 60e6))
		}
		oa, _ := worstAlias(ours, in, out, 24)
		sa, _ := worstAlias(sp, in, out, 24)
		fmt.Fprintf(w, "%-13s | %14.2f | %22.2f | %5.2fx | %17.1f | %22.1f | %12.2f\n",
			fmt.Sprintf("%d->%d", in, out), o, s, s/o, oa, sa, mustNew(t, in, out).Delay().Seconds()*1000)
	}
}
