package appliance

// Unit tests of the state machine: a hand-written fake Session, a key source the test
// answers call by call, and clockwork's fake clock. Nothing sleeps: every wait is for
// something the loop reports (a transition, a key request, a session call), bounded by
// a generous real-time deadline that only a hung loop reaches.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/transport/v5/test"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc"
)

// unitDeadline bounds every wait for the loop; reaching it means the loop is stuck.
const unitDeadline = 10 * time.Second

// fakeSession is a Session that records the calls the appliance makes; the test plays
// the session's events through ev.
type fakeSession struct {
	mu     sync.Mutex
	calls  []string
	mic    int // samples written
	ev     chan rtc.Event
	closed chan struct{}
	called chan struct{} // poked on every call
	once   sync.Once
	voice  float32 // the value ReadSpeaker plays
}

func newFakeSession() *fakeSession {
	return &fakeSession{ev: make(chan rtc.Event, 16), closed: make(chan struct{}), called: make(chan struct{}, 1), voice: 0.5}
}

func (s *fakeSession) record(c string) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	select {
	case s.called <- struct{}{}:
	default:
	}
}

// waitCalls waits until the session's calls are want.
func (s *fakeSession) waitCalls(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(unitDeadline)
	for !slices.Equal(s.callList(), want) {
		select {
		case <-s.called:
		case <-deadline:
			t.Fatalf("session calls %v, want %v", s.callList(), want)
		}
	}
}

func (s *fakeSession) micSamples() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mic
}
func (s *fakeSession) Start(context.Context) error {
	s.record("start")
	return nil
}
func (s *fakeSession) Close() error {
	s.once.Do(func() { s.record("close"); close(s.closed) })
	return nil
}
func (s *fakeSession) Press()   { s.record("press") }
func (s *fakeSession) Release() { s.record("release") }
func (s *fakeSession) Cancel()  { s.record("cancel") }
func (s *fakeSession) WriteMic(p []float32) {
	s.mu.Lock()
	s.mic += len(p)
	s.mu.Unlock()
}
func (s *fakeSession) ReadSpeaker(dst []float32) int {
	for i := range dst {
		dst[i] = s.voice
	}
	return len(dst)
}
func (s *fakeSession) Events() <-chan rtc.Event { return s.ev }
func (s *fakeSession) Stats() rtc.Stats         { return rtc.Stats{} }

func (s *fakeSession) callList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *fakeSession) state(st rtc.State)    { s.ev <- rtc.Event{Kind: rtc.EventState, State: st} }
func (s *fakeSession) event(k rtc.EventKind) { s.ev <- rtc.Event{Kind: k} }

// keyReq is one key request the appliance made; the test answers it.
type keyReq struct {
	at    time.Time // fake time of the request
	reply chan keyRes
}

type keyRes struct {
	key realtime.Key
	err error
}

// unit is an appliance on the fake clock with a fake session factory.
type unit struct {
	t        *testing.T
	a        *Appliance
	clk      *clockwork.FakeClock
	led      *recLED
	buttons  chan button.Event
	keys     chan keyReq
	sessions chan *fakeSession
	trans    chan Transition
	service  chan struct{}
	// gate, while non-nil, is waited on by OnTransition: it holds the loop busy.
	gateMu sync.Mutex
	gate   chan struct{}

	cancel context.CancelFunc
	done   chan error
}

var unitT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newUnit(t *testing.T, cfg Config) *unit {
	t.Helper()
	return newUnitWith(t, cfg, nil)
}

