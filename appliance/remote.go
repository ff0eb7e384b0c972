package appliance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/rtc"
)

// Remote triggers (the control socket's press, release, cancel, mute, volume and say).
// Each method hands its work to the Run goroutine, which applies it exactly like the
// matching button event: a remote press is a talk button press (barge-in while the
// model speaks, ignored while muted, a toggle in toggle mode), a remote release is a
// talk release (ignored in toggle mode). They wait for the loop to take the work, at
// most until ctx ends, and return the state it shows afterwards.

// ErrNotRunning is returned by the remote methods when Run does not take the request
// before ctx ends (Run has not started, has ended, or is stuck).
var ErrNotRunning = errors.New("appliance: the state machine did not take the request (not running?)")

// ErrMuted is returned by Press and Tap while the mic is muted: mute wins over talk.
var ErrMuted = errors.New("muted: talk is ignored (unmute first)")

// remote runs f on the Run goroutine and returns the state it shows afterwards.
func (a *Appliance) remote(ctx context.Context, f func(l *loop) error) (State, error) {
	type answer struct {
		s   State
		err error
	}
	reply := make(chan answer, 1)
	select {
	case a.results <- func(l *loop) { err := f(l); reply <- answer{l.state, err} }:
	case <-ctx.Done():
		return Off, ErrNotRunning
	}
	r := <-reply // f runs at once on the loop; it never blocks
	return r.s, r.err
}

// Press is a press of the talk button.
func (a *Appliance) Press(ctx context.Context) (State, error) {
	return a.remote(ctx, func(l *loop) error {
		if a.muted.Load() {
			l.a.log.Info("remote talk press ignored: muted")
			return ErrMuted
		}
		l.button(button.Event{Button: ButtonTalk, Kind: button.Press, Time: a.clock.Now()})
		return nil
	})
}

// Release is a release of the talk button (hold mode ends the turn; toggle mode
// ignores it, as it ignores the button's release).
func (a *Appliance) Release(ctx context.Context) (State, error) {
	return a.remote(ctx, func(l *loop) error {
		l.button(button.Event{Button: ButtonTalk, Kind: button.Release, Time: a.clock.Now()})
		return nil
	})
}

// Tap is a press and release of the talk button in one step: in toggle mode it starts
// or ends a turn; in hold mode it ends a live turn, or starts and at once ends an empty
// one (like a quick click of the button).
func (a *Appliance) Tap(ctx context.Context) (State, error) {
	return a.remote(ctx, func(l *loop) error {
		if a.muted.Load() {
			return ErrMuted
		}
		now := a.clock.Now()
		if l.a.cfg.TalkMode == Hold && l.talkLive {
			l.button(button.Event{Button: ButtonTalk, Kind: button.Release, Time: now})
			return nil
		}
		l.button(button.Event{Button: ButtonTalk, Kind: button.Press, Time: now})
		l.button(button.Event{Button: ButtonTalk, Kind: button.Release, Time: now})
		return nil
	})
}

// ErrNothingToCancel is returned by Cancel when no answer is on its way.
var ErrNothingToCancel = errors.New("nothing to cancel: no answer is being prepared or played")

// Cancel stops the answer being prepared or played (a barge-in without talking). While
// the user talks there is no answer to cancel: release (or mute) ends the turn.
func (a *Appliance) Cancel(ctx context.Context) (State, error) {
	return a.remote(ctx, func(l *loop) error {
		if l.sess == nil && l.rem.say != "" { // a prompt waiting for its session
			l.rem.say = ""
			l.turn = turnNone
			l.update("cancelled")
			return nil
		}
		if l.sess == nil || l.turn == turnNone {
			return ErrNothingToCancel
		}
		l.sess.Cancel()
		l.a.log.Info("remote cancel")
		l.turn = turnNone
		l.armIdle()
		l.update("cancelled")
		return nil
	})
}

// SetMuted mutes or unmutes the mic (like a click of the mute button when it changes
// the state; muting mid-turn ends the turn with what was said).
func (a *Appliance) SetMuted(ctx context.Context, muted bool) (State, error) {
	return a.remote(ctx, func(l *loop) error {
		if a.muted.Load() != muted {
			l.setMuted(muted)
		}
		return nil
	})
}

