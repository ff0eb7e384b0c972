package appliance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"

	"github.com/pion/transport/v5/test"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc"
)

// recLED is an Indicator that records what it was told.
type recLED struct {
	mu      sync.Mutex
	states  []State
	halted  bool
	micLive bool
	level   func() float64
	fallbk  []bool // SetFallback calls
}

func (r *recLED) SetState(s State) { r.mu.Lock(); r.states = append(r.states, s); r.mu.Unlock() }
func (r *recLED) SetMicLive(b bool) {
	r.mu.Lock()
	r.micLive = b
	r.mu.Unlock()
}
func (r *recLED) SetFallback(ws bool)           { r.mu.Lock(); r.fallbk = append(r.fallbk, ws); r.mu.Unlock() }
func (r *recLED) SetLevelFunc(f func() float64) { r.mu.Lock(); r.level = f; r.mu.Unlock() }
func (r *recLED) Halt() error                   { r.mu.Lock(); r.halted = true; r.mu.Unlock(); return nil }
func (r *recLED) snapshot() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.states)
}

// rig is an appliance wired to the local emulator with scripted buttons, a tone as the
// microphone and a pump draining the speaker.
type rig struct {
	t        *testing.T
	srv      *emulator.Server
	a        *Appliance
	led      *recLED
	buttons  chan button.Event
	keyErr   atomic.Pointer[error]
	keyCalls atomic.Int32 // key requests made

	mu      sync.Mutex
	trans   []Transition
	evs     []rtc.Event
	changed chan struct{}
	spoken  atomic.Int64 // speaker samples that were real audio
	service atomic.Int32 // service actions run
	keyWait atomic.Int64 // delay of every key request (ns), like an on-demand mint

	rtcOpts atomic.Pointer[[]rtc.Option] // more options for the next sessions (tools_test.go)
	cancel  context.CancelFunc
	done    chan error
	pumps   sync.WaitGroup
}

func newRig(t *testing.T, cfg Config, srvOpts ...emulator.Option) *rig {
	t.Helper()
	return buildRig(t, cfg, nil, srvOpts...)
}

// buildRig starts the rig; keyErr, if set, makes every key request fail from the start.
func buildRig(t *testing.T, cfg Config, keyErr error, srvOpts ...emulator.Option) *rig {
	t.Helper()
	srv, err := emulator.New(append([]emulator.Option{emulator.WithReplyText("hello from the emulator")}, srvOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, srv: srv, led: &recLED{}, buttons: make(chan button.Event, 16), changed: make(chan struct{}, 1), done: make(chan error, 1)}
	if keyErr != nil {
		r.keyErr.Store(&keyErr)
	}
	keys := rtc.KeySourceFunc(func(ctx context.Context) (realtime.Key, error) {
		r.keyCalls.Add(1)
		if e := r.keyErr.Load(); e != nil {
			return realtime.Key{}, *e
		}
		if d := time.Duration(r.keyWait.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return realtime.Key{}, ctx.Err()
			}
		}
		return srv.MintKey(ctx, "openai")
	})
	ptt := events.Session{Instructions: "test", Voice: "marin", TurnDetection: events.TurnDetection{Type: events.TurnDetectionNone}}
	factory := func(key realtime.Key, ks rtc.KeySource) (Session, error) {
		opts := []rtc.Option{rtc.WithLoopbackOnly(), rtc.WithKeySource(ks), rtc.WithSessionConfig(ptt),
			rtc.WithBackoff(20*time.Millisecond, 200*time.Millisecond), rtc.WithReleaseSettle(60 * time.Millisecond)}
		if extra := r.rtcOpts.Load(); extra != nil {
			opts = append(opts, *extra...)
		}
		return rtc.New(key, opts...)
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = time.Minute
	}
	a, err := New(cfg, Deps{
		Keys: keys, NewSession: factory, LED: r.led, Buttons: r.buttons,
		OnTransition: func(tr Transition) { r.mu.Lock(); r.trans = append(r.trans, tr); r.mu.Unlock(); r.poke() },
		OnEvent:      func(ev rtc.Event) { r.mu.Lock(); r.evs = append(r.evs, ev); r.mu.Unlock(); r.poke() },
		Service:      func(context.Context) error { r.service.Add(1); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	r.a = a
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- a.Run(ctx) }()
	r.startPumps(ctx)
	return r
}

func (r *rig) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// startPumps feeds a 440 Hz tone as the mic and drains the speaker, 20 ms at a time.
func (r *rig) startPumps(ctx context.Context) {
	r.pumps.Add(2)
	go func() {
		defer r.pumps.Done()
		buf := make([]float32, 960)
		ph := 0.0
		paced(ctx, 20*time.Millisecond, func() {
			for i := range buf {
				buf[i] = float32(0.3 * math.Sin(ph))
				ph += 2 * math.Pi * 440 / 48000
			}
			r.a.WriteMic(buf)
		})
	}()
	go func() {
		defer r.pumps.Done()
		buf := make([]float32, 960)
		paced(ctx, 20*time.Millisecond, func() { r.spoken.Add(int64(r.a.ReadSpeaker(buf))) })
	}()
}

// paced calls f once for every period that is due by the clock until ctx ends, like a
// device: a loaded machine delays ticks, but a device would deliver every period anyway.
func paced(ctx context.Context, period time.Duration, f func()) {
	tk := time.NewTicker(period)
	defer tk.Stop()
	start, done := time.Now(), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		for due := int(time.Since(start) / period); done < due; done++ {
			f()
		}
	}
}

// stop shuts the appliance down, checks it took at most 2 s and turned the LEDs off.
func (r *rig) stop() {
	r.t.Helper()
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		r.t.Fatal("Run did not return within 5 s of cancellation")
	}
	if d := time.Since(start); d > 2*time.Second {
		r.t.Errorf("shutdown took %v, want at most 2 s", d)
	}
	r.pumps.Wait()
	if err := r.srv.Close(); err != nil {
		r.t.Errorf("emulator close: %v", err)
	}
	r.led.mu.Lock()
	halted := r.led.halted
	r.led.mu.Unlock()
	if !halted {
		r.t.Error("LEDs were not halted on shutdown")
	}
}