// newUnitWith is newUnit with the key source wrapped by wrap (nil: as it is).
func newUnitWith(t *testing.T, cfg Config, wrap func(rtc.KeySource) rtc.KeySource) *unit {
	t.Helper()
	u := &unit{t: t, clk: clockwork.NewFakeClockAt(unitT0), led: &recLED{}, buttons: make(chan button.Event),
		keys: make(chan keyReq, 16), sessions: make(chan *fakeSession, 16), trans: make(chan Transition, 256),
		service: make(chan struct{}, 16), done: make(chan error, 1)}
	keys := rtc.KeySourceFunc(func(ctx context.Context) (realtime.Key, error) {
		r := keyReq{at: u.clk.Now(), reply: make(chan keyRes, 1)}
		u.keys <- r
		select {
		case res := <-r.reply:
			return res.key, res.err
		case <-ctx.Done():
			return realtime.Key{}, ctx.Err()
		}
	})
	var ks rtc.KeySource = keys
	if wrap != nil {
		ks = wrap(keys)
	}
	factory := func(realtime.Key, rtc.KeySource) (Session, error) {
		s := newFakeSession()
		u.sessions <- s
		return s, nil
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = time.Minute
	}
	a, err := New(cfg, Deps{
		Keys: ks, NewSession: factory, LED: u.led, Buttons: u.buttons, Clock: u.clk,
		OnTransition: func(tr Transition) {
			u.gateMu.Lock()
			g := u.gate
			u.gateMu.Unlock()
			if g != nil {
				<-g
			}
			u.trans <- tr
		},
		Service: func(context.Context) error { u.service <- struct{}{}; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	a.jitter = func() float64 { return 0.5 } // no jitter: exact waits
	u.a = a
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	go func() { u.done <- a.Run(ctx) }()
	t.Cleanup(u.stop)
	return u
}

// stop ends Run (idempotent) and checks it returned and halted the LEDs.
func (u *unit) stop() {
	if u.cancel == nil {
		return
	}
	u.cancel()
	u.cancel = nil
	select {
	case err := <-u.done:
		if err != nil {
			u.t.Errorf("Run returned %v", err)
		}
	case <-time.After(unitDeadline):
		u.t.Fatal("Run did not return after cancellation")
	}
	u.led.mu.Lock()
	defer u.led.mu.Unlock()
	if !u.led.halted {
		u.t.Error("LEDs were not halted on shutdown")
	}
}

// waitState waits for the transition to s and returns it; transitions to other states
// on the way are allowed.
func (u *unit) waitState(s State) Transition {
	u.t.Helper()
	deadline := time.After(unitDeadline)
	var seen []State
	for {
		select {
		case tr := <-u.trans:
			if tr.To == s {
				return tr
			}
			seen = append(seen, tr.To)
		case <-deadline:
			u.t.Fatalf("state %s never reached; saw %v", s, seen)
		}
	}
}

// nextState returns the next transition's target.
func (u *unit) nextState() State {
	u.t.Helper()
	select {
	case tr := <-u.trans:
		return tr.To
	case <-time.After(unitDeadline):
		u.t.Fatal("no transition")
	}
	return Off
}

// keyReq waits for the next key request.
func (u *unit) keyReq() keyReq {
	u.t.Helper()
	select {
	case r := <-u.keys:
		return r
	case <-time.After(unitDeadline):
		u.t.Fatal("the appliance never asked for a key")
	}
	return keyReq{}
}

// answer waits for the next key request and answers it with err (nil: a valid key).
func (u *unit) answer(err error) keyReq {
	u.t.Helper()
	r := u.keyReq()
	if err != nil {
		r.reply <- keyRes{err: err}
	} else {
		r.reply <- keyRes{key: realtime.Key{Value: "ek_test", Profile: "openai", MintedAt: u.clk.Now(), ExpiresAt: u.clk.Now().Add(time.Minute)}}
	}
	return r
}

func (u *unit) noKeyReq() {
	u.t.Helper()
	select {
	case r := <-u.keys:
		u.t.Fatalf("unexpected key request at %v", r.at.Sub(unitT0))
	default:
	}
}

func (u *unit) session() *fakeSession {
	u.t.Helper()
	select {
	case s := <-u.sessions:
		return s
	case <-time.After(unitDeadline):
		u.t.Fatal("no session was made")
	}
	return nil
}

func (u *unit) btn(name string, k button.Kind, threshold int) {
	u.t.Helper()
	select {
	case u.buttons <- button.Event{Button: name, Kind: k, Threshold: threshold}:
	case <-time.After(unitDeadline):
		u.t.Fatal("the loop did not take a button event")
	}
}

// waiters waits until the fake clock has exactly n timers armed.
func (u *unit) waiters(n int) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), unitDeadline)
	defer cancel()
	if err := u.clk.BlockUntilContext(ctx, n); err != nil {
		u.t.Fatalf("the clock never had %d timers armed: %v", n, err)
	}
}

