package rtc

import (
	"fmt"
	"sync/atomic"
	"time"
)

// The commit rule. The service is libwebrtc-based: its receiver puts our RTP packets
// in a jitter buffer and plays them out at real time, and its input buffer (what
// input_audio_buffer.commit turns into the user's item) holds only what has played. A
// backlog sent faster than real time (the pre-roll after a slow connect, sent at
// CatchUp × real time) is therefore still queued at the receiver when its last packet
// leaves here: a commit settle after that last packet would cut off the tail of the
// turn. Two ways to lose nothing:
//
//   - CommitAfterMedia (the default): Release waits until the media time of what was
//     sent has elapsed (as the receiver plays it, starting when the first packet of a
//     talk spurt was sent) plus the settle, which covers the network, the receiver's
//     jitter buffer delay and the last packet's own duration (so at real time, where
//     the lead is at most one frame, the wait is the settle alone, as before).
//   - WithUplinkLead: the uplink never runs more than a bound ahead of real time, so
//     the receiver's queue stays short and a commit a settle after the last packet
//     covers it (the settle must exceed the lead plus the receiver's delay).
//
// Measured (rtc TestMeasureCommitRule, EDGEVOICE_MEASURE=1; a 2.0 s turn said at real
// time, 3 runs each, 2026-12-06): warm, every rule commits all of it and release →
// first answer audio is 192–219 ms against the emulator (release → response.done
// 151–155 ms against the libwebrtc peer). After a 1.5 s SDP delay the old rule commits
// 1.06 s (catch_up 2) or 1.86 s (1.1) of it on the emulator, 1.32 s / 1.98 s of media on
// the libwebrtc peer; CommitAfterMedia commits all of it (1637–1690 ms to the answer;
// 1945–1989 ms to response.done on the libwebrtc peer); a lead bound of 50 ms is ~50 ms
// quicker only because its margin over the receiver is that much thinner, and with the
// same margin (settle 220 ms) it is 15–30 ms slower and costs 70 ms on every warm turn.
// The receiver plays at 1× (the libwebrtc peer's NetEq even accelerates a full buffer),
// so no rule can commit much before the turn's media time has elapsed. CommitAfterMedia
// is the default and the lead is unbounded (which also lets the backlog drain, so the
// live audio of a long turn is not left late).

// CommitRule says when Release commits the turn.
type CommitRule int

const (
	// CommitAfterMedia commits once the audio sent has played at real time at the
	// receiver (its media time elapsed since the talk spurt began) plus the settle.
	CommitAfterMedia CommitRule = iota
	// CommitAfterLastPacket commits the settle after the last packet was sent, however
	// far ahead of real time the uplink ran (the rule before issue 13; it loses the
	// tail of a catch-up unless WithUplinkLead bounds the lead).
	CommitAfterLastPacket
)

func (r CommitRule) String() string {
	switch r {
	case CommitAfterMedia:
		return "after-media"
	case CommitAfterLastPacket:
		return "after-last-packet"
	}
	return fmt.Sprintf("CommitRule(%d)", int(r))
}

// WithCommitRule sets when Release commits (default CommitAfterMedia).
func WithCommitRule(r CommitRule) Option {
	return func(s *Session) error {
		if r != CommitAfterMedia && r != CommitAfterLastPacket {
			return fmt.Errorf("rtc: unknown commit rule %d", int(r))
		}
		s.cfg.commitRule = r
		return nil
	}
}

// WithUplinkLead bounds how far the uplink's media time may run ahead of real time
// while it sends a backlog (0 = no bound, the default; else 10 ms .. 10 s). The backlog
// is still sent at up to CatchUp × real time until the lead reaches the bound.
func WithUplinkLead(max time.Duration) Option {
	return func(s *Session) error {
		if max != 0 && (max < 10*time.Millisecond || max > 10*time.Second) {
			return fmt.Errorf("rtc: uplink lead %v out of range (0, or 10ms..10s)", max)
		}
		s.cfg.maxLead = max
		return nil
	}
}

// pacer follows the media time of what the uplink sent on one target: the receiver
// plays a talk spurt at real time from its first packet, so mediaEnd (when it will
// have played the last packet sent, ignoring the network and its jitter buffer) moves
// by each frame's duration, and restarts at now after a pause. Uplink goroutine only.
type pacer struct {
	tgt      *upTarget
	mediaEnd time.Time
}

// lead returns how far the media time sent runs ahead of now on tgt (0 if not ahead).
func (p *pacer) lead(tgt *upTarget, now time.Time) time.Duration {
	if p.tgt != tgt || p.mediaEnd.IsZero() {
		return 0
	}
	return max(0, p.mediaEnd.Sub(now))
}

// sent records a frame of d sent on tgt at now.
func (p *pacer) sent(tgt *upTarget, now time.Time, d time.Duration) {
	if p.tgt != tgt || p.mediaEnd.Before(now) {
		p.tgt, p.mediaEnd = tgt, now
	}
	p.mediaEnd = p.mediaEnd.Add(d)
}

// hold returns how long the uplink must wait before it sends the next frame so that
// its lead stays within maxLead (0 = send now).
func (p *pacer) hold(tgt *upTarget, now time.Time, maxLead time.Duration) time.Duration {
	if maxLead <= 0 {
		return 0
	}
	if l := p.lead(tgt, now); l > maxLead {
		return l - maxLead
	}
	return 0
}

// commitPace is the release's view of the uplink's lead, handed from the uplink
// goroutine (at the drain) to the run loop (which starts the settle timer).
type commitPace struct {
	leadAtDrain atomic.Int64 // ns
	lastWait    atomic.Int64 // ns, the last release's wait before the commit (Stats)
}

// commitWait returns how long after the drain Release waits before it commits.
func (s *Session) commitWait() time.Duration {
	w := s.cfg.settle
	if s.cfg.commitRule == CommitAfterMedia {
		// Sent at real time, the last frame's media runs up to one frame ahead when it
		// leaves, and the settle after it always covered that; only a larger lead (a
		// catch-up) is added.
		w += max(0, time.Duration(s.pace.leadAtDrain.Load())-frameDur)
	}
	s.pace.lastWait.Store(int64(w))
	return w
}
