package main

import (
	"bytes"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/rtc/opus"
	"github.com/pion/rtp"
)

// TestOnsetLog: tone bursts encoded as the device does (48 kHz, 20 ms frames) are found
// in the packet that carries them, at their place in it (within the codec's delay), once
// per burst, in both directions; a new answer (marker bit) starts a fresh stream.
func TestOnsetLog(t *testing.T) {
	enc, err := opus.NewEncoder(opus.DefaultEncoderOpts())
	if err != nil {
		t.Fatal(err)
	}
	const frame = 960
	// 300 ms silence, 200 ms tone from sample 14400+230 on (packet 15, 4.8 ms in),
	// 400 ms silence, a second burst, silence
	total := 60 * frame
	pcm := make([]float32, total)
	starts := []int{15*frame + 230, 35*frame + 700}
	for _, s := range starts {
		for i := s; i < s+9600; i++ {
			pcm[i] = float32(0.5 * math.Sin(2*math.Pi*1000*float64(i)/48000))
		}
	}
	var pkts [][]byte
	buf := make([]byte, opus.MaxPacket)
	for f := 0; f < total/frame; f++ {
		n, err := enc.Encode(pcm[f*frame:(f+1)*frame], buf)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, bytes.Clone(buf[:n]))
	}
	var logs bytes.Buffer
	ol := newOnsetLog(slog.New(slog.NewTextHandler(&logs, nil)))
	t0 := time.Unix(1_700_000_000, 0)
	for i, p := range pkts {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		ol.received("rtc_1", &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i)}, Payload: p}, at)
		ol.sent("rtc_1", &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Marker: i == 0}, Payload: p}, at)
	}
	re := regexp.MustCompile(`msg="audio onset" dir=(in|out) call=rtc_1 seq=(\d+) at_us=(\d+) offset_us=(\d+)`)
	lines := re.FindAllStringSubmatch(logs.String(), -1)
	if len(lines) != 4 {
		t.Fatalf("%d onset lines, want 2 per direction:\n%s", len(lines), logs.String())
	}
	for i, m := range lines {
		want := starts[i/2]
		seq, _ := strconv.Atoi(m[2])
		off, _ := strconv.Atoi(m[4])
		at, _ := strconv.ParseInt(m[3], 10, 64)
		got := seq*frame + off*48/1000
		// libopus delays its output by up to 6.5 ms (312 samples at 48 kHz)
		if got < want || got > want+312+48 {
			t.Errorf("onset %d (%s) at sample %d (packet %d + %d µs), want %d..%d", i/2, m[1], got, seq, off, want, want+360)
		}
		if at != t0.Add(time.Duration(seq)*20*time.Millisecond).UnixMicro() {
			t.Errorf("onset %d: at_us %d is not the time of packet %d", i/2, at, seq)
		}
	}
	// a marker restarts the answer's stream: a burst right at its start is an onset
	ol.sent("rtc_1", &rtp.Packet{Header: rtp.Header{SequenceNumber: 100, Marker: true}, Payload: pkts[16]}, t0)
	if n := len(re.FindAllString(logs.String(), -1)); n != 4 {
		t.Errorf("a loud first packet of an answer counted as an onset (no quiet before it): %d lines", n)
	}
}

// TestOnsetDetectorQuiet: an onset needs onsetQuiet of quiet before it, across calls.
func TestOnsetDetectorQuiet(t *testing.T) {
	d := &onsetDetector{}
	quiet := make([]float32, 4799)
	if at := d.samples(append(quiet, 0.5)); at != -1 {
		t.Errorf("onset after 4799 quiet samples at %d, want none (100 ms = 4800)", at)
	}
	if at := d.samples(append(make([]float32, 4800), 0.2, 0.5)); at != 4800 {
		t.Errorf("onset at %d, want 4800", at)
	}
	half := make([]float32, 2400)
	d.samples(half)
	if at := d.samples(append(half, -0.3)); at != 2400 {
		t.Errorf("onset after quiet split over two calls at %d, want 2400", at)
	}
}