func waitClosed(t *testing.T, s *fakeSession) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(unitDeadline):
		t.Fatalf("session not closed; calls %v", s.callList())
	}
}

// checkLevel checks the LED meter level, as the appliance and the indicator see it.
func checkLevel(t *testing.T, u *unit, want float64) {
	t.Helper()
	if got := u.a.Level(); math.Abs(got-want) > 1e-3 {
		t.Errorf("level %.4f, want %.4f", got, want)
	}
	u.led.mu.Lock()
	f := u.led.level
	u.led.mu.Unlock()
	if f == nil {
		t.Fatal("the indicator got no level source")
	}
	if got := f(); math.Abs(got-want) > 1e-3 {
		t.Errorf("indicator level %.4f, want %.4f", got, want)
	}
}

func checkCalls(t *testing.T, s *fakeSession, want ...string) {
	t.Helper()
	if got := s.callList(); !slices.Equal(got, want) {
		t.Errorf("session calls %v, want %v", got, want)
	}
}

// startIdle answers the first key check and waits for Idle.
func (u *unit) startIdle() {
	u.t.Helper()
	u.waitState(Idle)
	u.answer(nil)
	select {
	case <-u.a.FirstCheck():
	case <-time.After(unitDeadline):
		u.t.Fatal("FirstCheck never closed")
	}
}

// connectTalk presses talk from Idle, answers the key and connects the session.
func (u *unit) connectTalk() *fakeSession {
	u.t.Helper()
	u.btn(ButtonTalk, button.Press, 0)
	u.waitState(Connecting)
	u.answer(nil)
	s := u.session()
	s.state(rtc.StateConnected)
	u.waitState(Listening)
	return s
}

func TestUnitPushToTalk(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{IdleTimeout: 20 * time.Second})
	u.startIdle()
	s := u.connectTalk()
	mic := make([]float32, 480)
	for i := range mic {
		mic[i] = 0.5
	}
	u.a.WriteMic(mic)
	if n := s.micSamples(); n != len(mic) {
		t.Errorf("the session got %d mic samples, want %d", n, len(mic))
	}
	// The LED meter shows the mic while listening: 50 ms at 0.5 (-6 dBFS) on a -60 dB
	// scale.
	for range 4 {
		u.a.WriteMic(mic)
	}
	checkLevel(t, u, 1-20*math.Log10(0.5)/-60)
	u.btn(ButtonTalk, button.Release, 0)
	u.waitState(Thinking)
	s.event(rtc.EventSpeakingStarted)
	u.waitState(Speaking)
	spk := make([]float32, 2400)
	if n := u.a.ReadSpeaker(spk); n != len(spk) || spk[0] != 0.5*0.8 {
		t.Errorf("speaker: %d samples, first %v; want %d at volume 0.8", n, spk[0], len(spk))
	}
	// While speaking it shows the downlink as played (after the volume), not the mic.
	u.a.WriteMic(make([]float32, 2400))
	checkLevel(t, u, 1-20*math.Log10(0.4)/-60)
	s.event(rtc.EventSpeakingStopped)
	u.waitState(Idle)
	checkLevel(t, u, 0)
	// The idle timer closes the session exactly IdleTimeout after the answer.
	u.waiters(1)
	u.clk.Advance(20*time.Second - time.Nanosecond)
	select {
	case <-s.closed:
		t.Fatal("closed before the idle timeout")
	default:
	}
	u.clk.Advance(time.Nanosecond)
	waitClosed(t, s)
	checkCalls(t, s, "start", "press", "release", "close")
	if st := u.a.Status(); st.Turns != 1 || st.Key == nil || st.Key.Profile != "openai" {
		t.Errorf("status %+v", st)
	}
	u.stop()
}

func TestUnitToggle(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{TalkMode: Toggle})
	u.startIdle()
	s := u.connectTalk()
	u.btn(ButtonTalk, button.Release, 0) // releases do nothing in toggle mode
	u.btn(ButtonTalk, button.Press, 0)
	u.waitState(Thinking)
	checkCalls(t, s, "start", "press", "release")
	s.event(rtc.EventResponseDone)
	u.waitState(Idle)
	u.stop()
	checkCalls(t, s, "start", "press", "release", "close")
}