func (r *rig) send(name string, k button.Kind, threshold int) {
	r.buttons <- button.Event{Button: name, Kind: k, Time: time.Now(), Threshold: threshold}
}
func (r *rig) press(name string)   { r.send(name, button.Press, 0) }
func (r *rig) release(name string) { r.send(name, button.Release, 0) }
func (r *rig) click(name string)   { r.send(name, button.Click, 0) }

func (r *rig) states() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]State, len(r.trans))
	for i, tr := range r.trans {
		out[i] = tr.To
	}
	return out
}

func (r *rig) eventKinds() []rtc.EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []rtc.EventKind
	for _, ev := range r.evs {
		if ev.Kind != rtc.EventTranscriptDelta && ev.Kind != rtc.EventState && ev.Kind != rtc.EventError {
			out = append(out, ev.Kind)
		}
	}
	return out
}

// waitState waits until the appliance shows s (the last transition), or fails.
func (r *rig) waitState(s State, within time.Duration) {
	r.t.Helper()
	deadline := time.After(within)
	for {
		st := r.states()
		if len(st) > 0 && st[len(st)-1] == s {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			r.t.Fatalf("state %s not reached within %v; transitions %v", s, within, r.states())
		}
	}
}

// checkSeq compares the state sequence and the LED sequence with want.
func (r *rig) checkSeq(want ...State) {
	r.t.Helper()
	if got := r.states(); !slices.Equal(got, want) {
		r.t.Errorf("states:\n got %v\nwant %v", got, want)
	}
	if got := r.led.snapshot(); !slices.Equal(got, want) {
		r.t.Errorf("LED states:\n got %v\nwant %v", got, want)
	}
}

func (r *rig) checkEvents(want ...rtc.EventKind) {
	r.t.Helper()
	if got := r.eventKinds(); !slices.Equal(got, want) {
		r.t.Errorf("session events:\n got %v\nwant %v", got, want)
	}
}

