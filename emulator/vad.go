package emulator

import (
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// SpeechDetector says whether one Opus packet holds speech. The default,
// PacketSizeDetector(24), needs no decoder: libopus codes digital silence and
// near-silence in a few bytes and speech in tens of bytes.
type SpeechDetector func(payload []byte) bool

// PacketSizeDetector counts packets longer than minBytes as speech.
func PacketSizeDetector(minBytes int) SpeechDetector {
	return func(p []byte) bool { return len(p) > minBytes }
}

// WithServerVAD makes the emulator act on server_vad and semantic_vad sessions: it
// detects speech in the received packets with detect (nil = PacketSizeDetector(24)),
// sends input_audio_buffer.speech_started (cancelling a playing response when
// interrupt_response is not false: output_audio_buffer.cleared, response.done
// cancelled with reason turn_detected), and after the silence duration
// speech_stopped, the commit and, unless create_response is false, a response.
// Without this option the emulator never detects speech (push-to-talk only).
func WithServerVAD(detect SpeechDetector) Option {
	return func(s *Server) error {
		if detect == nil {
			detect = PacketSizeDetector(24)
		}
		s.vad = detect
		return nil
	}
}

// speechStartMin is how much speech starts a turn.
const speechStartMin = 60 * time.Millisecond

type vadState struct {
	pos      time.Duration // audio received so far
	speaking bool
	run      time.Duration // current run of speech (not speaking) or silence (speaking)
	item     string        // item id announced in speech_started
}

// silenceFor is how long a pause ends a turn.
func silenceFor(td events.TurnDetection) time.Duration {
	switch td.Type {
	case events.TurnDetectionServerVAD:
		if td.SilenceDurationMS > 0 {
			return time.Duration(td.SilenceDurationMS) * time.Millisecond
		}
		return 500 * time.Millisecond
	case events.TurnDetectionSemanticVAD:
		switch td.Eagerness {
		case events.EagernessHigh:
			return 300 * time.Millisecond
		case events.EagernessLow:
			return 1500 * time.Millisecond
		}
		return 700 * time.Millisecond
	}
	return 0
}

// vadLocked runs the detector on one received packet (already appended to c.buf).
func (c *call) vadLocked(p []byte, d time.Duration) {
	td := c.st.Session.TurnDetection
	v := &c.vad
	v.pos += d
	if td.Type != events.TurnDetectionServerVAD && td.Type != events.TurnDetectionSemanticVAD {
		v.speaking, v.run = false, 0
		return
	}
	speech := c.s.vad(p)
	if !v.speaking {
		if !speech {
			v.run = 0
			// keep only the prefix padding before speech
			prefix := 300 * time.Millisecond
			if td.PrefixPaddingMS > 0 {
				prefix = time.Duration(td.PrefixPaddingMS) * time.Millisecond
			}
			for c.bufDur > prefix && len(c.buf) > 0 {
				c.bufDur -= opusDuration(c.buf[0])
				c.buf = c.buf[1:]
			}
			return
		}
		v.run += d
		if v.run < speechStartMin {
			return
		}
		v.speaking, v.run = true, 0
		v.item = fmt.Sprintf("item_%s_%d", c.id[4:], c.nItem+1)
		c.sendLocked(events.SpeechStarted{ItemID: v.item, AudioStartMS: int((v.pos - c.bufDur).Milliseconds())})
		if p := c.cv.playout; p != nil && (td.InterruptResponse == nil || *td.InterruptResponse) {
			c.stopPlayoutLocked()
			c.sendLocked(events.OutputAudioBufferCleared{ResponseID: p.id})
		}
		if c.resp != nil && (td.InterruptResponse == nil || *td.InterruptResponse) {
			id, audio := c.resp.id, c.resp.audio
			if audio {
				c.sendLocked(events.OutputAudioBufferCleared{ResponseID: id})
			}
			c.finishLocked(events.StatusCancelled, "turn_detected")
		}
		return
	}
	if speech {
		v.run = 0
		return
	}
	v.run += d
	if v.run < silenceFor(td) {
		return
	}
	v.speaking, v.run = false, 0
	c.sendLocked(events.SpeechStopped{ItemID: v.item, AudioEndMS: int(v.pos.Milliseconds())})
	c.commitLocked()
	if (td.CreateResponse == nil || *td.CreateResponse) && c.resp == nil {
		c.startResponseLocked()
	}
}