func TestUnitBargeIn(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{})
	u.startIdle()
	s := u.connectTalk()
	u.btn(ButtonTalk, button.Release, 0)
	u.waitState(Thinking)
	s.event(rtc.EventSpeakingStarted)
	u.waitState(Speaking)
	// Talk while the answer plays: the same session is pressed again (barge-in).
	u.btn(ButtonTalk, button.Press, 0)
	u.waitState(Listening)
	// The session reports the cancelled answer: the speaker pump is told to drop
	// the device queue.
	s.event(rtc.EventBargeIn)
	select {
	case <-u.a.flush:
	case <-time.After(unitDeadline):
		t.Fatal("a barge-in did not flush the speaker")
	}
	checkCalls(t, s, "start", "press", "release", "press")
	select {
	case extra := <-u.sessions:
		t.Fatalf("barge-in made a new session: %v", extra)
	default:
	}
	u.btn(ButtonTalk, button.Release, 0)
	u.waitState(Thinking)
	u.stop()
}

func TestUnitMuteIgnoresTalk(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{})
	u.startIdle()
	u.btn(ButtonMute, button.Click, 0)
	u.waitState(Muted)
	u.btn(ButtonTalk, button.Press, 0)
	u.btn(ButtonMute, button.Click, 0)
	// Idle at once: had the press while muted started a turn, this would be Connecting.
	if st := u.nextState(); st != Idle {
		t.Errorf("after unmute: %s, want idle", st)
	}
	u.noKeyReq()
	if u.a.Status().Muted {
		t.Error("status still muted")
	}
	u.stop()
}

// offlineErr is what a dial to an unreachable key daemon returns.
var offlineErr = &net.OpError{Op: "dial", Net: "unix", Err: errors.New("connection refused")}

// TestUnitOfflineRecheckBackoff: offline re-checks start at RecheckMin and double up to
// RecheckEvery, on the clock exactly (jitter pinned); a success resets the backoff.
func TestUnitOfflineRecheckBackoff(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{RecheckMin: time.Second, RecheckEvery: 5 * time.Second})
	u.answer(offlineErr)
	u.waitState(Offline)
	at := unitT0
	for i, d := range []time.Duration{1, 2, 4, 5, 5} {
		d *= time.Second
		u.waiters(1)
		u.clk.Advance(d - time.Nanosecond)
		u.noKeyReq()
		u.clk.Advance(time.Nanosecond)
		at = at.Add(d)
		r := u.keyReq()
		if r.at != at {
			t.Fatalf("re-check %d at %v, want %v", i+1, r.at.Sub(unitT0), at.Sub(unitT0))
		}
		r.reply <- keyRes{err: offlineErr}
	}
	// The next one succeeds: Idle, and the next failure starts from RecheckMin again.
	u.waiters(1)
	u.clk.Advance(5 * time.Second)
	u.answer(nil)
	u.waitState(Idle)
	u.btn(ButtonMute, button.LongPress, 0) // re-check now
	start := u.answer(offlineErr).at
	u.waitState(Offline)
	u.waiters(1)
	u.clk.Advance(time.Second)
	if r := u.answer(nil); r.at != start.Add(time.Second) {
		t.Errorf("after a success the first retry came %v later, want 1s", r.at.Sub(start))
	}
	u.waitState(Idle)
	u.stop()
}

