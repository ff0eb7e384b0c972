package resample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// pairs are the rate pairs the goals are checked on.
var pairs = [][2]int{{48000, 16000}, {48000, 24000}, {16000, 48000}, {24000, 48000}, {44100, 48000}, {48000, 44100}}

// converter is anything with Process semantics (ours, or a reference in the benchmark).
type converter interface {
	Process(dst, src []float32) int
	MaxOut(n int) int
}

// feed runs x through c in chunks of the given size and returns all output.
func feed(c converter, x []float32, chunk int) []float32 {
	out := make([]float32, 0, c.MaxOut(len(x))+chunk)
	buf := make([]float32, c.MaxOut(chunk))
	for len(x) > 0 {
		n := min(chunk, len(x))
		w := c.Process(buf, x[:n])
		out = append(out, buf[:w]...)
		x = x[n:]
	}
	return out
}

func tone(rate int, f, amp float64, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*f*float64(i)/float64(rate)+0.3))
	}
	return x
}

// sineFit fits a*sin + b*cos + c at frequency f (Hz, rate) to y by least squares and
// returns the fitted amplitude and the RMS of the residual.
func sineFit(y []float32, rate int, f float64) (amp, resid float64) {
	w := 2 * math.Pi * f / float64(rate)
	// normal equations for [sin, cos, 1]
	var a [3][4]float64
	for i, v := range y {
		b := [3]float64{math.Sin(w * float64(i)), math.Cos(w * float64(i)), 1}
		for r := range 3 {
			for c := range 3 {
				a[r][c] += b[r] * b[c]
			}
			a[r][3] += b[r] * float64(v)
		}
	}
	// Gauss-Jordan
	for c := range 3 {
		piv := c
		for r := c + 1; r < 3; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[piv][c]) {
				piv = r
			}
		}
		a[c], a[piv] = a[piv], a[c]
		for r := range 3 {
			if r != c {
				q := a[r][c] / a[c][c]
				for k := c; k < 4; k++ {
					a[r][k] -= q * a[c][k]
				}
			}
		}
	}
	s, co, dc := a[0][3]/a[0][0], a[1][3]/a[1][1], a[2][3]/a[2][2]
	var e float64
	for i, v := range y {
		d := float64(v) - (s*math.Sin(w*float64(i)) + co*math.Cos(w*float64(i)) + dc)
		e += d * d
	}
	return math.Hypot(s, co), math.Sqrt(e / float64(len(y)))
}

func db(x float64) float64 { return 20 * math.Log10(x) }

// settle returns the output slice after the filter has settled (skip delay + margin).
func settle(y []float32, outRate int) []float32 {
	skip := outRate / 50 // 20 ms: more than any delay of the six pairs
	return y[skip:]
}

// toneResponse feeds a tone at f Hz in 20 ms chunks and returns the output level of the
// tone (dB re input) and the level of everything else (dB re the input tone).
func toneResponse(c converter, inRate, outRate int, f float64, n int) (gain, other float64) {
	const amp = 0.5
	x := tone(inRate, f, amp, n)
	y := settle(feed(c, x, inRate/50), outRate)
	if f >= float64(outRate)/2 { // the tone cannot exist in the output: all of it is alias
		var e float64
		for _, v := range y {
			e += float64(v) * float64(v)
		}
		return math.Inf(-1), db(math.Sqrt(e/float64(len(y))) / (amp / math.Sqrt2))
	}
	a, r := sineFit(y, outRate, f)
	return db(a / amp), db(r / (amp / math.Sqrt2))
}

// worstAlias returns the worst level (dB re the tone) of output energy at or above 1.05
// times the lower Nyquist frequency: for downsampling, input tones from 1.05 x output
// Nyquist up to the input Nyquist; for upsampling, images of input tones up to 0.95 x
// input Nyquist.
func worstAlias(newConv func() converter, inRate, outRate int, tones int) (worst, at float64) {
	worst = math.Inf(-1)
	n := inRate / 4
	if inRate > outRate {
		lo, hi := 1.05*float64(outRate)/2, 0.995*float64(inRate)/2
		for t := range tones {
			f := lo + (hi-lo)*float64(t)/float64(tones-1)
			_, o := toneResponse(newConv(), inRate, outRate, f, n)
			if o > worst {
				worst, at = o, f
			}
		}
		return worst, at
	}
	lo, hi := 0.05*float64(inRate)/2, 0.95*float64(inRate)/2
	for t := range tones {
		f := lo + (hi-lo)*float64(t)/float64(tones-1)
		_, o := toneResponse(newConv(), inRate, outRate, f, n)
		if o > worst {
			worst, at = o, f
		}
	}
	return worst, at
}

