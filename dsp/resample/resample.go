package resample

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Rates lists the supported sample rates in Hz.
var Rates = []int{8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000}

// Filter design, as fractions of the lower of the two Nyquist frequencies.
const (
	passEdge = 0.89 // start of the transition band
	stopEdge = 1.05 // stop band starts here (goal: 1.05)
	stopDB   = 107  // Kaiser design attenuation
	lanes    = 8    // rows are zero-padded to a multiple of this many taps
	histMax  = 4080 // history buffer cap in float32 (under 16 KiB with the rest of the state)
)

// Resampler converts one mono float32 stream from one rate to another. It is not safe for
// concurrent use; use one per stream (they share coefficient tables).
type Resampler struct {
	k    *kernel
	hist []float32 // input history; hist[i-tp+1 : i+1] is the next output's window
	n    int       // valid samples in hist
	i    int       // index in hist of the newest input the next output uses
	p    int       // phase of the next output, 0 <= p < L
}

// kernel is the read-only polyphase table of one rate pair.
type kernel struct {
	inRate, outRate int
	l, m            int       // out/in = l/m, reduced
	si, sf          int       // per output: i += si, p += sf (carry into i at l)
	tp              int       // taps per phase (multiple of lanes)
	coefs           []float32 // l rows of tp taps, each row oldest-first
	delay           float64   // group delay in seconds
	histLen         int
}

var (
	cacheMu sync.Mutex
	cache   = map[[2]int]*kernel{}
)

func supported(rate int) bool {
	for _, r := range Rates {
		if r == rate {
			return true
		}
	}
	return false
}

