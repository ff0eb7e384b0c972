package appliance

// Issue 13 tests of the state machine: toggle + server VAD (the stop tap closes the
// mic, the LEDs follow the session's mic and show the answer), and how soon an outage
// of the key daemon's mint ends on the LEDs.

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v5/test"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc"
)

func (u *unit) micMark() bool {
	u.led.mu.Lock()
	defer u.led.mu.Unlock()
	return u.led.micLive
}

// TestUnitToggleVAD: in toggle mode with server VAD the first tap opens the mic (a
// conversation), the service's VAD ends each turn (thinking, speaking shown while the
// mic stays open, the mic-live mark from the session), and the stop tap closes the mic
// and starts the idle timer.
func TestUnitToggleVAD(t *testing.T) {
	defer test.CheckRoutines(t)()
	u := newUnit(t, Config{TalkMode: Toggle, VAD: true, IdleTimeout: 20 * time.Second})
	u.startIdle()
	s := u.connectTalk()
	s.event(rtc.EventListening) // the session opened the mic
	s.event(rtc.EventSpeechStarted)
	s.event(rtc.EventSpeechStopped)
	s.event(rtc.EventThinking) // the service's VAD committed the turn
	u.waitState(Thinking)
	if !u.micMark() {
		t.Error("mic-live mark off while the conversation's mic is open")
	}
	s.event(rtc.EventSpeakingStarted)
	u.waitState(Speaking)
	s.event(rtc.EventSpeakingStopped)
	u.waitState(Listening)
	u.btn(ButtonTalk, button.Press, 0) // the stop tap
	u.waitState(Idle)
	checkCalls(t, s, "start", "press", "release")
	s.event(rtc.EventMicClosed)
	deadline := time.Now().Add(unitDeadline)
	for u.micMark() {
		if time.Now().After(deadline) {
			t.Fatal("mic-live mark still on after the session closed the mic")
		}
		time.Sleep(time.Millisecond)
	}
	// The idle timer runs from the stop tap.
	u.waiters(1)
	u.clk.Advance(20 * time.Second)
	waitClosed(t, s)
	u.stop()
}

// readyKeys is a key source that can tell whether a key is ready without asking for
// one (like the key daemon's status).
type readyKeys struct {
	rtc.KeySource
	ready atomic.Bool
	polls atomic.Int32
}

func (k *readyKeys) KeyReady(context.Context) (bool, error) {
	k.polls.Add(1)
	return k.ready.Load(), nil
}

// TestUnitOutageEndsWithinTwoSeconds: after a mint outage, the appliance shows idle with a
// key within 2 s (fake clock) of the key daemon having one, however far the re-check
// backoff has grown and with a press while offline.
func TestUnitOutageEndsWithinTwoSeconds(t *testing.T) {
	defer test.CheckRoutines(t)()
	var rk *readyKeys
	u := newUnitWith(t, Config{RecheckMin: time.Second, RecheckEvery: 30 * time.Second}, func(k rtc.KeySource) rtc.KeySource {
		rk = &readyKeys{KeySource: k}
		return rk
	})
	outage := realtime.ErrKeyUnavailable
	u.answer(outage)
	u.waitState(Offline)
	// Let the backoff grow (1, 2, 4, 8 s), answering every key request with the outage.
	deadline := u.clk.Now().Add(15 * time.Second)
	for u.clk.Now().Before(deadline) {
		select {
		case r := <-u.keys:
			r.reply <- keyRes{err: outage}
		default:
		}
		u.clk.Advance(100 * time.Millisecond)
		time.Sleep(time.Millisecond) // let the loop take the timers' news
	}
	u.btn(ButtonTalk, button.Press, 0) // a press while offline
	u.btn(ButtonTalk, button.Release, 0)
	u.answer(outage) // still offline: no transition
	for {
		select {
		case r := <-u.keys:
			r.reply <- keyRes{err: outage}
			continue
		default:
		}
		break
	}
	rk.ready.Store(true) // the key daemon has a key again
	t0 := u.clk.Now()
	var got keyReq
	for got.reply == nil {
		if u.clk.Now().Sub(t0) > 60*time.Second {
			t.Fatalf("no key request within 60 s (fake) of the key daemon having a key")
		}
		select {
		case got = <-u.keys:
			continue
		case <-time.After(2 * time.Millisecond):
		}
		u.clk.Advance(100 * time.Millisecond)
	}
	took := got.at.Sub(t0)
	got.reply <- keyRes{key: realtime.Key{Value: "ek_test", Profile: "openai", MintedAt: u.clk.Now(), ExpiresAt: u.clk.Now().Add(time.Minute)}}
	u.waitState(Idle)
	t.Logf("key daemon has a key → appliance asks for it: %v (fake clock); status polls %d", took, rk.polls.Load())
	if took > 2*time.Second {
		t.Errorf("idle with a key %v after the key daemon had one, want ≤ 2 s", took)
	}
	u.stop()
}

// TestStatusShowsRateLimitsAndExpiry: the session's rate limits, expiry and renewals
// reach the status (edgevoice status, the control socket).
func TestStatusShowsRateLimitsAndExpiry(t *testing.T) {
	exp := time.Unix(1800000000, 0)
	st := sessionStatus(rtc.Stats{Renewals: 2, ExpiresAt: exp, RateLimits: []rtc.RateLimit{{Name: "tokens", Limit: 10, Remaining: 3}}})
	if st.Renewals != 2 || !st.ExpiresAt.Equal(exp) || len(st.RateLimits) != 1 || st.RateLimits[0].Remaining != 3 {
		t.Errorf("status %+v", st)
	}
}
