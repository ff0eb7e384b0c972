package rtc

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/dsp/resample"
	"github.com/edgevoice/edgevoice/internal/speechmatch"
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

// speechMatch is the shared comparison (internal/speechmatch, also used by the echo
// canceller's room tests).
func speechMatch(sent, got []float32) (string, []string) { return speechmatch.Match(sent, got) }

// active trims leading and trailing near-silence (internal/speechmatch).
func active(x []float32) []float32 { return speechmatch.Active(x) }

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
	for _, tr := range []Transport{TransportWebRTC, TransportWebSocket} {
		for _, profile := range []string{"openai", "azure", "azure-preview"} {
			if tr == TransportWebSocket && profile == "azure" {
				continue // the same GA dialect as openai (both are in TestEmulatorTurn); saves 5 s of make test
			}
			t.Run(tr.String()+"/"+profile, func(t *testing.T) { speechRoundTrip(t, tr, profile, speech, from) })
		}
	}
}

// speechRoundTrip runs one case of TestEmulatorSpeechRoundTrip.
func speechRoundTrip(t *testing.T, tr Transport, profile string, speech []float32, from string) {
	{
		{
			srv := startEmulator(t)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			key, err := srv.MintKey(ctx, profile)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(key, testOpts(WithSessionConfig(pttConfig()), WithTransport(tr))...)
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

			checkTurnEvents(t, srv, key.Dialect, tr)
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
			if tr == TransportWebSocket {
				// the transcript and the audio are separate event streams on a socket (no
				// output_audio_buffer.started ahead of them): transcript-done comes once,
				// between thinking and response-done, before or after the first audio
				i, j := slices.Index(kinds, "thinking"), slices.Index(kinds, "response-done")
				if k := slices.Index(kinds, "transcript-done"); k < i || k > j || slices.Index(kinds[k+1:], "transcript-done") >= 0 {
					t.Errorf("session events %q: want one transcript-done between thinking and response-done", kinds)
				}
				kinds = slices.DeleteFunc(kinds, func(k string) bool { return k == "transcript-done" })
				wantKinds = slices.DeleteFunc(wantKinds, func(k string) bool { return k == "transcript-done" })
			}
			if !slices.Equal(kinds, wantKinds) {
				t.Errorf("session events %q, want %q", kinds, wantKinds)
			}
		}
	}
}