// SetVolume sets the speaker volume to v (0..1), or changes it by v when relative (the
// result is clamped to 0..1). It returns the new volume.
func (a *Appliance) SetVolume(ctx context.Context, v float64, relative bool) (float64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) || (!relative && (v < 0 || v > 1)) || (relative && (v < -1 || v > 1)) {
		return a.Volume(), fmt.Errorf("volume %g out of range (0..1, or a step -1..+1)", v)
	}
	var nv float64
	_, err := a.remote(ctx, func(l *loop) error {
		if relative {
			v += a.Volume()
		}
		nv = math.Round(math.Min(1, math.Max(0, v))*100) / 100
		a.volBits.Store(math.Float64bits(nv))
		l.a.log.Info("volume", "volume", nv, "by", "remote")
		l.publish()
		return nil
	})
	return nv, err
}

// sayer is the optional part of a Session that answers text prompts (*rtc.Session).
type sayer interface {
	Say(text string) error
}

// ErrTalkLive is returned by Say while the user is talking.
var ErrTalkLive = errors.New("talk is live: release first")

// Say asks the model to answer text aloud (an announcement, an automation's question).
// With no session open it connects first (the prompt waits for the connection); an
// answer in progress is cut off. It is refused while the user is talking.
func (a *Appliance) Say(ctx context.Context, text string) (State, error) {
	if text == "" {
		return Off, errors.New("say: empty text")
	}
	if len(text) > rtc.MaxSayText {
		return Off, fmt.Errorf("say: text of %d bytes is longer than %d", len(text), rtc.MaxSayText)
	}
	return a.remote(ctx, func(l *loop) error {
		if l.talkLive || l.pendingTurn {
			return ErrTalkLive
		}
		if l.sess == nil {
			if l.rem.say != "" {
				return errors.New("say: another prompt is waiting for the connection")
			}
			l.rem.say = text
			l.stopIdle()
			l.turn = turnThinking // shows connecting until the session is up
			l.connect("say")
			return nil
		}
		return l.say(l.sess, text)
	})
}

// say sends text on s and shows thinking (Run goroutine).
func (l *loop) say(s Session, text string) error {
	sy, ok := s.(sayer)
	if !ok {
		return errors.New("say: this session cannot answer text prompts")
	}
	if err := sy.Say(text); err != nil {
		return err
	}
	l.a.log.Info("say", "bytes", len(text))
	l.stopIdle()
	l.turn = turnThinking
	l.update("say")
	return nil
}

// remoteLoop is the remote triggers' state in the loop (Run goroutine only).
type remoteLoop struct {
	say string // a prompt waiting for the session being connected
}

// remoteConnected runs when a connect finished (Run goroutine): a prompt waiting for it
// is sent, or dropped (and reported) when the connect failed or talk was pressed.
func (l *loop) remoteConnected(s Session, err error) {
	text := l.rem.say
	l.rem.say = ""
	if text != "" {
		l.turn = turnNone // set again by say below when the prompt goes out
	}
	switch {
	case text == "":
	case err != nil:
		l.a.subs.publish(Event{Type: EventHealth, Detail: "say dropped: " + err.Error()})
	case l.talkLive || l.pendingTurn:
		l.a.subs.publish(Event{Type: EventHealth, Detail: "say dropped: talk was pressed"})
	default:
		if err := l.say(s, text); err != nil {
			l.a.subs.publish(Event{Type: EventHealth, Detail: "say dropped: " + err.Error()})
		}
	}
}

// ---- subscriptions ----

// Event types of a subscription.
const (
	EventState          = "state"           // the state changed (State, From, Reason; Detail for no-key/offline)
	EventTranscript     = "transcript"      // what the assistant said (Text)
	EventUserTranscript = "user-transcript" // what the user said (Text), when transcription is on
	EventHealth         = "health"          // a fault or a recovery (Detail)
)

