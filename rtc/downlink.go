package rtc

import (
	"errors"
	"io"
	"math"
	"math/bits"
	"os"
	"time"

	"github.com/edgevoice/edgevoice/rtc/jitter"
	"github.com/edgevoice/edgevoice/rtc/opus"
	"github.com/pion/interceptor"
)

// rtpSource is what the downlink reads RTP from: the connection's remote audio track
// (*webrtc.TrackRemote).
type rtpSource interface {
	Read(b []byte) (int, interceptor.Attributes, error)
	SetReadDeadline(t time.Time) error
}

// downlink reads the remote audio track of c until it ends: RTP → jitter buffer →
// Opus decode (FEC/PLC) → playout ring.
func (s *Session) downlink(c *conn, t rtpSource) {
	dec, err := opus.NewDecoder(sampleRate)
	if err != nil {
		s.emit(Event{Kind: EventError, Err: err})
		return
	}
	jb := jitter.New(s.cfg.jitDepth, 32)
	pcm := make([]float32, 5760) // 120 ms, the longest Opus packet
	buf := make([]byte, 1500)
	lastFrame := frameLen
	flushSeen := s.flushReq.Load()
	var lastArr time.Time
	var lastTS uint32
	var jit float64
	var badReads uint64 // unexpected read errors in a row
	for {
		_ = t.SetReadDeadline(time.Now().Add(time.Duration(s.cfg.jitDepth+1) * frameDur))
		n, _, err := t.Read(buf)
		if f := s.flushReq.Load(); f != flushSeen {
			flushSeen = f
			jb.Flush()
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// the stream went quiet: give up on a gap at its end
				if st, ok := jb.Expire(); ok {
					s.decodeStep(dec, st, pcm, &lastFrame)
					s.drainJitter(jb, dec, pcm, &lastFrame)
				}
				continue
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return // the track or the connection ended
			}
			// Anything else (a packet the track's interceptors or SRTP refused) is one
			// bad read, not the end of the track: giving up here left the rest of the
			// connection silent. Counted, logged at 1, 2, 4, 8, … in a row, and paced
			// by a frame when it repeats so that a read that keeps failing cannot spin.
			badReads++
			s.st.readErrors.Add(1)
			if bits.OnesCount64(badReads) == 1 {
				s.cfg.log.Warn("rtc: reading the audio track failed; reading on", "err", err, "in_a_row", badReads)
			}
			if badReads > 3 {
				time.Sleep(frameDur)
			}
			continue
		}
		badReads = 0
		s.st.packetsRecv.Add(1)
		s.st.bytesRecv.Add(uint64(n))
		if s.discard.Load() {
			s.st.discarded.Add(1)
			continue
		}
		if n < 12 {
			continue
		}
		hdr := 12 + 4*int(buf[0]&0x0f)
		if buf[0]&0x10 != 0 { // header extension
			if n < hdr+4 {
				continue
			}
			hdr += 4 + 4*(int(buf[hdr+2])<<8|int(buf[hdr+3]))
		}
		end := n
		if buf[0]&0x20 != 0 && n > 0 { // padding
			end -= int(buf[n-1])
		}
		if hdr >= end {
			continue
		}
		seq := uint16(buf[2])<<8 | uint16(buf[3])
		ts := uint32(buf[4])<<24 | uint32(buf[5])<<16 | uint32(buf[6])<<8 | uint32(buf[7])
		now := time.Now()
		if !lastArr.IsZero() {
			// RFC 3550 A.8: D = (arrival difference − timestamp difference), J += (|D| − J)/16
			dd := float64(now.Sub(lastArr))/float64(time.Second)*48000 - float64(int32(ts-lastTS))
			jit += (math.Abs(dd) - jit) / 16
			s.st.jitterNS.Store(int64(jit / 48000 * float64(time.Second)))
		}
		lastArr, lastTS = now, ts
		jb.Push(seq, buf[hdr:end])
		s.drainJitter(jb, dec, pcm, &lastFrame)
		s.st.setJitter(jb.Stats())
	}
}

func (s *Session) drainJitter(jb *jitter.Buffer, dec opus.Decoder, pcm []float32, lastFrame *int) {
	for {
		st, ok := jb.Pop()
		if !ok {
			return
		}
		s.decodeStep(dec, st, pcm, lastFrame)
	}
}

func (s *Session) decodeStep(dec opus.Decoder, st jitter.Step, pcm []float32, lastFrame *int) {
	var n int
	var err error
	switch st.Kind {
	case jitter.KindPacket:
		n, err = dec.Decode(st.Payload, pcm)
		if err == nil {
			*lastFrame = n
		}
	case jitter.KindFEC:
		if opus.HasFEC(st.Payload) {
			n, err = dec.DecodeFEC(st.Payload, pcm, *lastFrame)
			s.st.recovered.Add(1)
		} else {
			n, err = dec.Conceal(pcm, *lastFrame)
			s.st.concealedSamples.Add(uint64(*lastFrame))
		}
	case jitter.KindConceal:
		n, err = dec.Conceal(pcm, *lastFrame)
		s.st.concealedSamples.Add(uint64(*lastFrame))
	}
	if err != nil {
		s.st.decodeErrors.Add(1)
		return
	}
	if s.discard.Load() {
		return
	}
	if w := s.play.Write(pcm[:n]); w < n {
		s.st.playOverruns.Add(uint64(n - w))
	}
	s.st.decodedSamples.Add(uint64(n))
}

// ReadSpeaker fills dst with mono float32 speaker audio at 48 kHz and returns how many
// samples are real audio; the rest of dst is silence (counted in Stats). It never
// blocks or allocates. After a barge-in it plays nothing of the cancelled response.
func (s *Session) ReadSpeaker(dst []float32) int {
	if f := s.flushReq.Load(); f != s.flushSeen || s.discard.Load() {
		s.flushSeen = f
		s.play.Reset()
		s.playing = false
		clear(dst)
		s.st.silenceSamples.Add(uint64(len(dst)))
		return 0
	}
	if !s.playing {
		if s.play.Len() < max(s.prebuf, 1) {
			clear(dst)
			s.st.silenceSamples.Add(uint64(len(dst)))
			return 0
		}
		s.playing = true
	}
	n := s.play.Read(dst)
	if n < len(dst) {
		clear(dst[n:])
		s.playing = false
		s.st.silenceSamples.Add(uint64(len(dst) - n))
		if n > 0 {
			s.st.playUnderruns.Add(1)
		}
	}
	s.st.playedSamples.Add(uint64(n))
	return n
}
