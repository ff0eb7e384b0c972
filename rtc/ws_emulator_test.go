package rtc

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/pion/transport/v5/test"
)

// TestAutoFallsBackToWebSocket: with ICE unable to reach anything (no interface and
// only a TEST-NET subnet allowed: no UDP or TCP candidate, no socket), auto
// gives up on WebRTC at the connect timeout, connects over WebSocket at once, and a
// push-to-talk turn completes there; after WithWebRTCRetry it tries WebRTC again at an
// idle moment (which fails the same way and falls back again).
func TestAutoFallsBackToWebSocket(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, WithTransport(TransportAuto), WithIPNets("192.0.2.0/24"), WithInterfaces("edgevoice-none0"), WithConnectTimeout(2*time.Second),
		WithICETimeouts(time.Second, 1500*time.Millisecond, 500*time.Millisecond), WithWebRTCRetry(3*time.Second),
		WithBackoff(20*time.Millisecond, 200*time.Millisecond), WithSessionConfig(pttConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sp := startSpeaker(s)
	defer sp.close()
	rec := recordEvents(s)
	fallbackTurn(ctx, t, srv, s, rec, key.Dialect, "no interface")
	// the retry: back to WebRTC once idle, which fails again and falls back again
	waitUntil(t, 20*time.Second, func() bool { return s.Stats().Fallbacks >= 2 })
	rec.wait(t, 20*time.Second, func(e Event) bool { return e.Kind == EventState && e.State == StateConnected })
	if tr := s.Transport(); tr != TransportWebSocket {
		t.Errorf("after the WebRTC retry failed: on %v, want websocket", tr)
	}
}

// fallbackTurn starts s (transport auto, WebRTC unable to connect), checks that it
// connects over WebSocket after the fallback, and that a push-to-talk turn is committed
// whole there and answered.
func fallbackTurn(ctx context.Context, t *testing.T, srv *emulator.Server, s *Session, rec *eventRecorder, d realtime.Dialect, why string) {
	t.Helper()
	start := time.Now()
	s.Start(ctx)
	at := rec.wait(t, 20*time.Second, func(e Event) bool { return e.Kind == EventState && e.State == StateConnected })
	if tr := s.Transport(); tr != TransportWebSocket {
		t.Fatalf("connected over %v, want websocket after the fallback", tr)
	}
	t.Logf("%s: start → connected over WebSocket in %v", why, at.Sub(start))
	waitSessionUpdated(ctx, t, srv, d)
	s.Press()
	var ph float64
	feedTone(s, 1000, 400*time.Millisecond, &ph)
	s.Release()
	rec.wait(t, 10*time.Second, isKind(EventSpeakingStopped))
	c := waitPlayedOut(t, srv, s)
	if len(c.Turns) != 1 || c.Turns[0].Duration < 350*time.Millisecond {
		t.Fatalf("emulator turns %+v, want one of ≥ 350 ms", c.Turns)
	}
	if st := s.Stats(); st.Fallbacks != 1 || st.Transport != TransportWebSocket {
		t.Errorf("stats: %d fallbacks over %v, want 1 over websocket", st.Fallbacks, st.Transport)
	}
}

// TestMeasureTransportLatency prints press → first audio byte sent and release → first
// answer audio for WebRTC and WebSocket against the emulator, side by side (warm turns
// of the marked 2.0 s utterance, alternating transports).
func TestMeasureTransportLatency(t *testing.T) {
	if os.Getenv("EDGEVOICE_MEASURE") != "1" {
		t.Skip("a measurement (about 1 minute): set EDGEVOICE_MEASURE=1")
	}
	defer test.CheckRoutines(t)()
	srv := startEmulator(t)
	defer srv.Close()
	const runs = 5
	res := map[Transport][2][]time.Duration{}
	for range runs {
		for _, tr := range []Transport{TransportWebRTC, TransportWebSocket} {
			r := runMarkedTurn(t, srv, false, WithTransport(tr))
			v := res[tr]
			v[0], v[1] = append(v[0], r.pressToFirst), append(v[1], r.releaseToAudio)
			res[tr] = v
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-10s %-34s %s\n", "transport", "press→first audio byte med (min–max)", "release→first answer audio med (min–max)")
	for _, tr := range []Transport{TransportWebRTC, TransportWebSocket} {
		fmt.Fprintf(&b, "%-10s %-36s %s\n", tr, medRange(res[tr][0]), medRange(res[tr][1]))
	}
	t.Log(b.String())
}

func medRange(x []time.Duration) string {
	x = slices.Clone(x)
	slices.Sort(x)
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	return fmt.Sprintf("%v (%v–%v)", r(x[len(x)/2]), r(x[0]), r(x[len(x)-1]))
}

// TestEmulatorBargeIn: pressing while the answer plays cancels it on both transports:
// response.cancel and then output_audio_buffer.clear (WebRTC) or
// conversation.item.truncate (WebSocket) reach the emulator, and nothing of the
// cancelled answer plays after the barge-in.
func TestEmulatorBargeIn(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, tr := range []Transport{TransportWebRTC, TransportWebSocket} {
		t.Run(tr.String(), func(t *testing.T) {
			srv := startEmulator(t)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			key, err := srv.MintKey(ctx, "openai")
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
			var ph float64
			feedTone(s, 1000, 1500*time.Millisecond, &ph) // the emulator echoes it: a 1.5 s answer
			s.Release()
			rec.wait(t, 5*time.Second, isKind(EventSpeakingStarted))
			waitUntil(t, 5*time.Second, func() bool { _, real := sp.snapshot(); return sum(real) > 48000/5 }) // 200 ms played
			s.Press()
			barged := rec.wait(t, 3*time.Second, isKind(EventBargeIn))
			time.Sleep(300 * time.Millisecond)
			sp.mu.Lock()
			late := 0
			for i, at := range sp.at {
				if at.After(barged.Add(10 * time.Millisecond)) { // the read in progress may finish
					late += sp.real[i]
				}
			}
			sp.mu.Unlock()
			if late > 0 {
				t.Errorf("%d samples of the cancelled answer played after the barge-in", late)
			}
			s.Release()
			want := []string{"response.cancel", "output_audio_buffer.clear"}
			if tr == TransportWebSocket {
				want = []string{"response.cancel", "conversation.item.truncate"}
			}
			var cev []string
			waitUntil(t, 3*time.Second, func() bool {
				c, _ := srv.Stats().LastCall()
				cev = c.ClientEvents
				return subsequence(cev, want)
			})
			if tr == TransportWebSocket && slices.Contains(cev, "output_audio_buffer.clear") {
				t.Errorf("output_audio_buffer.clear (WebRTC only) sent on WebSocket: %q", cev)
			}
		})
	}
}