// TestUnitRejectedKey: a refused credential shows no-key and is re-checked only every
// RecheckEvery (retrying sooner would get the same answer); a talk press tries again.
func TestUnitRejectedKey(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{RecheckMin: time.Second, RecheckEvery: 30 * time.Second})
	rej := fmt.Errorf("key daemon: %w", realtime.ErrCredentialRejected)
	u.answer(rej)
	u.waitState(NoKey)
	if st := u.a.Status(); st.State != NoKey || !strings.Contains(st.Detail, "key daemon") {
		t.Errorf("status %s, detail %q; want no-key with the cause", st.StateName, st.Detail)
	}
	u.waiters(1)
	u.clk.Advance(30*time.Second - time.Nanosecond)
	u.noKeyReq()
	u.clk.Advance(time.Nanosecond)
	if r := u.answer(rej); r.at != unitT0.Add(30*time.Second) {
		t.Errorf("re-check at %v, want 30s", r.at.Sub(unitT0))
	}
	// A press tries to connect, fails again and stays no-key; no session is made
	// (the factory is only called with a key).
	u.btn(ButtonTalk, button.Press, 0)
	u.answer(rej)
	u.btn(ButtonTalk, button.Release, 0)
	if st := u.a.Status(); st.State != NoKey {
		t.Errorf("state %s, want no-key", st.StateName)
	}
	select {
	case s := <-u.sessions:
		t.Errorf("a session was made with a rejected key: %v", s)
	default:
	}
	u.stop()
}

// TestUnitNoCredential: a device not set up yet (the key daemon answers "no
// credential", or "not configured" without a profile) shows no-key with the cause, not
// offline, and says so in Status.Setup; it is re-checked soon and then less often
// (RecheckMin doubling to RecheckEvery: the admin is probably setting it up right now),
// and Configured stays open (the caller keeps the audio devices closed) until a check
// gets a key: then Idle, without a restart.
func TestUnitNoCredential(t *testing.T) {
	for _, tc := range []struct {
		name, setup string
		err         error
	}{
		{"no credential", SetupNoCredential, fmt.Errorf("key daemon: %w: put the key in /etc/edgevoice/credential", realtime.ErrNoCredential)},
		{"no profile", SetupNotConfigured, fmt.Errorf("key daemon: %w: set [provisioning] profile", realtime.ErrNotConfigured)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer test.CheckRoutines(t)()
			u := newUnit(t, Config{RecheckMin: time.Second, RecheckEvery: 30 * time.Second})
			u.answer(tc.err)
			u.waitState(NoKey)
			st := u.a.Status()
			if st.State != NoKey || st.Setup != tc.setup || st.Detail != tc.err.Error() {
				t.Errorf("status %s, setup %q, detail %q; want no-key, %q and the cause", st.StateName, st.Setup, st.Detail, tc.setup)
			}
			at := unitT0
			for i, d := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
				d *= time.Second
				u.waiters(1)
				u.clk.Advance(d - time.Nanosecond)
				u.noKeyReq()
				u.clk.Advance(time.Nanosecond)
				at = at.Add(d)
				r := u.keyReq()
				if r.at != at {
					t.Fatalf("re-check %d at %v, want %v", i+1, r.at.Sub(unitT0), at.Sub(unitT0))
				}
				r.reply <- keyRes{err: tc.err}
				if u.waiters(1); u.a.Status().State != NoKey {
					t.Fatalf("state %s after re-check %d, want no-key", u.a.Status().StateName, i+1)
				}
			}
			select {
			case <-u.a.Configured():
				t.Fatal("Configured closed while the key daemon is not set up")
			case s := <-u.sessions:
				t.Fatalf("a session was made without a key: %v", s)
			default:
			}
			// The credential is in place now: the next re-check gets a key.
			u.waiters(1)
			u.clk.Advance(30 * time.Second)
			u.answer(nil)
			u.waitState(Idle)
			select {
			case <-u.a.Configured():
			case <-time.After(unitDeadline):
				t.Fatal("Configured not closed after a key")
			}
			if st := u.a.Status(); st.Setup != "" || st.Detail != "" {
				t.Errorf("setup %q, detail %q after a key", st.Setup, st.Detail)
			}
			u.stop()
		})
	}
}

