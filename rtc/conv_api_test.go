package rtc

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc/opus"
	"github.com/pion/transport/v5/test"
)

// TestRenewBeforeExpiry: the session reconnects between turns before the service's
// expires_at, so the service never ends it (no session_expired) and the states the
// caller sees stay connected.
func TestRenewBeforeExpiry(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithFaults(emulator.Faults{SessionLifetime: 3 * time.Second}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mints atomic.Int32
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, testOpts(WithSessionConfig(pttConfig()), WithKeySource(mintSource(srv, "openai", &mints)), WithRenewMargin(1500*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordEvents(s)
	defer func() { s.Close(); <-rec.done }()
	s.Start(ctx)
	rec.wait(t, 5*time.Second, isState(StateConnected))
	if err := srv.WaitStats(ctx, func(st emulator.Stats) bool { return len(st.Calls) >= 2 && st.Calls[1].DCOpen }); err != nil {
		t.Fatalf("no renewal: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // the first call's expiry has passed by now
	st := srv.Stats()
	if c := st.Calls[0]; !c.HungUp || slices.Contains(c.ServerEvents, "error") {
		t.Errorf("first call: hung up %v, server events %q; want a hang-up before expiry", c.HungUp, c.ServerEvents)
	}
	if got := s.Stats().Renewals; got < 1 {
		t.Errorf("Stats.Renewals %d, want ≥ 1", got)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.evs {
		if e.Kind == EventError || (e.Kind == EventState && e.State != StateConnecting && e.State != StateConnected) {
			t.Errorf("event %v during a renewal", e)
		}
	}
}

// TestRateLimitsAndErrorCause: rate_limits.updated shows in Stats, and a server error
// names the client event that caused it (client events carry an event_id).
func TestRateLimitsAndErrorCause(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithRateLimits([]events.RateLimit{{Name: "requests", Limit: 100, Remaining: 42, ResetSeconds: 9}}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, testOpts(WithSessionConfig(pttConfig()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start(ctx)
	waitFor(t, s, 5*time.Second, isState(StateConnected))
	waitSessionUpdated(ctx, t, srv, key.Dialect)
	s.Press() // a turn with no audio: the service refuses the commit
	s.Release()
	e := waitFor(t, s, 5*time.Second, isKind(EventError))
	if !strings.Contains(e.Err.Error(), "input_audio_buffer.commit") {
		t.Errorf("error %q does not name the client event that caused it", e.Err)
	}
	s.Press()
	var ph float64
	feedTone(s, 1000, 300*time.Millisecond, &ph)
	s.Release()
	waitFor(t, s, 5*time.Second, isKind(EventResponseDone))
	rl := s.Stats().RateLimits
	if len(rl) != 1 || rl[0].Name != "requests" || rl[0].Remaining != 42 || rl[0].Limit != 100 {
		t.Errorf("Stats.RateLimits %+v, want requests 42 of 100", rl)
	}
}

// TestVADTalkOpensAndClosesMic: with server VAD, talk opens the mic (Press) and the stop
// (Release) closes it: nothing is sent after it. Speech the service heard but had not
// committed yet is committed and answered; the service's speech events are reported.
func TestVADTalkOpensAndClosesMic(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithServerVAD(nil))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	cfg := events.Session{TurnDetection: events.TurnDetection{Type: events.TurnDetectionServerVAD, SilenceDurationMS: 500}}
	s, err := New(key, testOpts(WithSessionConfig(cfg))...)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordEvents(s)
	defer func() { s.Close(); <-rec.done }()
	s.Start(ctx)
	rec.wait(t, 5*time.Second, isState(StateConnected))
	waitSessionUpdated(ctx, t, srv, key.Dialect)
	var ph float64
	feedTone(s, 1000, 200*time.Millisecond, &ph) // before any press: not sent
	if n := s.Stats().PacketsSent; n != 0 {
		t.Errorf("%d packets sent before the first press", n)
	}
	s.Press()
	if !s.MicLive() {
		t.Error("MicLive false after Press")
	}
	feedTone(s, 1000, 600*time.Millisecond, &ph)
	rec.wait(t, 3*time.Second, isKind(EventSpeechStarted))
	s.Release() // mid-speech: the service has not committed it
	if s.MicLive() {
		t.Error("MicLive true after Release")
	}
	rec.wait(t, 3*time.Second, isKind(EventMicClosed))
	rec.wait(t, 3*time.Second, isKind(EventThinking))
	sent := s.Stats().PacketsSent
	feedTone(s, 1000, 300*time.Millisecond, &ph)
	if now := s.Stats().PacketsSent; now != sent {
		t.Errorf("%d packets sent after the stop", now-sent)
	}
	rec.wait(t, 5*time.Second, isKind(EventResponseDone))
	c, _ := srv.Stats().LastCall()
	if len(c.Turns) != 1 || c.Turns[0].Duration < 400*time.Millisecond {
		t.Errorf("turns %+v, want one with the speech", c.Turns)
	}
	if slices.Contains(c.ServerEvents, "error") {
		t.Errorf("server error; client events %q", c.ClientEvents)
	}
}

// TestRenewWaitsForTheTurn: a renewal that falls due while the user talks waits until
// the turn is over (pressed, committed, answered), and then happens before expires_at.
func TestRenewWaitsForTheTurn(t *testing.T) {
	defer test.CheckRoutines(t)()
	enc, err := opus.NewEncoder(opus.DefaultEncoderOpts())
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]float32, frameLen)
	for i := range frame {
		frame[i] = 0.3 * float32(math.Sin(float64(i)*0.13))
	}
	var reply [][]byte
	for range 10 { // a 200 ms answer
		pkt := make([]byte, opus.MaxPacket)
		n, err := enc.Encode(frame, pkt)
		if err != nil {
			t.Fatal(err)
		}
		reply = append(reply, pkt[:n])
	}
	// expires_at 7–8 s after the connect; with a 3 s margin the renewal is due 4–5 s in,
	// while the press below is still held (it ends 5.5 s in).
	srv := startEmulator(t, emulator.WithFaults(emulator.Faults{SessionLifetime: 8 * time.Second}), emulator.WithReplyAudio(reply))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mints atomic.Int32
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, testOpts(WithSessionConfig(pttConfig()), WithKeySource(mintSource(srv, "openai", &mints)), WithRenewMargin(3*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordEvents(s)
	defer func() { s.Close(); <-rec.done }()
	s.Start(ctx)
	rec.wait(t, 5*time.Second, isState(StateConnected))
	waitSessionUpdated(ctx, t, srv, key.Dialect)
	first, _ := srv.Stats().LastCall()
	// The emulator has sent session.updated; the session learns expires_at when it has
	// read it (on a busy machine later: with a zero expiry the press below would be empty).
	var expires time.Time
	for end := time.Now().Add(5 * time.Second); expires.IsZero(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the session did not learn expires_at within 5 s of session.updated")
		}
		expires = s.Stats().ExpiresAt
	}
	due := time.Unix(expires.Unix(), 0).Add(-3 * time.Second)
	s.Press()
	var ph float64
	for time.Now().Before(due.Add(500 * time.Millisecond)) {
		feedTone(s, 1000, 100*time.Millisecond, &ph)
	}
	if n := len(srv.Stats().Calls); n != 1 || s.Stats().Renewals != 0 {
		t.Fatalf("renewed during the press (%d calls, %d renewals)", n, s.Stats().Renewals)
	}
	s.Release()
	defer func() {
		if !t.Failed() {
			return
		}
		rec.mu.Lock()
		t.Logf("events %v", rec.evs)
		rec.mu.Unlock()
		c, _ := srv.Stats().LastCall()
		t.Logf("server %q client %q", c.ServerEvents, c.ClientEvents)
	}()
	rec.wait(t, 5*time.Second, isKind(EventSpeakingStopped))
	if err := srv.WaitStats(ctx, func(st emulator.Stats) bool { return len(st.Calls) >= 2 }); err != nil {
		t.Fatalf("no renewal after the turn: %v", err)
	}
	st := srv.Stats()
	if c := st.Calls[0]; c.ID != first.ID || len(c.Responses) != 1 || c.Responses[0].Status != events.StatusCompleted || !c.HungUp {
		t.Errorf("first call: responses %+v, hung up %v; want the turn answered in full, then a hang-up", c.Responses, c.HungUp)
	}
	if slices.Contains(st.Calls[0].ServerEvents, "error") {
		t.Errorf("first call ended with an error: %q", st.Calls[0].ServerEvents)
	}
}
