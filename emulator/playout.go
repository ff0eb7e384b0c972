package emulator

import (
	"fmt"
	"time"
)

// Playout: a real realtime service is built on libwebrtc, whose receiver (NetEq) puts
// incoming RTP packets into a jitter buffer and plays them out at real time, paced by
// the audio device's clock; the service's input buffer (what a commit turns into a user
// item, what its VAD hears) grows only as audio is played. Audio that arrives faster
// than real time (a pre-roll sent as a catch-up after a slow connect) waits in the
// jitter buffer, and a commit that comes before the tail has played leaves the tail
// out of the turn. The emulator models that: each received packet is scheduled by its
// RTP timestamp on a playout timeline that runs at 1× real time and starts playoutDelay
// after the first packet of a talk spurt arrives (and again after the buffer ran dry);
// a packet reaches the input buffer (and the VAD) once its whole duration has played.
// NetEq's time stretching (accelerate when the buffer is fuller than its target) is
// not modelled: the buffer drains at exactly 1×.

// DefaultPlayoutDelay is the jitter buffer's delay before the first packet of a talk
// spurt plays (NetEq starts at a target of about 80 ms and adapts down on a clean
// network; 60 ms sits between).
const DefaultPlayoutDelay = 60 * time.Millisecond

// maxPlayoutGap is the longest RTP timestamp gap played as concealment; a longer one
// (the sender paused) restarts the timeline like a new talk spurt.
const maxPlayoutGap = time.Second

// WithPlayoutDelay sets the jitter buffer's delay before a talk spurt plays (0..1 s,
// default DefaultPlayoutDelay).
func WithPlayoutDelay(d time.Duration) Option {
	return func(s *Server) error {
		if d < 0 || d > time.Second {
			return fmt.Errorf("emulator: playout delay %v out of 0..1s", d)
		}
		s.playoutDelay = d
		s.playoutDelaySet = true
		return nil
	}
}

// queuedPacket is a received packet waiting to be played.
type queuedPacket struct {
	payload []byte
	dur     time.Duration
	end     time.Time // when it has played out
}

// playout is a call's jitter buffer. Its fields are guarded by call.mu.
type playout struct {
	q       []queuedPacket
	queued  time.Duration // sum of q's durations
	end     time.Time     // when everything scheduled has played (zero: nothing yet)
	nextTS  uint32        // RTP timestamp after the last scheduled packet
	started bool          // the player goroutine runs
	kick    chan struct{}
}

// receiveLocked schedules one received packet (ts is its RTP timestamp at 48 kHz).
// c.mu must be held. It returns false for a packet that is too late to be played (its
// timestamp is behind what already played), which is dropped like NetEq drops it.
func (c *call) receiveLocked(p []byte, ts uint32, d time.Duration, now time.Time) bool {
	po := &c.po
	var start time.Time
	switch gap := time.Duration(int32(ts-po.nextTS)) * time.Second / 48000; {
	case po.end.IsZero() || !now.Before(po.end):
		// first packet, or the buffer ran dry: a new talk spurt
		start = now.Add(c.s.playoutDelay)
	case gap < 0:
		c.st.LatePackets++
		return false
	case gap <= maxPlayoutGap:
		start = po.end.Add(gap) // a lost packet or DTX: concealment fills the gap
	default:
		start = po.end
	}
	if d <= 0 {
		d = 20 * time.Millisecond
	}
	po.end = start.Add(d)
	po.nextTS = ts + uint32(d*48000/time.Second)
	po.q = append(po.q, queuedPacket{payload: p, dur: d, end: po.end})
	po.queued += d
	c.st.Queued = po.queued
	if !po.started {
		po.kick = make(chan struct{}, 1)
		po.started = c.goLocked(c.player)
	}
	select {
	case po.kick <- struct{}{}:
	default:
	}
	return true
}

// playLocked moves every packet that has played by now into the input buffer (and
// through the VAD). c.mu must be held. It reports whether anything played.
func (c *call) playLocked(now time.Time) bool {
	po := &c.po
	n := 0
	for n < len(po.q) && !po.q[n].end.After(now) {
		qp := po.q[n]
		po.q[n] = queuedPacket{}
		n++
		po.queued -= qp.dur
		c.st.Played += qp.dur
		if len(c.buf) < maxTurnPackets {
			c.buf = append(c.buf, qp.payload)
			c.bufDur += qp.dur
		}
		if c.s.vad != nil {
			c.vadLocked(qp.payload, qp.dur)
		}
	}
	if n == 0 {
		return false
	}
	po.q = po.q[n:]
	if len(po.q) == 0 {
		po.q = nil
	}
	c.st.Queued = po.queued
	return true
}

// player plays the jitter buffer out at real time until the call ends.
func (c *call) player() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.mu.Lock()
		played := c.playLocked(time.Now())
		var wait time.Duration = -1
		if len(c.po.q) > 0 {
			wait = time.Until(c.po.q[0].end)
		}
		kick := c.po.kick
		c.mu.Unlock()
		if played {
			c.notify()
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-c.done:
			return
		case <-kick:
		case <-timer.C:
		}
		if wait >= 0 && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}