func TestPushToTalk(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	r.press(ButtonTalk)
	r.waitState(Listening, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	r.release(ButtonTalk)
	r.waitState(Speaking, 10*time.Second)
	r.waitState(Idle, 10*time.Second)
	st := r.a.Status()
	r.stop()
	r.checkSeq(Idle, Connecting, Listening, Thinking, Speaking, Idle, Off)
	r.checkEvents(rtc.EventListening, rtc.EventMicClosed, rtc.EventThinking, rtc.EventSpeakingStarted, rtc.EventTranscriptDone,
		rtc.EventResponseDone, rtc.EventSpeakingStopped)
	if r.spoken.Load() < 48000/4 {
		t.Errorf("the speaker played %d samples of the answer, want at least 250 ms", r.spoken.Load())
	}
	if st.Turns != 1 || st.Session == nil || st.Session.PacketsSent == 0 || st.Key == nil || st.Key.Profile != "openai" {
		t.Errorf("status after one turn: %+v (session %+v)", st, st.Session)
	}
	turns := r.srv.Stats()
	if c, ok := turns.LastCall(); !ok || len(c.Turns) != 1 {
		t.Errorf("emulator saw %d committed turns, want 1", len(c.Turns))
	}
}

func TestToggleMode(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{TalkMode: Toggle})
	r.waitState(Idle, 5*time.Second)
	r.press(ButtonTalk)
	r.release(ButtonTalk) // ignored in toggle mode
	r.waitState(Listening, 10*time.Second)
	time.Sleep(400 * time.Millisecond)
	r.press(ButtonTalk)
	r.release(ButtonTalk)
	r.waitState(Speaking, 10*time.Second)
	r.waitState(Idle, 10*time.Second)
	r.stop()
	r.checkSeq(Idle, Connecting, Listening, Thinking, Speaking, Idle, Off)
	r.checkEvents(rtc.EventListening, rtc.EventMicClosed, rtc.EventThinking, rtc.EventSpeakingStarted, rtc.EventTranscriptDone,
		rtc.EventResponseDone, rtc.EventSpeakingStopped)
}

