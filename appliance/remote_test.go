package appliance

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/transport/v5/test"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/realtime"

	"github.com/edgevoice/edgevoice/rtc"
)

func remoteCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRemotePushToTalk: a remote press and release make the same turn as the button,
// and a subscription sees its states and the answer's transcript.
func TestRemotePushToTalk(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	sub, err := r.a.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	ctx := remoteCtx(t)
	if st, err := r.a.Press(ctx); err != nil || st != Connecting {
		t.Fatalf("Press: %v %v, want connecting", st, err)
	}
	r.waitState(Listening, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if st, err := r.a.Release(ctx); err != nil || st != Thinking {
		t.Fatalf("Release: %v %v, want thinking", st, err)
	}
	r.waitState(Speaking, 10*time.Second)
	r.waitState(Idle, 10*time.Second)
	r.stop()
	r.checkSeq(Idle, Connecting, Listening, Thinking, Speaking, Idle, Off)
	var states []string
	text := ""
	for ev := range sub.C { // Run's end does not close subscriptions: stop at off
		if ev.Type == EventState {
			states = append(states, ev.State)
		}
		if ev.Type == EventTranscript {
			text = ev.Text
		}
		if ev.State == "off" {
			break
		}
	}
	sub.Close()
	if want := []string{"idle", "connecting", "listening", "thinking", "speaking", "idle", "off"}; !slices.Equal(states, want) {
		t.Errorf("subscribed states %v, want %v", states, want)
	}
	if text != "hello from the emulator" {
		t.Errorf("subscribed transcript %q", text)
	}
}

// TestRemoteMuteWins: a remote press while muted is refused and opens nothing; the
// remote volume is clamped and validated.
func TestRemoteMuteWins(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	ctx := remoteCtx(t)
	if st, err := r.a.SetMuted(ctx, true); err != nil || st != Muted {
		t.Fatalf("SetMuted(true): %v %v", st, err)
	}
	if _, err := r.a.Press(ctx); !errors.Is(err, ErrMuted) {
		t.Errorf("Press while muted: %v, want ErrMuted", err)
	}
	if _, err := r.a.Tap(ctx); !errors.Is(err, ErrMuted) {
		t.Errorf("Tap while muted: %v, want ErrMuted", err)
	}
	if _, err := r.a.Cancel(ctx); !errors.Is(err, ErrNothingToCancel) {
		t.Errorf("Cancel with nothing playing: %v", err)
	}
	if v, err := r.a.SetVolume(ctx, 0.95, false); err != nil || v != 0.95 {
		t.Errorf("SetVolume(0.95): %v %v", v, err)
	}
	if v, err := r.a.SetVolume(ctx, 0.2, true); err != nil || v != 1 {
		t.Errorf("SetVolume(+0.2): %v %v, want clamped to 1", v, err)
	}
	if _, err := r.a.SetVolume(ctx, 1.5, false); err == nil {
		t.Error("SetVolume(1.5) accepted")
	}
	if _, err := r.a.SetVolume(ctx, math.NaN(), true); err == nil {
		t.Error("SetVolume(NaN) accepted")
	}
	if st, err := r.a.SetMuted(ctx, false); err != nil || st != Idle {
		t.Fatalf("SetMuted(false): %v %v", st, err)
	}
	r.stop()
	r.checkSeq(Idle, Muted, Idle, Off)
	if n := r.srv.Stats().SDPRequests; n != 0 {
		t.Errorf("a remote press while muted opened a session (%d SDP requests)", n)
	}
}

// TestRemoteToggleBargeInCancel: in toggle mode a remote release is ignored and a
// second press ends the turn; a remote press while the answer plays interrupts it; a
// remote cancel stops the next answer.
func TestRemoteToggleBargeInCancel(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{TalkMode: Toggle})
	r.waitState(Idle, 5*time.Second)
	ctx := remoteCtx(t)
	mustOK := func(_ State, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustOK(r.a.Press(ctx))
	r.waitState(Listening, 10*time.Second)
	mustOK(r.a.Release(ctx)) // ignored in toggle mode
	time.Sleep(1500 * time.Millisecond)
	if st := r.a.Status().State; st != Listening {
		t.Fatalf("a remote release in toggle mode ended the turn: %v", st)
	}
	mustOK(r.a.Tap(ctx)) // ends the turn
	r.waitState(Speaking, 10*time.Second)
	mustOK(r.a.Press(ctx)) // barge-in
	r.waitState(Listening, 5*time.Second)
	time.Sleep(1500 * time.Millisecond)
	mustOK(r.a.Press(ctx))
	r.waitState(Speaking, 10*time.Second)
	if st, err := r.a.Cancel(ctx); err != nil || st != Idle {
		t.Fatalf("Cancel while speaking: %v %v", st, err)
	}
	time.Sleep(300 * time.Millisecond)
	st := r.a.Status()
	r.stop()
	r.checkSeq(Idle, Connecting, Listening, Thinking, Speaking, Listening, Thinking, Speaking, Idle, Off)
	if st.Session == nil || st.Session.BargeIns != 2 {
		t.Errorf("barge-ins %+v, want 2 (a press and a cancel)", st.Session)
	}
}

// TestRemoteSay: a text prompt with no session open connects, is answered aloud (the
// emulator's chime) and goes back to idle; it is refused while talk is live.
func TestRemoteSay(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	ctx := remoteCtx(t)
	if st, err := r.a.Say(ctx, "Dinner is ready."); err != nil || st != Connecting {
		t.Fatalf("Say: %v %v, want connecting", st, err)
	}
	r.waitState(Speaking, 10*time.Second)
	r.waitState(Idle, 10*time.Second)
	if _, err := r.a.Press(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.Say(ctx, "now?"); !errors.Is(err, ErrTalkLive) {
		t.Errorf("Say while talking: %v, want ErrTalkLive", err)
	}
	if _, err := r.a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	r.waitState(Idle, 10*time.Second)
	r.stop()
	if seq := r.states(); !slices.Equal(seq[:5], []State{Idle, Connecting, Thinking, Speaking, Idle}) {
		t.Errorf("states %v", seq)
	}
	if r.spoken.Load() < 48000/4 {
		t.Errorf("the speaker played %d samples of the spoken answer, want at least 250 ms", r.spoken.Load())
	}
	c, ok := r.srv.Stats().LastCall()
	if !ok || !slices.Contains(c.ClientEvents, "conversation.item.create") || len(c.Responses) < 1 || !c.Responses[0].Audio {
		t.Errorf("emulator call: events %v responses %+v", c.ClientEvents, c.Responses)
	}
	var kinds []rtc.EventKind
	for _, k := range r.eventKinds() {
		if k == rtc.EventThinking || k == rtc.EventSpeakingStarted {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) < 2 || kinds[0] != rtc.EventThinking || kinds[1] != rtc.EventSpeakingStarted {
		t.Errorf("session events %v", r.eventKinds())
	}
}

// TestRemoteNotRunning: before Run, a remote request fails when its context ends.
func TestRemoteNotRunning(t *testing.T) {
	a, err := New(Config{}, Deps{Keys: rtc.KeySourceFunc(nil), NewSession: func(k realtime.Key, ks rtc.KeySource) (Session, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.Press(ctx); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Press before Run: %v", err)
	}
}

// TestSubscriptionLags: a subscriber that does not read is dropped once 256 events
// behind, without blocking the publisher; the limit on subscribers holds.
func TestSubscriptionLags(t *testing.T) {
	a, err := New(Config{}, Deps{Keys: rtc.KeySourceFunc(nil), NewSession: func(k realtime.Key, ks rtc.KeySource) (Session, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	subs := make([]*Subscription, 0, MaxSubscribers)
	for range MaxSubscribers {
		s, err := a.Subscribe()
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	if _, err := a.Subscribe(); !errors.Is(err, ErrTooManySubscribers) {
		t.Errorf("subscriber %d: %v", MaxSubscribers+1, err)
	}
	for _, s := range subs[1:] {
		s.Close()
	}
	for i := range 1000 {
		a.subs.publish(Event{Type: EventHealth, Detail: "x", At: time.Unix(int64(i), 0)})
	}
	n := 0
	for range subs[0].C {
		n++
	}
	if !subs[0].Lagged() || n != subscriptionBuffer {
		t.Errorf("lagged %v after %d events, want true after %d", subs[0].Lagged(), n, subscriptionBuffer)
	}
	subs[0].Close() // closing a dropped subscription is harmless
	if s, err := a.Subscribe(); err != nil {
		t.Errorf("Subscribe after the others left: %v", err)
	} else {
		s.Close()
	}
}

// TestRemoteCancelWaitingSay: a cancel while a prompt waits for its session drops the
// prompt: the session comes up and nothing is said.
func TestRemoteCancelWaitingSay(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	r.keyWait.Store(int64(time.Second)) // the key takes a while: the prompt waits
	ctx := remoteCtx(t)
	if st, err := r.a.Say(ctx, "never mind"); err != nil || st != Connecting {
		t.Fatalf("Say: %v %v", st, err)
	}
	if st, err := r.a.Cancel(ctx); err != nil || st != Idle {
		t.Fatalf("Cancel: %v %v", st, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.a.Status().Session == nil || r.a.Status().Session.State != "connected" {
		if time.Now().After(deadline) {
			t.Fatal("the session did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	r.stop()
	if c, ok := r.srv.Stats().LastCall(); !ok || slices.Contains(c.ClientEvents, "conversation.item.create") || len(c.Responses) != 0 {
		t.Errorf("a cancelled prompt was sent: %v", c.ClientEvents)
	}
	r.checkSeq(Idle, Connecting, Idle, Off)
}

// TestRemoteSayDroppedByServiceAction: the service action abandons the connect a prompt
// waits for: the prompt is dropped and reported, and the appliance goes back to idle
// (it stayed connecting for good before).
func TestRemoteSayDroppedByServiceAction(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{ServiceAction: "restart"})
	r.waitState(Idle, 5*time.Second)
	sub, err := r.a.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	r.keyWait.Store(int64(2 * time.Second))
	ctx := remoteCtx(t)
	if _, err := r.a.Say(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	r.waitState(Connecting, 5*time.Second)
	r.send(ButtonMute, button.LongPress, 1) // the service action
	r.keyWait.Store(0)
	r.waitState(Idle, 10*time.Second)
	dropped := false
	for len(sub.C) > 0 {
		ev := <-sub.C
		dropped = dropped || (ev.Type == EventHealth && strings.Contains(ev.Detail, "say dropped: service action"))
	}
	time.Sleep(500 * time.Millisecond)
	st := r.a.Status()
	r.stop()
	if !dropped || st.State != Idle {
		t.Errorf("dropped prompt reported %v, state %v (want idle)", dropped, st.State)
	}
}