// Event is one line of a subscription.
type Event struct {
	Type   string    `json:"type"`
	At     time.Time `json:"at"`
	State  string    `json:"state,omitempty"`
	From   string    `json:"from,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Text   string    `json:"text,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// MaxSubscribers bounds the open subscriptions; Subscribe fails beyond it.
const MaxSubscribers = 16

// subscriptionBuffer is how many events a subscriber may fall behind before it is
// dropped (Lagged).
const subscriptionBuffer = 256

// Subscription is a stream of Events. A subscriber that falls more than 256 events
// behind is dropped: C is closed and Lagged reports true. Close it when done.
type Subscription struct {
	C      <-chan Event
	c      chan Event
	h      *hub
	lagged bool // guarded by h.mu
	closed bool // guarded by h.mu
}

// Lagged reports whether the subscription was dropped for falling behind.
func (s *Subscription) Lagged() bool {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.lagged
}

// Close ends the subscription (C is closed). It is safe to call more than once.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	if s.closed {
		return
	}
	s.closed = true
	delete(s.h.subs, s)
	close(s.c)
}

// hub fans events out to the subscriptions. publish never blocks.
type hub struct {
	mu    sync.Mutex
	subs  map[*Subscription]struct{}
	clock func() time.Time
}

func (h *hub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	if ev.At.IsZero() {
		ev.At = h.clock()
	}
	for s := range h.subs {
		select {
		case s.c <- ev:
		default: // too far behind: drop it rather than block the appliance
			s.lagged = true
			s.closeLocked()
		}
	}
}

// ErrTooManySubscribers is returned by Subscribe beyond MaxSubscribers.
var ErrTooManySubscribers = fmt.Errorf("too many subscribers (at most %d)", MaxSubscribers)

// Subscribe starts a stream of state, transcript and health events. The first event is
// the current state.
func (a *Appliance) Subscribe() (*Subscription, error) {
	h := a.subs
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= MaxSubscribers {
		return nil, ErrTooManySubscribers
	}
	c := make(chan Event, subscriptionBuffer)
	s := &Subscription{C: c, c: c, h: h}
	st := a.Status()
	c <- Event{Type: EventState, At: h.clock(), State: st.StateName, Reason: st.Reason, Detail: st.Detail}
	h.subs[s] = struct{}{}
	return s, nil
}

// hookSubscribers makes d's OnTransition and OnEvent also feed the subscriptions
// (called by New).
func (a *Appliance) hookSubscribers(d *Deps) {
	a.subs = &hub{subs: map[*Subscription]struct{}{}, clock: a.clock.Now}
	onTr, onEv := d.OnTransition, d.OnEvent
	d.OnTransition = func(tr Transition) {
		ev := Event{Type: EventState, At: tr.At, State: tr.To.String(), From: tr.From.String(), Reason: tr.Reason}
		if tr.To == NoKey || tr.To == Offline || tr.To == Error {
			st := a.Status()
			ev.Detail = st.Detail
			if tr.To == Error {
				ev.Detail = fmt.Sprint(st.Audio)
			}
		}
		a.subs.publish(ev)
		switch {
		case tr.To == NoKey || tr.To == Offline || tr.To == Error:
			a.subs.publish(Event{Type: EventHealth, At: tr.At, State: tr.To.String(), Detail: ev.Detail})
		case tr.From == NoKey || tr.From == Offline || tr.From == Error:
			a.subs.publish(Event{Type: EventHealth, At: tr.At, State: tr.To.String(), Detail: "recovered from " + tr.From.String()})
		}
		if onTr != nil {
			onTr(tr)
		}
	}
	d.OnEvent = func(ev rtc.Event) {
		switch ev.Kind {
		case rtc.EventTranscriptDone:
			a.subs.publish(Event{Type: EventTranscript, Text: ev.Text})
		case rtc.EventUserTranscript:
			a.subs.publish(Event{Type: EventUserTranscript, Text: ev.Text})
		case rtc.EventError:
			a.subs.publish(Event{Type: EventHealth, Detail: errText(ev.Err, "session error")})
		case rtc.EventState:
			if ev.State == rtc.StateDisconnected || ev.State == rtc.StateReconnecting {
				a.subs.publish(Event{Type: EventHealth, Detail: "session " + ev.State.String() + ": " + errText(ev.Err, "connection lost")})
			}
		}
		if onEv != nil {
			onEv(ev)
		}
	}
}
