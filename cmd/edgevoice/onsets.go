package main

import (
	"log/slog"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/rtc/opus"
	"github.com/pion/rtp"
)

// Onset logging for latency measurements (`edgevoice emulator --onsets`; lab/README.md,
// "Latency"): the emulator decodes the Opus packets of each call, both those it receives
// (the device's mic) and those it sends (its answer), and logs one line per audio onset,
// the first sample above onsetLevel after at least onsetQuiet of audio below it:
//
//	msg="audio onset" dir=in call=rtc_000003 seq=812 at_us=1733500000123456 offset_us=13500
//
// at_us is the wall clock (µs since the epoch) at which the packet carrying the onset was
// received (dir=in) or written to the track (dir=out); offset_us is where the onset lies
// in the packet's decoded audio. A tone burst played into the device's mic at a known
// instant and the in line of the packet that carries it give mic → RTP; the out line's
// at_us + offset_us and the instant the burst is heard on the device's speaker give RTP →
// speaker.
const (
	onsetLevel = 0.1 // -20 dBFS
	onsetQuiet = 100 * time.Millisecond
	onsetRate  = 48000
)

// onsetDetector finds onsets in one stream of decoded audio.
type onsetDetector struct {
	dec   opus.Decoder
	pcm   []float32
	quiet int // samples below onsetLevel since the last one above (capped)
}

func newOnsetDetector() (*onsetDetector, error) {
	dec, err := opus.NewDecoder(onsetRate)
	if err != nil {
		return nil, err
	}
	return &onsetDetector{dec: dec, pcm: make([]float32, onsetRate*120/1000)}, nil
}

// packet decodes one packet and returns the sample offset of the first onset in it, or -1.
func (d *onsetDetector) packet(payload []byte) (int, error) {
	n, err := d.dec.Decode(payload, d.pcm)
	if err != nil {
		return -1, err
	}
	return d.samples(d.pcm[:n]), nil
}

// samples scans decoded audio for the first onset; -1 if there is none.
func (d *onsetDetector) samples(pcm []float32) int {
	need := int(onsetQuiet * onsetRate / time.Second)
	at := -1
	for i, v := range pcm {
		if v >= onsetLevel || v <= -onsetLevel {
			if d.quiet >= need && at < 0 {
				at = i
			}
			d.quiet = 0
		} else if d.quiet < need {
			d.quiet++
		}
	}
	return at
}

// onsetLog is the emulator's packet and send hook for --onsets: a detector per call and
// direction, lines on log. A response starts its own stream (a fresh detector), so the
// answer's first onset is found even when it follows the previous answer closely.
type onsetLog struct {
	log *slog.Logger
	mu  sync.Mutex
	det map[string]*onsetDetector // "in/" or "out/" + call id
}

func newOnsetLog(log *slog.Logger) *onsetLog {
	return &onsetLog{log: log, det: map[string]*onsetDetector{}}
}

// received is the emulator's packet hook (packets from the device).
func (o *onsetLog) received(call string, p *rtp.Packet, at time.Time) {
	o.packet("in", call, p, at, false)
}

// sent is the emulator's send hook (packets of its answers; the marker bit starts one).
func (o *onsetLog) sent(call string, p *rtp.Packet, at time.Time) {
	o.packet("out", call, p, at, p.Marker)
}

func (o *onsetLog) packet(dir, call string, p *rtp.Packet, at time.Time, restart bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	key := dir + "/" + call
	d := o.det[key]
	if d == nil || restart {
		var err error
		if d, err = newOnsetDetector(); err != nil {
			o.log.Error("onsets: opus decoder", "err", err)
			return
		}
		o.det[key] = d
	}
	i, err := d.packet(p.Payload)
	if err != nil {
		o.log.Debug("onsets: undecodable packet", "dir", dir, "call", call, "seq", p.SequenceNumber, "err", err)
		return
	}
	if i >= 0 {
		o.log.Info("audio onset", "dir", dir, "call", call, "seq", p.SequenceNumber,
			"at_us", at.UnixMicro(), "offset_us", int64(i)*1e6/onsetRate)
	}
}