func mustNew(t testing.TB, in, out int) *Resampler {
	t.Helper()
	r, err := New(in, out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBadRates(t *testing.T) {
	for _, c := range [][2]int{{0, 48000}, {48000, -1}, {44000, 48000}, {48000, 12345}} {
		_, err := New(c[0], c[1])
		if err == nil {
			t.Errorf("New(%d, %d) = nil error", c[0], c[1])
			continue
		}
		bad := c[0]
		if bad == 48000 {
			bad = c[1]
		}
		if !contains(err.Error(), fmt.Sprint(bad)) {
			t.Errorf("New(%d, %d) error %q does not name %d", c[0], c[1], err, bad)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestAllPairsConstruct(t *testing.T) {
	for _, in := range Rates {
		for _, out := range Rates {
			r := mustNew(t, in, out)
			if r.StateBytes() > 16<<10 {
				t.Errorf("%d->%d: state %d bytes > 16 KiB", in, out, r.StateBytes())
			}
			// a short run must not panic and must give the exact count
			x := tone(in, 440, 0.5, in/10)
			y := feed(r, x, 97)
			want := (len(x)*out + in - 1) / in
			if in == out {
				want = len(x)
			}
			if len(y) != want {
				t.Errorf("%d->%d: %d outputs for %d inputs, want %d", in, out, len(y), len(x), want)
			}
		}
	}
}

// TestQuality checks SNR at 1 kHz, passband gain at 0.5/0.9/0.95 of the lower Nyquist,
// the worst alias and the delay (<= 5 ms), for the six pairs fed in 20 ms chunks.
func TestQuality(t *testing.T) {
	for _, v := range []struct {
		name     string
		new      func(int, int) (*Resampler, error)
		maxDelay float64
	}{{"linear", New, 0.005}} {
		for _, pr := range pairs {
			in, out := pr[0], pr[1]
			t.Run(fmt.Sprintf("%s/%d-%d", v.name, in, out), func(t *testing.T) {
				mk := func() *Resampler {
					r, err := v.new(in, out)
					if err != nil {
						t.Fatal(err)
					}
					return r
				}
				r := mk()
				g, o := toneResponse(r, in, out, 1000, in/2)
				t.Logf("1 kHz: gain %.4f dB, SNR %.1f dB, delay %v", g, -o, r.Delay())
				if -o < 120 {
					t.Errorf("SNR at 1 kHz = %.1f dB, want >= 120", -o)
				}
				nyq := float64(min(in, out)) / 2
				for _, c := range []struct{ frac, lo, hi float64 }{{0.5, -0.1, 0.1}, {0.9, -0.1, 0.1}, {0.95, -3, 0.1}} {
					r.Reset()
					g, _ := toneResponse(r, in, out, c.frac*nyq, in/4)
					t.Logf("gain at %.2f Nyquist: %.4f dB", c.frac, g)
					if g < c.lo || g > c.hi {
						t.Errorf("gain at %.2f x Nyquist = %.3f dB, want %.1f..%.1f", c.frac, g, c.lo, c.hi)
					}
				}
				w, at := worstAlias(func() converter { return mk() }, in, out, 24)
				t.Logf("worst alias %.1f dB at %.0f Hz", w, at)
				if w > -100 {
					t.Errorf("worst alias %.1f dB at %.0f Hz, want <= -100", w, at)
				}
				if d := r.Delay().Seconds(); d > v.maxDelay || d <= 0 {
					t.Errorf("delay %.3f ms, want 0..%.1f ms", d*1000, v.maxDelay*1000)
				}
			})
		}
	}
}

// TestChunkOutput checks that every 20 ms input chunk yields its full output chunk (±1).
func TestChunkOutput(t *testing.T) {
	for _, pr := range pairs {
		in, out := pr[0], pr[1]
		r := mustNew(t, in, out)
		src := tone(in, 1000, 0.5, in/50)
		dst := make([]float32, r.MaxOut(len(src)))
		for range 200 {
			n := r.Process(dst, src)
			if n < out/50-1 || n > out/50+1 {
				t.Fatalf("%d->%d: 20 ms chunk gave %d samples, want %d±1", in, out, n, out/50)
			}
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, pr := range pairs {
		r := mustNew(t, pr[0], pr[1])
		src := tone(pr[0], 1000, 0.5, pr[0]/50)
		dst := make([]float32, r.MaxOut(len(src)))
		if a := testing.AllocsPerRun(50, func() { r.Process(dst, src) }); a != 0 {
			t.Errorf("%v: %v allocs per Process, want 0", pr, a)
		}
	}
}

func TestShortDstPanics(t *testing.T) {
	r := mustNew(t, 48000, 16000)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	r.Process(make([]float32, 1), make([]float32, 960))
}

// chunkIndependence feeds x whole and in the given chunk sizes and requires identical
// output.
func chunkIndependence(t *testing.T, in, out int, x []float32, sizes []int) {
	mk := func() *Resampler { return mustNew(t, in, out) }
	a := feed(mk(), x, len(x)+1)
	r := mk()
	b := make([]float32, 0, len(a)+8)
	buf := make([]float32, r.MaxOut(len(x)))
	for i := 0; len(x) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(x))
		w := r.Process(buf, x[:n])
		b = append(b, buf[:w]...)
		x = x[n:]
	}
	if len(a) != len(b) {
		t.Fatalf("%d->%d: %d samples whole, %d chunked", in, out, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%d->%d: sample %d differs: %g whole, %g chunked", in, out, i, a[i], b[i])
		}
	}
}

// TestChunkIndependence is the fuzz target's check on fixed seeds for the six pairs
// (also what runs under qemu, where the fuzzer cannot).
func TestChunkIndependence(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	x := make([]float32, 5000)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.3)
	}
	for _, pr := range pairs {
		sizes := make([]int, 13)
		for i := range sizes {
			sizes[i] = rng.IntN(400) + 1
		}
		sizes[3] = 1
		chunkIndependence(t, pr[0], pr[1], x, sizes)
	}
}

func FuzzChunkIndependence(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(4))
	f.Add(uint64(7), uint8(4), uint8(1))
	f.Add(uint64(42), uint8(2), uint8(0))
	f.Add(uint64(3), uint8(5), uint8(200))
	f.Fuzz(func(t *testing.T, seed uint64, pair, maxChunk uint8) {
		in, out := Rates[int(pair)%len(Rates)], Rates[(int(pair)/9+int(seed%9))%len(Rates)]
		if int(pair) < 6*4 {
			in, out = pairs[int(pair)%6][0], pairs[int(pair)%6][1]
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		x := make([]float32, 6000)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.3)
		}
		sizes := make([]int, 17)
		for i := range sizes {
			sizes[i] = rng.IntN(int(maxChunk)*20+2) + 0
		}
		sizes[0]++
		chunkIndependence(t, in, out, x, sizes)
	})
}

// TestCountNoDrift runs one hour of 44.1 -> 48 kHz in 20 ms chunks through the real
// Process bookkeeping (the dot products are skipped) and checks the output count.
func TestCountNoDrift(t *testing.T) {
	saved := run
	run = func(*kernel, []float32, []float32, int, int) {}
	defer func() { run = saved }()
	for _, pr := range [][2]int{{44100, 48000}, {48000, 44100}} {
		r := mustNew(t, pr[0], pr[1])
		chunk := make([]float32, pr[0]/50)
		dst := make([]float32, r.MaxOut(len(chunk)))
		total, n := 0, 0
		for range 3600 * 50 {
			total += r.Process(dst, chunk)
			n += len(chunk)
		}
		floor := int(int64(n) * int64(pr[1]) / int64(pr[0]))
		if exact := int((int64(n)*int64(pr[1]) + int64(pr[0]) - 1) / int64(pr[0])); total != exact {
			t.Errorf("%v: %d outputs for %d inputs (1 h), want exactly ceil(N*out/in) = %d", pr, total, n, exact)
		}
		if total < floor-1 || total > floor+1 {
			t.Errorf("%v: %d outputs for %d inputs (1 h), want floor(N*out/in) = %d ±1", pr, total, n, floor)
		}
	}
}

// TestLongRun feeds one hour of a 1 kHz tone at 44.1 kHz in 20 ms chunks through the real
// filter, checks the output count is exactly ceil(N*out/in), and checks the last chunk
// against the ideal tone delayed by Delay: any drift of the phase would show as a large
// error. It runs by default with a vector kernel (a few seconds) and with the portable one
// only under EDGEVOICE_SLOW=1.
func TestLongRun(t *testing.T) {
	if (kernelName == "go" || testing.Short()) && os.Getenv("EDGEVOICE_SLOW") == "" {
		t.Skip("portable kernel or -short: set EDGEVOICE_SLOW=1 for the 1-hour run")
	}
	const in, out, f, amp = 44100, 48000, 1000.0, 0.5
	r := mustNew(t, in, out)
	chunk := tone(in, f, amp, in/50) // exactly 20 periods: the chunk repeats seamlessly
	dst := make([]float32, r.MaxOut(len(chunk)))
	total, n, w := 0, 0, 0
	for range 3600 * 50 {
		w = r.Process(dst, chunk)
		total += w
		n += len(chunk)
	}
	if exact := int((int64(n)*out + in - 1) / in); total != exact {
		t.Fatalf("%d outputs for %d inputs, want exactly %d", total, n, exact)
	}
	var worst float64
	for j := range w {
		k := total - w + j
		tm := float64(k)/out - r.k.delay
		want := amp * math.Sin(2*math.Pi*f*tm+0.3)
		worst = max(worst, math.Abs(float64(dst[j])-want))
	}
	t.Logf("after 1 h: %d outputs, last chunk max error %.2g (%.1f dB re amplitude)", total, worst, db(worst/amp))
	if worst > 1e-5 {
		t.Fatalf("last chunk after 1 h differs from the ideal delayed tone by %g", worst)
	}
}