// New returns a resampler from inRate to outRate (Hz). Both must be in Rates. The default
// quality meets the package's stated goals; construction of the first resampler of a pair
// computes its coefficient table (shared by later ones).
func New(inRate, outRate int) (*Resampler, error) {
	var bad []int
	for _, r := range []int{inRate, outRate} {
		if !supported(r) {
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("resample: unsupported sample rate(s) %v Hz; supported: %v", bad, Rates)
	}
	cacheMu.Lock()
	key := [2]int{inRate, outRate}
	k := cache[key]
	if k == nil {
		k = design(inRate, outRate)
		cache[key] = k
	}
	cacheMu.Unlock()
	r := &Resampler{k: k, hist: make([]float32, k.histLen)}
	r.Reset()
	return r, nil
}

// Reset drops all history, as if the resampler had just been created.
func (r *Resampler) Reset() {
	clear(r.hist)
	r.n = r.k.tp - 1
	r.i = r.k.tp - 1
	r.p = 0
}

// InRate returns the input rate in Hz.
func (r *Resampler) InRate() int { return r.k.inRate }

// OutRate returns the output rate in Hz.
func (r *Resampler) OutRate() int { return r.k.outRate }

// Delay returns the group delay of the filter: an
// input event appears this much later in the output. Nothing else is buffered.
func (r *Resampler) Delay() time.Duration {
	return time.Duration(r.k.delay * float64(time.Second))
}

// StateBytes returns the per-instance state size in bytes (the shared coefficient table
// is not counted; see TableBytes).
func (r *Resampler) StateBytes() int { return 4*len(r.hist) + 64 }

// TableBytes returns the size of the coefficient table shared by all resamplers of this
// rate pair.
func (r *Resampler) TableBytes() int { return 4 * len(r.k.coefs) }

// MaxOut returns an upper bound of the number of samples Process writes for n input
// samples.
func (r *Resampler) MaxOut(n int) int {
	if n <= 0 {
		return 0
	}
	return int((int64(n)*int64(r.k.l)+int64(r.k.m)-1)/int64(r.k.m)) + 1 // int64: 32-bit targets
}

// Process consumes all of src and writes the output it completes to dst, returning the
// number of samples written. It panics if len(dst) < MaxOut(len(src)). It never allocates.
func (r *Resampler) Process(dst, src []float32) int {
	if len(dst) < r.MaxOut(len(src)) {
		panic(fmt.Sprintf("BUG: resample: Process: len(dst) = %d < MaxOut(%d) = %d", len(dst), len(src), r.MaxOut(len(src))))
	}
	k := r.k
	out := 0
	if k.l == k.m { // same rate
		return copy(dst, src)
	}
	for len(src) > 0 {
		c := copy(r.hist[r.n:], src)
		r.n += c
		src = src[c:]
		// outputs whose newest input index is < n: count of j >= 0 with
		// i*l + p + j*m < n*l.
		if r.i < r.n {
			num := (r.n-r.i)*k.l - r.p
			cnt := (num + k.m - 1) / k.m
			run(k, dst[out:out+cnt], r.hist, r.i-k.tp+1, r.p)
			out += cnt
			adv := r.p + cnt*k.sf
			r.i += cnt*k.si + adv/k.l
			r.p = adv % k.l
		}
		if r.n == len(r.hist) {
			s := min(r.i-k.tp+1, r.n)
			copy(r.hist, r.hist[s:r.n])
			r.n -= s
			r.i -= s
		}
	}
	return out
}

// runGo computes len(dst) outputs; the first uses hist[start : start+tp] and phase p.
func runGo(k *kernel, dst []float32, hist []float32, start, p int) {
	tp := k.tp
	for j := range dst {
		row := k.coefs[p*tp : p*tp+tp]
		dst[j] = dotGo(row, hist[start:start+tp])
		p += k.sf
		start += k.si
		if p >= k.l {
			p -= k.l
			start++
		}
	}
}

// dotGo is the portable dot product; len(a) == len(b) is a multiple of lanes.
func dotGo(a, b []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	b = b[:len(a)]
	for i := 0; i+8 <= len(a); i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
		s4 += aa[4] * bb[4]
		s5 += aa[5] * bb[5]
		s6 += aa[6] * bb[6]
		s7 += aa[7] * bb[7]
	}
	return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// design computes the polyphase table for one pair.
func design(inRate, outRate int) *kernel {
	g := gcd(inRate, outRate)
	l, m := outRate/g, inRate/g
	k := &kernel{inRate: inRate, outRate: outRate, l: l, m: m, si: m / l, sf: m % l}
	if l == m {
		k.tp = 1
		k.histLen = 1
		return k
	}
	f := float64(l) * float64(inRate) // prototype rate
	nyq := float64(min(inRate, outRate)) / 2
	fc := 0.5 * (passEdge + stopEdge) * nyq
	dw := 2 * math.Pi * (stopEdge - passEdge) * nyq / f
	n := int(math.Ceil((stopDB-8)/(2.285*dw))) + 1 // prototype length
	beta := 0.1102 * (stopDB - 8.7)
	tp := (n + l - 1) / l
	tp = (tp + lanes - 1) / lanes * lanes
	k.tp = tp
	k.coefs = make([]float32, l*tp)
	c := float64(n-1) / 2
	i0b := besselI0(beta)
	proto := make([]float64, n)
	for mm := range n {
		x := float64(mm) - c
		t := 2 * fc / f * x
		s := 1.0
		if t != 0 {
			s = math.Sin(math.Pi*t) / (math.Pi * t)
		}
		r := 2*float64(mm)/float64(n-1) - 1
		w := besselI0(beta*math.Sqrt(math.Max(0, 1-r*r))) / i0b
		proto[mm] = float64(l) * 2 * fc / f * s * w
	}
	k.delay = c / f
	for mm, h := range proto {
		p, j := mm%l, mm/l
		k.coefs[p*tp+tp-1-j] = float32(h)
	}
	k.histLen = min(max(tp-1+2048, 4*tp), histMax)
	if k.histLen < tp+k.si+2 {
		panic("BUG: resample: history too short for the filter")
	}
	return k
}

func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 500; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}
