package rtc

import (
	"context"
	"time"

	"github.com/edgevoice/edgevoice/rtc/opus"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// upTarget is where the uplink sends: the bound track of the current connection.
type upTarget struct {
	track *webrtc.TrackLocalStaticSample
	c     *conn
}

// WriteMic queues mono float32 mic audio at 48 kHz, any chunk size. It never blocks
// and never allocates. Audio is kept only while a turn is live (pressed, or always with
// server/semantic VAD); before the connection is up the newest PreRoll of it is kept.
func (s *Session) WriteMic(pcm []float32) {
	if !s.micLive.Load() {
		return
	}
	s.mic.Write(pcm)
}

func (s *Session) kickUplink() {
	select {
	case s.upKick <- struct{}{}:
	default:
	}
}

// uplinker is the state of the uplink goroutine.
type uplinker struct {
	s        *Session
	frame    [frameLen]float32
	pkt      [opus.MaxPacket]byte
	tokens   float64
	last     time.Time
	released uint64 // release generation drained
	pace     pacer  // media time sent (commit.go)
	now      time.Time
	dropped  uint64    // turn-drop generation done
	wsTgt    *upTarget // the WebSocket target last sent on (ws.go)
}

// uplink sends mic frames while there is a target: live frames as soon as they are
// complete, a backlog (pre-roll) at catchUp × real time.
func (s *Session) uplink(ctx context.Context) {
	u := &uplinker{s: s, tokens: 2}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := u.step()
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.mic.Notify():
		case <-s.upKick:
		case <-timer.C:
		}
		if wait > 0 && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// step sends what it may and returns how long to wait for the next token (0 = wait
// for new audio).
func (u *uplinker) step() time.Duration {
	s := u.s
	if g := s.upDrop.Load(); g != u.dropped { // a turn was lost with its connection
		u.dropped = g
		s.mic.Reset()
		u.released = s.upRelease.Load()
	}
	tgt := s.upTrack.Load()
	if tgt == nil {
		return 0
	}
	if tgt.c.ws != nil {
		return u.stepWS(tgt) // ws.go
	}
	now := time.Now()
	u.now = now
	if !u.last.IsZero() {
		u.tokens += float64(now.Sub(u.last)) / float64(frameDur) * s.cfg.catchUp
	}
	u.last = now
	if u.tokens > 3 {
		u.tokens = 3
	}
	for s.mic.Len() >= frameLen {
		if u.tokens < 1 {
			return time.Duration((1 - u.tokens) / s.cfg.catchUp * float64(frameDur))
		}
		if w := u.pace.hold(tgt, now, s.cfg.maxLead); w > 0 {
			return w
		}
		u.tokens--
		s.mic.Read(u.frame[:])
		u.send(tgt)
	}
	// Release: send the last partial frame, then report the drain.
	if gen := s.upRelease.Load(); gen != u.released && !s.micLive.Load() {
		if n := s.mic.Read(u.frame[:]); n > 0 {
			clear(u.frame[n:])
			u.send(tgt)
		}
		u.released = gen
		s.pace.leadAtDrain.Store(int64(u.pace.lead(tgt, now)))
		select {
		case s.inbox <- connMsg{kind: msgDrained, gen: gen}:
		case <-tgt.c.done:
		}
	}
	return 0
}

// send encodes and writes one frame. It does not allocate in this package.
func (u *uplinker) send(tgt *upTarget) {
	s := u.s
	n, err := s.enc.Encode(u.frame[:], u.pkt[:])
	if err != nil {
		s.st.encodeErrors.Add(1)
		return
	}
	if err := tgt.track.WriteSample(media.Sample{Data: u.pkt[:n], Duration: frameDur}); err != nil {
		s.st.sendErrors.Add(1)
		return
	}
	u.pace.sent(tgt, u.now, frameDur)
	s.st.packetsSent.Add(1)
	s.st.bytesSent.Add(uint64(n))
	if at := s.pressAt.Swap(0); at != 0 {
		s.st.pressToFirst.Store(time.Now().UnixNano() - at)
	}
}