func TestBargeIn(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	r.press(ButtonTalk)
	r.waitState(Listening, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // a long turn: the echoed answer is as long
	r.release(ButtonTalk)
	r.waitState(Speaking, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	r.press(ButtonTalk) // barge-in
	r.waitState(Listening, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	r.release(ButtonTalk)
	r.waitState(Speaking, 10*time.Second)
	r.waitState(Idle, 10*time.Second)
	st := r.a.Status()
	r.stop()
	r.checkSeq(Idle, Connecting, Listening, Thinking, Speaking, Listening, Thinking, Speaking, Idle, Off)
	// the cancelled answer's response.done comes back after the press took effect (the
	// session emits barge-in, speaking-stopped and listening at the press, in its loop)
	r.checkEvents(rtc.EventListening, rtc.EventMicClosed, rtc.EventThinking, rtc.EventSpeakingStarted, rtc.EventTranscriptDone,
		rtc.EventBargeIn, rtc.EventSpeakingStopped, rtc.EventListening, rtc.EventResponseDone,
		rtc.EventMicClosed, rtc.EventThinking, rtc.EventSpeakingStarted, rtc.EventTranscriptDone, rtc.EventResponseDone, rtc.EventSpeakingStopped)
	if st.Session == nil || st.Session.BargeIns != 1 {
		t.Errorf("session stats after a barge-in: %+v", st.Session)
	}
}

func TestMute(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	r.click(ButtonMute)
	r.waitState(Muted, 5*time.Second)
	r.press(ButtonTalk) // ignored while muted
	time.Sleep(300 * time.Millisecond)
	r.release(ButtonTalk)
	r.send(ButtonVolumeDown, button.Press, 0)
	r.send(ButtonVolumeDown, button.Press, 0)
	r.click(ButtonMute)
	r.waitState(Idle, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	st := r.a.Status()
	r.stop()
	r.checkSeq(Idle, Muted, Idle, Off)
	if n := r.srv.Stats().SDPRequests; n != 0 {
		t.Errorf("a talk press while muted opened a session (%d SDP requests)", n)
	}
	if math.Abs(st.Volume-0.6) > 1e-9 || st.Muted {
		t.Errorf("volume %v muted %v, want 0.6 and unmuted", st.Volume, st.Muted)
	}
}

func TestNetworkDrop(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	r.press(ButtonTalk)
	r.waitState(Listening, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	r.release(ButtonTalk)
	r.waitState(Speaking, 10*time.Second)
	r.waitState(Idle, 10*time.Second)
	r.srv.DropCalls() // the network goes away under an idle session
	r.waitState(Offline, 10*time.Second)
	r.waitState(Idle, 15*time.Second) // reconnected with a fresh key
	st := r.a.Status()
	r.stop()
	r.checkSeq(Idle, Connecting, Listening, Thinking, Speaking, Idle, Offline, Idle, Off)
	if st.Session == nil || st.Session.Reconnects < 1 {
		t.Errorf("session stats after the drop: %+v", st.Session)
	}
}

// TestKeyRejectedOnReconnect: the network drops under an idle session and the backend
// now rejects the credential: the session keeps retrying, and the LEDs say no-key (a
// credential to fix), not offline; once the key is good again it comes back by itself.
func TestKeyRejectedOnReconnect(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	r.press(ButtonTalk)
	r.waitState(Listening, 10*time.Second)
	r.release(ButtonTalk)
	r.waitState(Idle, 15*time.Second)
	rejectedErr := fmt.Errorf("provisioning: broker said 401: %w", realtime.ErrCredentialRejected)
	r.keyErr.Store(&rejectedErr)
	r.srv.DropCalls()
	r.waitState(NoKey, 10*time.Second)
	if st := r.a.Status(); !strings.Contains(st.Detail, "credential rejected") {
		t.Errorf("detail %q, want the rejection", st.Detail)
	}
	r.keyErr.Store(nil)
	r.waitState(Idle, 15*time.Second)
	r.stop()
	if seq := r.states(); !slices.Contains(seq, NoKey) || slices.Contains(seq, Error) {
		t.Errorf("states %v", seq)
	}
}

func TestKeyRejected(t *testing.T) {
	defer test.CheckRoutines(t)()
	rejected := fmt.Errorf("provisioning: broker said 401: %w", realtime.ErrCredentialRejected)
	r := buildRig(t, Config{RecheckEvery: time.Hour}, rejected)
	select {
	case <-r.a.FirstCheck():
	case <-time.After(5 * time.Second):
		t.Fatal("FirstCheck not closed after the first (failed) key check")
	}
	r.waitState(NoKey, 5*time.Second)
	r.press(ButtonTalk) // tries, fails again: stays no-key
	time.Sleep(200 * time.Millisecond)
	r.release(ButtonTalk)
	time.Sleep(200 * time.Millisecond)
	if st := r.a.Status(); st.State != NoKey || !strings.Contains(st.Detail, "credential rejected") {
		t.Errorf("status %s detail %q, want no-key with the reason", st.StateName, st.Detail)
	}
	// The operator fixes the credential, then holds mute for 3 s: re-check now.
	r.keyErr.Store(nil)
	r.send(ButtonMute, button.Press, 0)
	r.send(ButtonMute, button.LongPress, 0)
	r.waitState(Idle, 5*time.Second)
	r.send(ButtonMute, button.Release, 0)
	time.Sleep(100 * time.Millisecond)
	r.stop()
	r.checkSeq(Idle, NoKey, Idle, Off)
	if n := r.srv.Stats().SDPRequests; n != 0 {
		t.Errorf("%d SDP requests without a key", n)
	}
}

// TestOfflineRecheckBacksOff: the key daemon is not there at start (its socket does not
// exist yet, as when both units start together). The appliance retries after RecheckMin
// and backs off, so it is idle within seconds of the daemon coming up, long before the
// hourly RecheckEvery; the retries are spaced by the backoff, not a storm.
func TestOfflineRecheckBacksOff(t *testing.T) {
	defer test.CheckRoutines(t)()
	down := fmt.Errorf("provisioning: connecting to the key daemon: %w", &net.OpError{Op: "dial", Net: "unix", Err: errors.New("connect: no such file or directory")})
	r := buildRig(t, Config{RecheckEvery: time.Hour, RecheckMin: 100 * time.Millisecond}, down)
	r.waitState(Offline, 5*time.Second)
	n0 := r.keyCalls.Load()
	time.Sleep(1200 * time.Millisecond) // 100, 200, 400 ms (±20 %): about 3 retries, never more than 5
	n := r.keyCalls.Load() - n0
	if n < 2 || n > 5 {
		t.Errorf("%d key checks in 1.2 s offline, want 2..5 (backoff from 100 ms)", n)
	}
	r.keyErr.Store(nil) // the daemon is up now
	r.waitState(Idle, 3*time.Second)
	r.stop()
	r.checkSeq(Idle, Offline, Idle, Off)
}

func TestIdleTimeoutClosesSession(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{IdleTimeout: 300 * time.Millisecond})
	r.waitState(Idle, 5*time.Second)
	r.press(ButtonTalk)
	r.waitState(Listening, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	r.release(ButtonTalk)
	r.waitState(Speaking, 10*time.Second)
	r.waitState(Idle, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.WaitStats(ctx, func(st emulator.Stats) bool { return st.CallsEnded >= 1 }); err != nil {
		t.Errorf("the idle session was not closed: %v", err)
	}
	r.stop()
	r.checkSeq(Idle, Connecting, Listening, Thinking, Speaking, Idle, Off)
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want fault
	}{
		{realtime.ErrCredentialRejected, faultNoKey},
		{fmt.Errorf("keys: %w", realtime.ErrNoCredential), faultNoKey},
		{&keyd.RemoteError{Code: "no_credential", Message: "no credential"}, faultNoKey}, // the key socket's answer
		{&keyd.RemoteError{Code: "unavailable"}, faultOffline},
		{fmt.Errorf("x: %w", rtc.ErrUnauthorized), faultNoKey},
		{keyd.ErrUnavailable, faultOffline},
		{context.DeadlineExceeded, faultOffline},
		{&rtc.HTTPError{StatusCode: 503}, faultOffline},
		{errors.New("something else"), faultNoKey},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, faultName(got), faultName(tc.want))
		}
	}
}

func TestStateStrings(t *testing.T) {
	want := []string{"off", "idle", "connecting", "listening", "thinking", "speaking", "muted", "error", "no-key", "offline"}
	for i, w := range want {
		if got := State(i).String(); got != w {
			t.Errorf("State(%d) = %q, want %q", i, got, w)
		}
	}
	if got := State(99).String(); got != "State(99)" {
		t.Errorf("State(99) = %q", got)
	}
	if Hold.String() != "hold" || Toggle.String() != "toggle" {
		t.Error("TalkMode strings")
	}
}

func TestServiceActionAndAudioFault(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{ServiceAction: "restart"})
	r.waitState(Idle, 5*time.Second)
	r.press(ButtonTalk)
	r.waitState(Listening, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	r.release(ButtonTalk)
	r.waitState(Speaking, 10*time.Second)
	r.waitState(Idle, 10*time.Second)
	// Very long press of mute: the session is dropped, the service hook runs, a fresh key
	// is fetched; the state stays idle.
	r.send(ButtonMute, button.Press, 0)
	r.send(ButtonMute, button.LongPress, 0)
	r.send(ButtonMute, button.LongPress, 1)
	r.send(ButtonMute, button.Release, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.WaitStats(ctx, func(st emulator.Stats) bool { return st.CallsEnded >= 1 }); err != nil {
		t.Errorf("the service action did not close the session: %v", err)
	}
	for i := 0; r.service.Load() == 0 && i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if r.service.Load() != 1 {
		t.Errorf("service hook ran %d times, want 1", r.service.Load())
	}
	// An audio device fails and comes back.
	r.a.AudioFault("mic", errors.New("audio: device stopped"))
	r.waitState(Error, 5*time.Second)
	if st := r.a.Status(); len(st.Audio) != 1 || !strings.Contains(st.Audio[0], "mic: audio: device stopped") {
		t.Errorf("status audio faults %q", st.Audio)
	}
	r.a.AudioFault("mic", nil)
	r.waitState(Idle, 5*time.Second)
	r.stop()
	r.checkSeq(Idle, Connecting, Listening, Thinking, Speaking, Idle, Error, Idle, Off)
}

// TestPreRollWhileConnecting: what is said while the key is fetched and the session set
// up (here a slow, on-demand key: 500 ms) still reaches the service.
func TestPreRollWhileConnecting(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{})
	r.waitState(Idle, 5*time.Second)
	r.keyWait.Store(int64(500 * time.Millisecond))
	pressed := time.Now()
	r.press(ButtonTalk)
	r.waitState(Listening, 10*time.Second)
	time.Sleep(400 * time.Millisecond)
	r.release(ButtonTalk)
	held := time.Since(pressed)
	r.waitState(Speaking, 10*time.Second)
	r.waitState(Idle, 10*time.Second)
	r.stop()
	c, ok := r.srv.Stats().LastCall()
	if !ok || len(c.Turns) != 1 {
		t.Fatalf("emulator turns: %+v", c.Turns)
	}
	// The whole press reached the service, less a few periods at the edges (a loaded machine drops mic ticks); without the pre-roll the 500 ms of key fetch is missing.
	if got := c.Turns[0].Duration; got < held-300*time.Millisecond {
		t.Errorf("the committed turn has %v of audio; the button was held %v (speech before the session existed was lost)", got, held)
	}
}
