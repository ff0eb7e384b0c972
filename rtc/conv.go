package rtc

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
)

// errRenew ends a connection whose session nears its expires_at, between turns: the
// run loop reconnects at once, without a backoff and without announcing it.
var errRenew = errors.New("rtc: renewing the session before it expires")

// convTurn is the turn state that concerns several connections.
type convTurn struct {
	// clearFirst: a turn was lost with the last connection; the next one starts with
	// input_audio_buffer.clear before any audio.
	clearFirst bool
	// vadSpeech: under server VAD, speech_started was seen and not yet stopped or
	// committed: the service holds speech it has not committed.
	vadSpeech bool
	// awaitResp: a response was asked for (response.create, or the service's VAD ended a
	// turn) and response.created has not come yet.
	awaitResp bool
}

// convConn is the per-connection state of the same (run loop only, except key and
// dcClosed, which are set before the connection is shared).
type convConn struct {
	key          realtime.Key
	dcClosed     chan struct{} // closed when the data channel reports closed
	dcCloseOnce  sync.Once
	awaitCleared bool      // input_audio_buffer.clear sent on open; audio waits for cleared
	expiresAt    time.Time // the service's session.expires_at (zero: not given)
	renewArmed   bool
	renewDue     bool
	nextEvent    uint64
	sent         [16]sentEvent // the last client events, for tying an error to its cause
}

type sentEvent struct {
	id   string
	name string
}

// turnIdle reports whether no turn is in progress: nothing pressed, nothing waiting to
// be committed, no response running or playing.
func turnIdle(t *turn) bool {
	return !t.pressed && !t.awaitDrain && t.settle == nil && !t.responding && !t.speaking && !t.conv.vadSpeech && !t.conv.awaitResp
}

// dropLostTurn runs when a connection ends: a turn released but not yet committed is
// lost with it (the rest of its audio is dropped, nothing is committed on the next
// connection), and the next connection clears the input buffer before any audio. A
// press still held carries over to the next connection as a fresh press.
func (s *Session) dropLostTurn(t *turn) {
	t.conv.clearFirst = true
	t.conv.vadSpeech, t.conv.awaitResp = false, false
	if !t.awaitDrain && t.settle == nil {
		return
	}
	t.awaitDrain = false
	if t.settle != nil {
		t.settle.Stop()
		t.settle = nil
	}
	s.upDrop.Add(1)
	s.kickUplink()
	s.cfg.log.Info("rtc: the connection ended before the turn was committed; the turn is dropped")
}

// setExpiry records the session's expires_at (unix seconds; 0 = not given).
func (c *conn) setExpiry(unix int64) {
	if unix <= 0 {
		return
	}
	at := time.Unix(unix, 0)
	if !at.Equal(c.expiresAt) {
		c.expiresAt, c.renewArmed = at, false
		c.s.st.setExpiresAt(at)
	}
}

// armRenew returns a timer channel that fires RenewMargin before the session expires,
// but not before the connection is RenewMargin (at most 10 s) old or halfway to the
// expiry, so sessions shorter than the margin are not renewed in a loop; nil when the
// session has (nearly) expired already: the service ends it, and the session
// reconnects as after any loss.
func (s *Session) armRenew(c *conn) <-chan time.Time {
	c.renewArmed = true
	now := time.Now()
	left := c.expiresAt.Sub(now)
	if left <= 0 {
		return nil
	}
	age := now.Sub(c.dialStart)
	wait := max(left-s.cfg.renewMargin, left/2, min(s.cfg.renewMargin, 10*time.Second)-age, 0)
	if wait >= left {
		return nil
	}
	s.cfg.log.Debug("rtc: session expires", "at", c.expiresAt, "renew_in", wait)
	return time.After(wait)
}

// tagEvent gives a client event an event_id and remembers it, so an error the service
// answers with (error.event_id) names its cause.
func (c *conn) tagEvent(ev events.Event) events.Event {
	if !ev.Type().IsClient() {
		return ev
	}
	c.nextEvent++
	id := "evt_" + strconv.FormatUint(c.nextEvent, 10)
	c.sent[c.nextEvent%uint64(len(c.sent))] = sentEvent{id: id, name: ev.Type().Name(c.dialect)}
	return events.WithClientEventID(ev, id)
}

// causeName returns the wire name of the recent client event with this event_id ("" if
// none).
func (c *conn) causeName(id string) string {
	if id == "" {
		return ""
	}
	if i := slices.IndexFunc(c.sent[:], func(x sentEvent) bool { return x.id == id }); i >= 0 {
		return c.sent[i].name
	}
	return ""
}

// serverError describes a server error event, with the client event that caused it
// when the service names one we sent recently.
func (c *conn) serverError(e events.Error) error {
	cause := ""
	if id := e.Error.ClientEventID; id != "" {
		cause = " caused by " + id
		if name := c.causeName(id); name != "" {
			cause = " caused by " + name + " (" + id + ")"
		}
	}
	c.s.cfg.log.Warn("rtc: server error", "code", e.Error.Code, "type", e.Error.Type, "message", e.Error.Message, "client_event", e.Error.ClientEventID, "cause", cause)
	return fmt.Errorf("rtc: server error%s: %s (type %s, code %s)", cause, e.Error.Message, e.Error.Type, e.Error.Code)
}

// RateLimit is one entry of the service's last rate_limits.updated.
type RateLimit = events.RateLimit

func (c *statsCounters) setRateLimits(r []events.RateLimit) {
	c.mu.Lock()
	c.rateLimits = slices.Clone(r)
	c.mu.Unlock()
}

func (c *statsCounters) setExpiresAt(at time.Time) {
	c.mu.Lock()
	c.expiresAt = at
	c.mu.Unlock()
}

// MicLive reports whether mic audio written now is kept and sent: from Press to Release
// (also under server VAD, where the service decides where each turn ends while the mic
// is open).
func (s *Session) MicLive() bool { return s.micLive.Load() }