// TestUnitConfiguredGate: which key-check outcomes show that the key daemon is set up
// (Configured closes: the audio devices may open) and which do not.
func TestUnitConfiguredGate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		state      State
		configured bool
	}{
		{"key", nil, Idle, true},
		{"credential rejected", fmt.Errorf("key daemon: %w", realtime.ErrCredentialRejected), NoKey, true},
		{"backend down", fmt.Errorf("key daemon: %w", realtime.ErrKeyUnavailable), Offline, true},
		{"key daemon not answering", offlineErr, Offline, false},
		{"no credential", realtime.ErrNoCredential, NoKey, false},
		{"no profile", realtime.ErrNotConfigured, NoKey, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer test.CheckRoutines(t)()
			u := newUnit(t, Config{RecheckMin: time.Second, RecheckEvery: 30 * time.Second})
			u.answer(tc.err)
			u.waitState(tc.state)
			select {
			case <-u.a.FirstCheck():
			case <-time.After(unitDeadline):
				t.Fatal("FirstCheck never closed")
			}
			// FirstCheck closes after the result was applied, Configured before: its
			// state is final here.
			select {
			case <-u.a.Configured():
				if !tc.configured {
					t.Error("Configured closed")
				}
			default:
				if tc.configured {
					t.Error("Configured not closed")
				}
			}
			u.stop()
		})
	}
}

// TestUnitLongPress: in no-key, a long talk press re-checks at once; a very long press
// runs the service action (Deps.Service, then a re-check); talk long presses while idle
// do nothing.
func TestUnitLongPress(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{ServiceAction: "restart", RecheckEvery: time.Hour})
	u.answer(realtime.ErrCredentialRejected)
	u.waitState(NoKey)
	// The press tries to connect; the long press re-checks at once, not after an hour.
	// Both key requests get a key (in whichever order they come), so the held press
	// connects.
	u.btn(ButtonTalk, button.Press, 0)
	u.btn(ButtonTalk, button.LongPress, 0)
	for range 2 {
		if r := u.answer(nil); r.at != unitT0 {
			t.Errorf("key request at %v, want at once", r.at.Sub(unitT0))
		}
	}
	s := u.session()
	s.state(rtc.StateConnected)
	u.waitState(Listening)
	u.btn(ButtonTalk, button.Release, 0)
	u.waitState(Thinking)
	s.event(rtc.EventResponseDone)
	u.waitState(Idle)
	// Idle: a long talk press is just a long turn, not a gesture.
	u.btn(ButtonTalk, button.Press, 0)
	u.waitState(Listening)
	u.btn(ButtonTalk, button.LongPress, 0)
	u.btn(ButtonTalk, button.LongPress, 1)
	u.btn(ButtonTalk, button.Release, 0)
	u.waitState(Thinking)
	u.noKeyReq()
	s.event(rtc.EventResponseDone)
	u.waitState(Idle)
	// A very long mute press: the session is dropped, Service runs, then a re-check.
	u.btn(ButtonMute, button.Press, 0)
	u.btn(ButtonMute, button.LongPress, 1)
	waitClosed(t, s)
	select {
	case <-u.service:
	case <-time.After(unitDeadline):
		t.Fatal("the service action did not run")
	}
	u.answer(nil)
	u.btn(ButtonMute, button.Release, 0)
	u.stop()
}

// TestUnitRecheckResultNeverDropped: while the loop is busy, device faults pour in and
// a re-check finishes. The re-check's result must still reach the loop: before, it went
// through a 16-slot queue that dropped on overflow, the loop kept believing a check was
// running, and no re-check (not even a long press) ever asked for a key again.
func TestUnitRecheckResultNeverDropped(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{RecheckEvery: time.Hour})
	u.waitState(Idle)
	first := u.keyReq() // the start-up check, not answered yet
	// Hold the loop inside OnTransition (the mute transition).
	gate := make(chan struct{})
	u.gateMu.Lock()
	u.gate = gate
	u.gateMu.Unlock()
	u.btn(ButtonMute, button.Click, 0)
	for i := range 40 {
		var err error
		if i%2 == 0 {
			err = errors.New("audio: device stopped")
		}
		u.a.AudioFault("mic", err) // must not block even though the loop is busy
	}
	first.reply <- keyRes{err: offlineErr}
	u.gateMu.Lock()
	u.gate = nil
	u.gateMu.Unlock()
	close(gate)
	u.waitState(Muted)
	u.btn(ButtonMute, button.Click, 0)
	u.waitState(Offline) // the re-check result arrived
	if st := u.a.Status(); len(st.Audio) != 0 {
		t.Errorf("audio faults %q: the last report (device back) was lost", st.Audio)
	}
	u.btn(ButtonMute, button.LongPress, 0)
	u.answer(nil)
	u.waitState(Idle)
	u.stop()
}

