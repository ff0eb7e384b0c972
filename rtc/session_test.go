package rtc

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

func slow(t *testing.T) {
	if os.Getenv("EDGEVOICE_SLOW") != "1" {
		t.Skip("slow: set EDGEVOICE_SLOW=1")
	}
}

// testOpts: the release settle is the default's 150 ms: it must cover the receiver's
// jitter buffer (the emulator's playout delay, 60 ms, plus the last packet's 20 ms), or
// the emulator's commit misses the tail of a turn.
func testOpts(extra ...Option) []Option {
	return append([]Option{WithLoopbackOnly(), WithBackoff(20*time.Millisecond, 200*time.Millisecond),
		WithReleaseSettle(150 * time.Millisecond)}, extra...)
}

// speaker plays the session's output in real time (10 ms reads) and records it.
type speaker struct {
	s    *Session
	mu   sync.Mutex
	out  []float32
	real []int       // real samples per read
	at   []time.Time // when each read started
	stop chan struct{}
	wg   sync.WaitGroup
}

func startSpeaker(s *Session) *speaker {
	sp := &speaker{s: s, stop: make(chan struct{})}
	sp.wg.Add(1)
	go func() {
		defer sp.wg.Done()
		buf := make([]float32, 480)
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-sp.stop:
				return
			case <-tk.C:
			}
			at := time.Now()
			n := s.ReadSpeaker(buf)
			sp.mu.Lock()
			sp.out = append(sp.out, buf...)
			sp.real = append(sp.real, n)
			sp.at = append(sp.at, at)
			sp.mu.Unlock()
		}
	}()
	return sp
}

func (sp *speaker) close() { close(sp.stop); sp.wg.Wait() }

func (sp *speaker) snapshot() ([]float32, []int) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return slices.Clone(sp.out), slices.Clone(sp.real)
}

// feedTone writes a tone in 10 ms chunks at real time.
func feedTone(s *Session, freq float64, d time.Duration, phase *float64) {
	chunk := make([]float32, 480)
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for range int(d / (10 * time.Millisecond)) {
		for i := range chunk {
			chunk[i] = 0.5 * float32(math.Sin(*phase))
			*phase += 2 * math.Pi * freq / 48000
		}
		s.WriteMic(chunk)
		<-tk.C
	}
}

// feedSamples writes x in 10 ms chunks at real time (a tail shorter than 10 ms is dropped).
func feedSamples(s *Session, x []float32) {
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for i := 0; i+480 <= len(x); i += 480 {
		s.WriteMic(x[i : i+480])
		<-tk.C
	}
}

// toneAt returns the RMS of the freq component and the total RMS.
func toneAt(x []float32, freq float64) (at, total float64) {
	w := 2 * math.Pi * freq / 48000
	var re, im, sum float64
	for i, v := range x {
		re += float64(v) * math.Cos(w*float64(i))
		im -= float64(v) * math.Sin(w*float64(i))
		sum += float64(v) * float64(v)
	}
	n := float64(len(x))
	if n == 0 {
		return 0, 0
	}
	return math.Sqrt(2*(re*re+im*im)) / n, math.Sqrt(sum / n)
}

func pttConfig() events.Session {
	return events.Session{Instructions: "test", Voice: "marin", TurnDetection: events.TurnDetection{Type: events.TurnDetectionNone}}
}

