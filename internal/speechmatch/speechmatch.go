// Package speechmatch compares two recordings of the same speech: the level, the share of
// each octave band of the speech range, the spectral centroid and the 10 ms loudness
// envelope. Tests use it to show that audio came through a path (a codec, a session, an
// echo canceller) still sounding like what went in. It uses the standard library only.
package speechmatch

import (
	"fmt"
	"math"
	"math/cmplx"
)

// fft is an in-place radix-2 transform; len(x) must be a power of two.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := range size / 2 {
				a, b := x[start+k], x[start+k+size/2]*wk
				x[start+k], x[start+k+size/2] = a+b, a-b
				wk *= w
			}
		}
	}
}

const specN = 2048 // 23.4 Hz bins at 48 kHz

// powerSpectrum is the mean power per bin over Hann-windowed frames with 50 % overlap
// (Welch); frames of near-silence are left out so pauses do not dilute the average.
func powerSpectrum(x []float32) []float64 {
	p := make([]float64, specN/2+1)
	win := make([]float64, specN)
	for i := range win {
		win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/specN)
	}
	buf := make([]complex128, specN)
	frames := 0
	for off := 0; off+specN <= len(x); off += specN / 2 {
		if rms(x[off:off+specN]) < 0.01 {
			continue
		}
		for i := range buf {
			buf[i] = complex(float64(x[off+i])*win[i], 0)
		}
		fft(buf)
		for k := range p {
			p[k] += real(buf[k])*real(buf[k]) + imag(buf[k])*imag(buf[k])
		}
		frames++
	}
	for k := range p {
		p[k] /= float64(max(frames, 1))
	}
	return p
}

func binOf(hz float64) int { return int(math.Round(hz * specN / 48000)) }

// speechBands are the octave bands compared, 125 Hz – 8 kHz: the speech band that
// Opus at 32 kb/s carries.
var speechBands = [][2]float64{{125, 250}, {250, 500}, {500, 1000}, {1000, 2000}, {2000, 4000}, {4000, 8000}}

// spectrumShape is the share of the 125 Hz – 8 kHz power in each band, and the spectral
// centroid (Hz) of that range.
func spectrumShape(p []float64) (share []float64, centroid float64) {
	var total, moment float64
	for k := binOf(125); k < binOf(8000); k++ {
		total += p[k]
		moment += p[k] * float64(k) * 48000 / specN
	}
	for _, b := range speechBands {
		var e float64
		for k := binOf(b[0]); k < binOf(b[1]); k++ {
			e += p[k]
		}
		share = append(share, e/max(total, 1e-30))
	}
	return share, moment / max(total, 1e-30)
}

// envelope is the RMS of each 10 ms block.
func envelope(x []float32) []float64 {
	e := make([]float64, len(x)/480)
	for i := range e {
		e[i] = rms(x[i*480 : (i+1)*480])
	}
	return e
}

// envelopeMatch is the best Pearson correlation of the two 10 ms envelopes over lags of
// up to ±200 ms, and that lag.
func envelopeMatch(a, b []float64) (best float64, lag int) {
	best = -1
	for l := -20; l <= 20; l++ {
		var xs, ys []float64
		for i := range a {
			if j := i + l; j >= 0 && j < len(b) {
				xs, ys = append(xs, a[i]), append(ys, b[j])
			}
		}
		if len(xs) < len(a)/2 {
			continue
		}
		if r := pearson(xs, ys); r > best {
			best, lag = r, l
		}
	}
	return best, lag
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx, my = mx+x[i], my+y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Match compares what came back with what was sent (both mono at [Rate]) and returns the measurements
// and what is wrong with them (nil when it matches): the level within 3 dB, each octave
// band's share of the power within 4 dB (bands holding ≥ 2 % of it), the spectral
// centroid within 15 %, and the 10 ms loudness envelope correlated at ≥ 0.85.
func Match(sent, got []float32) (report string, problems []string) {
	sent, got = Active(sent), Active(got)
	if len(got) < specN*2 {
		return fmt.Sprintf("%d ms came back", len(got)/48), []string{"no speech came back"}
	}
	inRMS, outRMS := rms(sent), rms(got)
	dB := 20 * math.Log10(outRMS/inRMS)
	inShare, inC := spectrumShape(powerSpectrum(sent))
	outShare, outC := spectrumShape(powerSpectrum(got))
	r, lag := envelopeMatch(envelope(sent), envelope(got))
	report = fmt.Sprintf("active %d ms sent, %d ms back; RMS %.4f → %.4f (%+.2f dB); centroid %.0f → %.0f Hz (%+.1f %%); envelope r=%.3f at lag %d ms; bands",
		len(sent)/48, len(got)/48, inRMS, outRMS, dB, inC, outC, 100*(outC/inC-1), r, lag*10)
	for i, b := range speechBands {
		report += fmt.Sprintf(" %.0f-%.0f: %.1f%%→%.1f%%", b[0], b[1], 100*inShare[i], 100*outShare[i])
	}
	if math.Abs(dB) > 3 {
		problems = append(problems, fmt.Sprintf("level %+.2f dB off (want within 3 dB)", dB))
	}
	for i, b := range speechBands {
		if inShare[i] < 0.02 {
			continue
		}
		if d := 10 * math.Log10(max(outShare[i], 1e-9)/inShare[i]); math.Abs(d) > 4 {
			problems = append(problems, fmt.Sprintf("band %.0f-%.0f Hz holds %.1f%% of the power, sent %.1f%% (%+.1f dB; want within 4 dB)",
				b[0], b[1], 100*outShare[i], 100*inShare[i], d))
		}
	}
	if math.Abs(outC/inC-1) > 0.15 {
		problems = append(problems, fmt.Sprintf("spectral centroid %.0f Hz, sent %.0f Hz (want within 15 %%)", outC, inC))
	}
	if r < 0.85 {
		problems = append(problems, fmt.Sprintf("loudness envelope correlation %.3f (want ≥ 0.85)", r))
	}
	return report, problems
}

// Rate is the sample rate Match expects (48 kHz).
const Rate = 48000

// Active trims x to its first and last sample above 0.05 (leading and trailing
// near-silence).
func Active(x []float32) []float32 {
	first, last := -1, -1
	for i, v := range x {
		if math.Abs(float64(v)) > 0.05 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	return x[first : last+1]
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if len(x) == 0 {
		return 0
	}
	return math.Sqrt(s / float64(len(x)))
}
