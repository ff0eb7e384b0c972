package rtc

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// scriptedTrack returns its reads in order: a packet, or an error; then io.EOF.
type scriptedTrack struct {
	t     *testing.T
	reads []any // []byte or error
}

func (f *scriptedTrack) Read(b []byte) (int, interceptor.Attributes, error) {
	if len(f.reads) == 0 {
		return 0, nil, io.EOF
	}
	r := f.reads[0]
	f.reads = f.reads[1:]
	if err, ok := r.(error); ok {
		return 0, nil, err
	}
	return copy(b, r.([]byte)), nil, nil
}

func (f *scriptedTrack) SetReadDeadline(time.Time) error { return nil }

// TestDownlinkReadsOnAfterABadRead: a read of the audio track that fails with anything
// but the track's end (a packet SRTP or an interceptor refused) is counted and the
// downlink reads on; before, it returned, and the rest of the connection was silent
// (the lab under load: 22 packets received, then none, with the data channel alive).
func TestDownlinkReadsOnAfterABadRead(t *testing.T) {
	s, err := New(testKey())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pkt := func(seq uint16) []byte {
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xf8, 0xff, 0xfe}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tr := &scriptedTrack{t: t}
	for i := range uint16(5) {
		tr.reads = append(tr.reads, pkt(i))
	}
	for range 6 { // six in a row: the last ones paced by a frame
		tr.reads = append(tr.reads, errors.New("srtp: failed to verify auth tag"))
	}
	for i := range uint16(5) {
		tr.reads = append(tr.reads, pkt(5+i))
	}
	done := make(chan struct{})
	go func() { defer close(done); s.downlink(&conn{s: s}, tr) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the downlink did not end at the track's end within 10 s")
	}
	st := s.Stats()
	if st.PacketsReceived != 10 || st.ReadErrors != 6 {
		t.Errorf("PacketsReceived %d, ReadErrors %d; want 10 and 6 (it reads on after a bad read)", st.PacketsReceived, st.ReadErrors)
	}
}
