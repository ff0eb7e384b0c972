package rtc

// Conversation-correctness tests against the emulator taught the real service's
// strictness (issue 13): cancel only while a response is active, a turn cut off by a
// connection loss is dropped, hang-up on close, renewal before expires_at,
// rate_limits.updated, errors tied to the client event that caused them, and talk under
// server VAD.

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/test"
)

// longICE keeps the emulator's ICE from ending a call by itself within a test.
var longICE = emulator.WithICETimeouts(30*time.Second, 60*time.Second, time.Second)

// TestCancelOnlyWhileResponseActive: the service sends response.done before the answer
// has played out; a press in that window (barge-in) clears the audio but must not send
// response.cancel, which a strict service answers with response_cancel_not_active.
func TestCancelOnlyWhileResponseActive(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithResponseDoneBeforePlayout())
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
	rec := recordEvents(s)
	defer func() { s.Close(); <-rec.done }()
	s.Start(ctx)
	rec.wait(t, 5*time.Second, isState(StateConnected))
	waitSessionUpdated(ctx, t, srv, key.Dialect)
	s.Press()
	var ph float64
	feedTone(s, 1000, time.Second, &ph)
	s.Release()
	rec.wait(t, 5*time.Second, isKind(EventSpeakingStarted))
	rec.wait(t, 5*time.Second, isKind(EventResponseDone)) // the answer still plays
	s.Press()                                             // barge-in after response.done
	rec.wait(t, 3*time.Second, isKind(EventBargeIn))
	if err := srv.WaitStats(ctx, func(st emulator.Stats) bool {
		c, _ := st.LastCall()
		return slices.Contains(c.ServerEvents, "output_audio_buffer.cleared")
	}); err != nil {
		t.Fatalf("the barge-in did not clear the answer: %v", err)
	}
	s.Release()
	c, _ := srv.Stats().LastCall()
	if slices.Contains(c.ServerEvents, "error") {
		t.Errorf("the service answered with an error (response.cancel after response.done?): client events %q", c.ClientEvents)
	}
	if i := slices.Index(c.ClientEvents, "output_audio_buffer.clear"); i < 0 || slices.Contains(c.ClientEvents[:i], "response.cancel") {
		t.Errorf("client events %q: want output_audio_buffer.clear and no response.cancel after the response ended", c.ClientEvents)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.evs {
		if e.Kind == EventError {
			t.Errorf("session error: %v", e.Err)
		}
	}
}

// TestReleasedTurnDroppedAcrossReconnect: a turn released while its audio was still
// going up (pre-roll catching up) and then cut off by a connection loss is dropped on
// both sides: the rest of its audio is not sent on the new connection, the new
// connection's input buffer is cleared first, and nothing is committed or answered
// without a new press.
func TestReleasedTurnDroppedAcrossReconnect(t *testing.T) {
	defer test.CheckRoutines(t)()
	var once sync.Once
	var wg sync.WaitGroup
	var srv *emulator.Server
	dropped := make(chan struct{})
	srv = startEmulator(t, emulator.WithPacketHook(func(string, *rtp.Packet, time.Time) {
		once.Do(func() {
			wg.Add(1)
			go func() { defer wg.Done(); srv.CloseDataChannels(); close(dropped) }()
		})
	}))
	defer srv.Close()
	defer wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mints atomic.Int32
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	// 1.5 s of speech said before the connection is up, sent at 1.1 × real time: the
	// uplink needs ~1.4 s to catch up, and the connection is lost at its first packet.
	s, err := New(key, testOpts(WithSessionConfig(pttConfig()), WithPreRoll(2*time.Second, 1.1), WithKeySource(mintSource(srv, "openai", &mints)))...)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordEvents(s)
	defer func() { s.Close(); <-rec.done }()
	s.Press()
	tone := make([]float32, 72000)
	for i := range tone {
		tone[i] = 0.5 * float32(sinAt(1000, i))
	}
	s.WriteMic(tone)
	s.Release()
	s.Start(ctx)
	rec.wait(t, 5*time.Second, isState(StateConnected))
	select {
	case <-dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("no audio reached the emulator")
	}
	rec.wait(t, 10*time.Second, isState(StateConnected)) // the new connection
	if err := srv.WaitStats(ctx, func(st emulator.Stats) bool {
		return len(st.Calls) == 2 && slices.Contains(st.Calls[1].ServerEvents, "session.updated")
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // longer than the rest of the catch-up plus the settle
	st := srv.Stats()
	for i, c := range st.Calls {
		if slices.Contains(c.ClientEvents, "input_audio_buffer.commit") || len(c.Responses) > 0 {
			t.Errorf("call %d: the dropped turn was committed or answered: client events %q", i, c.ClientEvents)
		}
	}
	second := st.Calls[1]
	if second.PacketsIn != 0 {
		t.Errorf("the new connection got %d packets of the dropped turn", second.PacketsIn)
	}
	if !slices.Contains(second.ClientEvents, "input_audio_buffer.clear") {
		t.Errorf("the new connection's input buffer was not cleared: client events %q", second.ClientEvents)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.evs {
		if e.Kind == EventThinking || e.Kind == EventSpeakingStarted {
			t.Errorf("event %v without a press", e)
		}
	}
}

// TestHangUpOnClose: Close ends the call on the service at once: GA posts
// …/calls/{call_id}/hangup with the key; preview (no documented hang-up) closes the
// data channel and the peer connection. The emulator's ICE would keep the call for 60 s.
func TestHangUpOnClose(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, profile := range []string{"openai", "azure", "azure-preview"} {
		t.Run(profile, func(t *testing.T) {
			srv := startEmulator(t, longICE)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			key, err := srv.MintKey(ctx, profile)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(key, testOpts(WithSessionConfig(pttConfig()))...)
			if err != nil {
				t.Fatal(err)
			}
			s.Start(ctx)
			waitFor(t, s, 5*time.Second, isState(StateConnected))
			waitSessionUpdated(ctx, t, srv, key.Dialect)
			start := time.Now()
			s.Close()
			closeTook := time.Since(start)
			if err := srv.WaitStats(ctx, func(st emulator.Stats) bool { return st.CallsEnded == 1 }); err != nil {
				t.Fatalf("the call is still up after Close: %v", err)
			}
			c, _ := srv.Stats().LastCall()
			if !c.HungUp {
				t.Errorf("the call ended without a hang-up (state %s)", c.State)
			}
			t.Logf("%s: Close took %v, call ended %v after it", profile, closeTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		})
	}
}

func sinAt(freq float64, i int) float64 {
	return math.Sin(2 * math.Pi * freq * float64(i) / 48000)
}