func TestToneRoundTripBothDialects(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, d := range []realtime.Dialect{realtime.DialectGA, realtime.DialectPreview} {
		t.Run(d.String(), func(t *testing.T) {
			f := newFakePeer(t, d, peerOpts{})
			defer f.close()
			s, err := New(f.key("ek_good1"), testOpts(WithSessionConfig(pttConfig()))...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sp := startSpeaker(s)
			defer sp.close()
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, s, 5*time.Second, isState(StateConnected))
			// let the data channel open and session.update go out
			waitUntil(t, 3*time.Second, func() bool { return slices.Contains(f.events(), events.TypeSessionUpdate.Name(d)) })
			s.Press()
			var ph float64
			feedTone(s, 1000, 600*time.Millisecond, &ph)
			s.Release()
			waitFor(t, s, 3*time.Second, isKind(EventThinking))
			waitFor(t, s, 3*time.Second, isKind(EventSpeakingStarted))
			waitFor(t, s, 3*time.Second, isKind(EventSpeakingStopped))
			time.Sleep(150 * time.Millisecond) // the playout tail
			out, _ := sp.snapshot()
			a := active(out)
			if len(a) < 48000*4/10 {
				t.Fatalf("played %d ms of audio, want ≥ 400 ms of the 600 ms tone", len(a)/48)
			}
			at, total := toneAt(a[4800:len(a)-4800], 1000)
			want := 0.5 / math.Sqrt2
			if math.Abs(at-want) > 0.2*want || at < 0.9*total {
				t.Errorf("1 kHz RMS %.3f (total %.3f), want %.3f ±20%% and ≥ 90%% of the total", at, total, want)
			}
			wantEv := []string{"session.update", "input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"}
			if got := f.events(); !slices.Equal(got, wantEv) {
				t.Errorf("client events %q, want %q", got, wantEv)
			}
			st := s.Stats()
			t.Logf("stats: %+v", st)
			if st.PacketsSent < 28 || st.CallID != "rtc_test1" {
				t.Errorf("sent %d packets (want ≥ 28 for 600 ms), call id %q", st.PacketsSent, st.CallID)
			}
		})
	}
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("condition not met in %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBargeInDropsCancelledAudio(t *testing.T) {
	defer test.CheckRoutines(t)()
	f := newFakePeer(t, realtime.DialectGA, peerOpts{})
	defer f.close()
	f.respTone, f.respDur = 440, 3*time.Second
	s, err := New(f.key("ek_good1"), testOpts(WithSessionConfig(pttConfig()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sp := startSpeaker(s)
	defer sp.close()
	s.Start(context.Background())
	waitFor(t, s, 5*time.Second, isState(StateConnected))
	waitUntil(t, 3*time.Second, func() bool { return slices.Contains(f.events(), "session.update") })
	s.Press()
	var ph float64
	feedTone(s, 1000, 200*time.Millisecond, &ph)
	s.Release()
	waitFor(t, s, 3*time.Second, isKind(EventSpeakingStarted))
	time.Sleep(400 * time.Millisecond) // the model talks for a while
	out, real := sp.snapshot()
	before := 0
	for _, n := range real {
		before += n
	}
	if at, _ := toneAt(active(out), 440); before < 48000/10 || at < 0.1 {
		t.Fatalf("before barge-in: %d real samples, 440 Hz RMS %.3f; want the response playing", before, at)
	}
	s.Press() // barge-in
	pressed := time.Now()
	waitFor(t, s, 2*time.Second, isKind(EventBargeIn))
	feedTone(s, 1000, 300*time.Millisecond, &ph)
	time.Sleep(300 * time.Millisecond)
	sp.mu.Lock()
	late := 0
	for i, at := range sp.at {
		if at.After(pressed) { // reads that started after Press returned
			late += sp.real[i]
		}
	}
	sp.mu.Unlock()
	if late > 0 {
		t.Errorf("%d samples of the cancelled response played after barge-in", late)
	}
	got := f.events()
	want := []string{"session.update", "input_audio_buffer.clear", "input_audio_buffer.commit", "response.create",
		"response.cancel", "output_audio_buffer.clear", "input_audio_buffer.clear"}
	if !slices.Equal(got, want) {
		t.Errorf("client events\n got %q\nwant %q", got, want)
	}
	if st := s.Stats(); st.BargeIns != 1 {
		t.Errorf("BargeIns = %d", st.BargeIns)
	}
}

func TestFaults(t *testing.T) {
	defer test.CheckRoutines(t)()
	cases := []struct {
		name    string
		setup   func(f *fakePeer)
		key     string
		keys    bool
		wantSt  State
		wantErr string
		after   func(t *testing.T, f *fakePeer, s *Session)
	}{
		{name: "401 without key source ends closed", key: "ek_bad", wantSt: StateClosed, wantErr: "Incorrect API key provided"},
		{name: "401 then fresh key connects", key: "ek_bad", keys: true, wantSt: StateConnected,
			after: func(t *testing.T, f *fakePeer, s *Session) {
				if f.auths[len(f.auths)-1] != "Bearer ek_good_fresh" {
					t.Errorf("last auth %q, want the fresh key", f.auths[len(f.auths)-1])
				}
			}},
		{name: "400 is a clear error", key: "ek_good", wantSt: StateClosed, wantErr: "bad model",
			setup: func(f *fakePeer) {
				f.failSDP.Store(1)
				f.failCode, f.failBody = 400, `{"error":{"message":"bad model","code":"model_not_found"}}`
			}},
		{name: "500 twice then connects", key: "ek_good", keys: true, wantSt: StateConnected,
			setup: func(f *fakePeer) {
				f.failSDP.Store(2)
				f.failCode, f.failBody = 500, `{"error":{"message":"upstream"}}`
			},
			after: func(t *testing.T, f *fakePeer, s *Session) {
				if f.posts != 3 {
					t.Errorf("%d POSTs, want 3", f.posts)
				}
			}},
		{name: "expired key refreshed before connect", key: "", keys: true, wantSt: StateConnected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePeer(t, realtime.DialectGA, peerOpts{})
			defer f.close()
			if tc.setup != nil {
				tc.setup(f)
			}
			k := f.key(tc.key)
			if tc.key == "" {
				k.Value, k.ExpiresAt = "ek_good_old", time.Now().Add(-time.Second)
			}
			opts := testOpts()
			if tc.keys {
				opts = append(opts, WithKeySource(KeySourceFunc(func(ctx context.Context) (realtime.Key, error) {
					return f.key("ek_good_fresh"), nil
				})))
			}
			s, err := New(k, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Start(context.Background())
			e := waitFor(t, s, 5*time.Second, func(e Event) bool {
				return e.Kind == EventState && (e.State == StateConnected || e.State == StateClosed)
			})
			if e.State != tc.wantSt {
				t.Errorf("state %v (%v), want %v", e.State, e.Err, tc.wantSt)
			}
			if tc.wantErr != "" && (e.Err == nil || !contains(e.Err.Error(), tc.wantErr)) {
				t.Errorf("err %v, want it to say %q", e.Err, tc.wantErr)
			}
			s.Close()
			if tc.after != nil {
				f.mu.Lock()
				tc.after(t, f, s)
				f.mu.Unlock()
			}
		})
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0))
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestReconnectCauses(t *testing.T) {
	defer test.CheckRoutines(t)()
	causes := []struct {
		name string
		kill func(p *peerSide)
	}{
		{"server drops the peer connection", func(p *peerSide) { p.pc.Close() }},
		{"server closes the data channel", func(p *peerSide) { p.dcp.Load().Close() }},
		{"session expired", func(p *peerSide) {
			p.send(events.Error{Error: events.ErrorInfo{Type: "invalid_request_error", Code: "session_expired", Message: "Your session hit the maximum duration of 30 minutes."}})
		}},
	}
	for _, c := range causes {
		t.Run(c.name, func(t *testing.T) {
			f := newFakePeer(t, realtime.DialectPreview, peerOpts{})
			defer f.close()
			var fresh int
			var mu sync.Mutex
			s, err := New(f.key("ek_good0"), testOpts(WithKeySource(KeySourceFunc(func(ctx context.Context) (realtime.Key, error) {
				mu.Lock()
				defer mu.Unlock()
				fresh++
				return f.key("ek_good_fresh"), nil
			})))...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Start(context.Background())
			waitFor(t, s, 5*time.Second, isState(StateConnected))
			waitUntil(t, 2*time.Second, func() bool { p := f.peer(0); return p != nil && p.dcp.Load() != nil })
			time.Sleep(50 * time.Millisecond)
			c.kill(f.peer(0))
			e := waitFor(t, s, 10*time.Second, isState(StateDisconnected))
			t.Logf("cause: %v", e.Err)
			waitFor(t, s, 3*time.Second, isState(StateReconnecting))
			waitFor(t, s, 10*time.Second, isState(StateConnected))
			mu.Lock()
			if fresh != 1 {
				t.Errorf("KeySource called %d times, want 1", fresh)
			}
			mu.Unlock()
			if st := s.Stats(); st.Reconnects != 1 || st.CallID != "rtc_test2" {
				t.Errorf("reconnects %d call id %q", st.Reconnects, st.CallID)
			}
		})
	}
}

func TestSlowAnswerTimesOut(t *testing.T) {
	defer test.CheckRoutines(t)()
	f := newFakePeer(t, realtime.DialectGA, peerOpts{})
	defer f.close()
	f.delay = time.Second
	s, _ := New(f.key("ek_good"), testOpts(WithConnectTimeout(300*time.Millisecond))...)
	s.Start(context.Background())
	e := waitFor(t, s, 5*time.Second, isState(StateDisconnected))
	if e.Err == nil || !errors.Is(e.Err, context.DeadlineExceeded) {
		t.Errorf("cause %v, want a deadline", e.Err)
	}
	s.Close()
	if st := s.State(); st != StateClosed {
		t.Errorf("after Close: %v", st)
	}
}

func TestPreRollBeforeConnect(t *testing.T) {
	defer test.CheckRoutines(t)()
	f := newFakePeer(t, realtime.DialectGA, peerOpts{})
	defer f.close()
	f.delay = 300 * time.Millisecond // a slow SDP answer: the user talks meanwhile
	s, _ := New(f.key("ek_good"), testOpts(WithSessionConfig(pttConfig()))...)
	defer s.Close()
	s.Press()
	s.Start(context.Background())
	var ph float64
	start := time.Now()
	feedTone(s, 1000, 800*time.Millisecond, &ph)
	s.Release()
	waitFor(t, s, 3*time.Second, isKind(EventThinking))
	waitUntil(t, 2*time.Second, func() bool { return slices.Contains(f.events(), "response.create") })
	p := f.peer(0)
	p.mu.Lock()
	got := len(p.commit)
	p.mu.Unlock()
	t.Logf("fed %v of audio (connect took part of it); peer committed %d ms", time.Since(start).Round(time.Millisecond), got/48)
	// every full 20 ms frame of the 800 ms (plus the padded last one) must arrive
	if got < 800*48 || got > 820*48 {
		t.Errorf("peer received %d ms, want all 800 ms (pre-roll kept)", got/48)
	}
	if ev := f.events(); !slices.Equal(ev, []string{"session.update", "input_audio_buffer.commit", "response.create"}) {
		t.Errorf("client events %q (no clear for a press held from before the connection)", ev)
	}
}

// TestUplinkWaitsForSessionUpdated: with a session config the first RTP packet goes out
// only after the service applied it (session.updated), so no audio meets the key's
// default server VAD; the pre-roll keeps what was said meanwhile, so nothing is lost.
func TestUplinkWaitsForSessionUpdated(t *testing.T) {
	defer test.CheckRoutines(t)()
	f := newFakePeer(t, realtime.DialectGA, peerOpts{})
	defer f.close()
	f.updDelay = 300 * time.Millisecond
	s, _ := New(f.key("ek_good"), testOpts(WithSessionConfig(pttConfig()))...)
	defer s.Close()
	s.Press()
	s.Start(context.Background())
	var ph float64
	feedTone(s, 1000, 800*time.Millisecond, &ph)
	s.Release()
	waitFor(t, s, 3*time.Second, isKind(EventThinking))
	waitUntil(t, 2*time.Second, func() bool { return slices.Contains(f.events(), "response.create") })
	f.mu.Lock()
	upd, first := slices.Clone(f.updated), slices.Clone(f.firstRTP)
	f.mu.Unlock()
	if len(upd) != 1 || len(first) != 1 {
		t.Fatalf("%d session.updated, %d first packets", len(upd), len(first))
	}
	if first[0].Before(upd[0]) {
		t.Errorf("the first RTP packet arrived %v before session.updated was sent", upd[0].Sub(first[0]))
	}
	p := f.peer(0)
	p.mu.Lock()
	got := len(p.commit)
	p.mu.Unlock()
	t.Logf("first packet %v after session.updated; peer committed %d ms of 800", first[0].Sub(upd[0]).Round(time.Millisecond), got/48)
	if got < 800*48 || got > 820*48 {
		t.Errorf("peer received %d ms, want all 800 ms (pre-roll kept while waiting)", got/48)
	}
}

func TestEspeakRoundTrip(t *testing.T) {
	espeak, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Skip("espeak-ng not installed (apt-get install espeak-ng); skipping the speech clip test")
	}
	wav := filepath.Join(t.TempDir(), "clip.wav")
	if out, err := exec.Command(espeak, "-w", wav, "hello, edge voice").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	clip, rate, err := readWAV(wav)
	if err != nil {
		t.Fatal(err)
	}
	speech := upsample(clip, rate, 48000)
	defer test.CheckRoutines(t)()
	f := newFakePeer(t, realtime.DialectGA, peerOpts{})
	defer f.close()
	s, _ := New(f.key("ek_good"), testOpts(WithSessionConfig(pttConfig()))...)
	defer s.Close()
	sp := startSpeaker(s)
	defer sp.close()
	s.Start(context.Background())
	waitFor(t, s, 5*time.Second, isState(StateConnected))
	s.Press()
	feedSamples(s, speech)
	s.Release()
	waitFor(t, s, 3*time.Second, isKind(EventSpeakingStopped))
	time.Sleep(150 * time.Millisecond)
	out, _ := sp.snapshot()
	in := rms(speech)
	got := rms(active(out))
	t.Logf("speech: %d ms in, %d ms played, RMS in %.3f out %.3f", len(speech)/48, len(active(out))/48, in, got)
	if len(active(out)) < len(active(speech))*8/10 || got < in*0.5 || got > in*2 {
		t.Errorf("speech came back as %d ms at RMS %.3f; sent %d ms at %.3f", len(active(out))/48, got, len(active(speech))/48, in)
	}
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

func slowEnv() bool { return os.Getenv("EDGEVOICE_SLOW") == "1" }

// speechClip returns d of speech at 48 kHz: espeak-ng if installed, else a synthetic
// voiced signal with syllable modulation.
func speechClip(t *testing.T, d time.Duration) []float32 {
	n := int(d.Seconds() * 48000)
	if espeak, err := exec.LookPath("espeak-ng"); err == nil {
		wav := filepath.Join(t.TempDir(), "speech.wav")
		text := "the quick brown fox jumps over the lazy dog, and then it runs back home again before the sun goes down"
		if exec.Command(espeak, "-w", wav, text).Run() == nil {
			if clip, rate, err := readWAV(wav); err == nil {
				x := upsample(clip, rate, 48000)
				if len(x) >= n {
					return x[:n]
				}
				return x
			}
		}
	}
	x := make([]float32, n)
	var ph float64
	for i := range x {
		tt := float64(i) / 48000
		f := 140 + 60*math.Sin(2*math.Pi*1.3*tt)
		env := 0.6 + 0.4*math.Sin(2*math.Pi*4*tt)
		ph += 2 * math.Pi * f / 48000
		x[i] = float32(0.2 * env * (math.Sin(ph) + 0.5*math.Sin(2*ph) + 0.3*math.Sin(3*ph)))
	}
	return x
}