// TestUnitAudioFault: a device failure shows Error until the device reports back.
func TestUnitAudioFault(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{})
	u.startIdle()
	u.a.AudioFault("speaker", errors.New("audio: device stopped"))
	u.waitState(Error)
	if st := u.a.Status(); len(st.Audio) != 1 || !strings.Contains(st.Audio[0], "speaker: audio: device stopped") {
		t.Errorf("status audio %q", st.Audio)
	}
	u.a.AudioFault("speaker", nil)
	u.waitState(Idle)
	u.stop()
}

// TestUnitReleaseBeforeSession: a turn released before its session is up is committed
// once the session exists (press, then release after the pre-roll hand-over).
func TestUnitReleaseBeforeSession(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{})
	u.startIdle()
	u.btn(ButtonTalk, button.Press, 0)
	u.waitState(Connecting)
	u.a.WriteMic(make([]float32, 4800)) // said while connecting: kept in the pre-roll
	u.btn(ButtonTalk, button.Release, 0)
	u.answer(nil)
	s := u.session()
	s.waitCalls(t, "start", "press")
	// No mic pump runs here, so the pre-roll is never handed over: the release waits
	// for it ten times 10 ms on the clock, then goes anyway.
	for range 10 {
		u.waiters(1)
		u.clk.Advance(10 * time.Millisecond)
	}
	s.waitCalls(t, "start", "press", "release")
	// The session is current now: the next mic period hands the pre-roll over first.
	u.a.WriteMic(make([]float32, 480))
	if n := s.micSamples(); n != 4800+480 {
		t.Errorf("session got %d mic samples, want %d", n, 4800+480)
	}
	u.stop()
}

// TestUnitWatchdogOnClock: the loop pings the watchdog on the clock.
func TestUnitWatchdogOnClock(t *testing.T) {
	defer test.CheckRoutines(t)()
	pings := make(chan struct{}, 8)
	clk := clockwork.NewFakeClockAt(unitT0)
	keys := rtc.KeySourceFunc(func(context.Context) (realtime.Key, error) { return realtime.Key{}, offlineErr })
	a, err := New(Config{WatchdogEvery: 10 * time.Second, RecheckMin: time.Hour, RecheckEvery: time.Hour}, Deps{Keys: keys, Clock: clk,
		NewSession: func(realtime.Key, rtc.KeySource) (Session, error) { return newFakeSession(), nil },
		Watchdog:   func() { pings <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-pings:
		case <-time.After(unitDeadline):
			t.Fatal(what)
		}
	}
	wait("no ping at start")
	for i := range 3 {
		bctx, bcancel := context.WithTimeout(context.Background(), unitDeadline)
		_ = clk.BlockUntilContext(bctx, 2) // the ticker and the offline re-check timer
		bcancel()
		clk.Advance(10 * time.Second)
		wait(fmt.Sprintf("no ping after %d intervals", i+1))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestUnitLEDsShowTransport: a session that connects over WebSocket switches the LEDs to
// their fallback look; one over WebRTC switches them back.
func TestUnitLEDsShowTransport(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{IdleTimeout: 20 * time.Second})
	u.startIdle()
	u.btn(ButtonTalk, button.Press, 0)
	u.waitState(Connecting)
	u.answer(nil)
	s := u.session()
	s.ev <- rtc.Event{Kind: rtc.EventState, State: rtc.StateConnected, Transport: rtc.TransportWebSocket}
	u.waitState(Listening)
	s.ev <- rtc.Event{Kind: rtc.EventState, State: rtc.StateConnected, Transport: rtc.TransportWebRTC}
	deadline := time.Now().Add(unitDeadline)
	for {
		u.led.mu.Lock()
		got := slices.Clone(u.led.fallbk)
		u.led.mu.Unlock()
		if slices.Equal(got, []bool{true, false}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SetFallback calls %v, want [true false]", got)
		}
		time.Sleep(time.Millisecond)
	}
	u.btn(ButtonTalk, button.Release, 0)
	u.stop()
}
