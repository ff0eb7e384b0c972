package rtc

import (
	"context"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/dsp/resample"
	"github.com/pion/transport/v5/test"
)

// bundledClip is the demo's spoken question (espeak-ng, 16 kHz mono S16).
const bundledClip = "../cmd/edgevoice/assets/question.wav"

// speechInput returns a speech clip at 48 kHz and where it came from: espeak-ng when it
// is installed, else the clip bundled with the demo. It skips the test when neither is
// there.
func speechInput(t *testing.T) ([]float32, string) {
	t.Helper()
	path, from := "", ""
	if espeak, err := exec.LookPath("espeak-ng"); err == nil {
		wav := filepath.Join(t.TempDir(), "speech.wav")
		if out, err := exec.Command(espeak, "-w", wav, "What is the weather like in Lisbon today?").CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng: %v: %s", err, out)
		}
		path, from = wav, "espeak-ng"
	} else if _, err := os.Stat(bundledClip); err == nil {
		path, from = bundledClip, bundledClip
	} else {
		t.Skipf("no speech clip: espeak-ng is not installed (build/install-deps.sh installs it) and %s is missing", bundledClip)
	}
	clip, rate, err := readWAV(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if rate == 48000 {
		return clip, from
	}
	// band-limited conversion, so the reference holds no images above the clip's Nyquist
	r, err := resample.New(rate, 48000)
	if err != nil {
		t.Fatalf("resample %d → 48000: %v", rate, err)
	}
	tail := make([]float32, rate/10) // flushes the filter delay
	src := append(slices.Clone(clip), tail...)
	out := make([]float32, r.MaxOut(len(src)))
	n := r.Process(out, src)
	return out[:n], fmt.Sprintf("%s (%d Hz)", from, rate)
}

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

// speechMatch compares what came back with what was sent and returns the measurements
// and what is wrong with them (nil when it matches): the level within 3 dB, each octave
// band's share of the power within 4 dB (bands holding ≥ 2 % of it), the spectral
// centroid within 15 %, and the 10 ms loudness envelope correlated at ≥ 0.85.
func speechMatch(sent, got []float32) (report string, problems []string) {
	sent, got = active(sent), active(got)
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

// TestSpeechMatchRejects: the comparison of TestEmulatorSpeechRoundTrip fails for what a
// broken path would deliver: silence, noise at the same level, a tone, the speech at a
// third of its level, low-passed, or another part of the clip.
func TestSpeechMatchRejects(t *testing.T) {
	speech, from := speechInput(t)
	if _, p := speechMatch(speech, speech); len(p) != 0 {
		t.Fatalf("the clip (%s) does not match itself: %q", from, p)
	}
	lvl := rms(active(speech))
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]float32, len(speech))
	tone := make([]float32, len(speech))
	quiet := make([]float32, len(speech))
	dull := make([]float32, len(speech))
	for i := range noise {
		noise[i] = float32(rng.NormFloat64() * lvl)
		tone[i] = float32(math.Sqrt2 * lvl * math.Sin(2*math.Pi*440*float64(i)/48000))
		quiet[i] = speech[i] / 3
	}
	// a one-pole low-pass at ~300 Hz, brought back to the level of the speech
	var y float32
	a := float32(1 - math.Exp(-2*math.Pi*300/48000))
	for i, v := range speech {
		y += a * (v - y)
		dull[i] = y
	}
	g := float32(lvl / rms(active(dull)))
	for i := range dull {
		dull[i] *= g
	}
	// the clip's second half first: same sound, wrong timing
	half := len(speech) / 2
	shuffled := append(slices.Clone(speech[half:]), speech[:half]...)
	for _, c := range []struct {
		name string
		got  []float32
	}{
		{"silence", make([]float32, len(speech))},
		{"white noise at the speech level", noise},
		{"440 Hz tone at the speech level", tone},
		{"speech at -9.5 dB", quiet},
		{"speech low-passed at 300 Hz", dull},
		{"speech halves swapped", shuffled},
	} {
		rep, p := speechMatch(speech, c.got)
		if len(p) == 0 {
			t.Errorf("%s passed as the clip: %s", c.name, rep)
		} else {
			t.Logf("%s rejected: %q", c.name, p)
		}
	}
}

// TestEmulatorSpeechRoundTrip: a spoken clip (espeak-ng, or the demo's bundled one) goes
// up through the real Opus encoder in a push-to-talk turn against the emulator, which
// echoes the turn; in both dialects the answer must come back at the clip's level with
// its spectrum and loudness envelope, with the client, server and session events in
// protocol order.
func TestEmulatorSpeechRoundTrip(t *testing.T) {
	speech, from := speechInput(t)
	defer test.CheckRoutines(t)()
	for _, profile := range []string{"openai", "azure", "azure-preview"} {
		t.Run(profile, func(t *testing.T) {
			srv := startEmulator(t)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			key, err := srv.MintKey(ctx, profile)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(key, testOpts(WithSessionConfig(pttConfig()))...)
			if err != nil {
				t.Fatal(err)
			}
			sp := startSpeaker(s)
			defer sp.close()
			rec := recordEvents(s)
			defer func() { s.Close(); <-rec.done }()
			s.Start(ctx)
			rec.wait(t, 5*time.Second, isState(StateConnected))
			waitSessionUpdated(ctx, t, srv, key.Dialect)
			s.Press()
			feedSamples(s, speech)
			s.Release()
			rec.wait(t, 5*time.Second, isKind(EventSpeakingStarted))
			rec.wait(t, 10*time.Second, isKind(EventSpeakingStopped))
			c := waitPlayedOut(t, srv, s)
			time.Sleep(30 * time.Millisecond) // the speaker's last read
			if len(c.Turns) != 1 {
				t.Fatalf("emulator committed %d turns, want 1", len(c.Turns))
			}
			clipDur := time.Duration(len(speech)) * time.Second / 48000
			if turn := c.Turns[0]; turn.Duration < clipDur-20*time.Millisecond {
				t.Errorf("the emulator committed %v of the %v clip", turn.Duration, clipDur)
			}

			out, _ := sp.snapshot()
			report, problems := speechMatch(speech, out)
			t.Logf("%s, %s: %s", profile, from, report)
			for _, p := range problems {
				t.Errorf("%s: %s", profile, p)
			}

			checkTurnEvents(t, srv, key.Dialect)
			rec.mu.Lock()
			var kinds []string
			for _, e := range rec.evs {
				switch e.Kind {
				case EventTranscriptDelta: // any number of them
				case EventState:
					kinds = append(kinds, "state "+e.State.String())
				default:
					kinds = append(kinds, e.Kind.String())
				}
			}
			rec.mu.Unlock()
			wantKinds := []string{"state connecting", "state connected", "listening", "mic-closed", "thinking", "speaking-started", "transcript-done", "response-done", "speaking-stopped"}
			if !slices.Equal(kinds, wantKinds) {
				t.Errorf("session events %q, want %q", kinds, wantKinds)
			}
		})
	}
}
