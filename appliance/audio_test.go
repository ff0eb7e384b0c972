package appliance

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc"
)

// flushSink records the order of Write and Flush calls; after the test has seen enough
// writes it cancels the pump.
type flushSink struct {
	mu     sync.Mutex
	calls  []string
	writes int
	flush  chan struct{} // the pump's flush channel, signalled after the 3rd write
	cancel context.CancelFunc
}

func (s *flushSink) Format() audio.Format {
	return audio.Format{Rate: 16000, Channels: 2, Sample: audio.S16}
}
func (s *flushSink) Close() error { return nil }

func (s *flushSink) Write(_ context.Context, p []float32) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "write")
	s.writes++
	switch s.writes {
	case 3:
		s.flush <- struct{}{} // barge-in arrives while the pump is writing
	case 6:
		s.cancel()
	}
	return len(p), nil
}

func (s *flushSink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "flush")
	return nil
}

// TestSpeakerPumpFlushesOnBargeIn: a barge-in signal makes the pump drop the device
// queue (Flush) before it writes the next chunk, exactly once.
func TestSpeakerPumpFlushesOnBargeIn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	flush := make(chan struct{}, 1)
	sink := &flushSink{flush: flush, cancel: cancel}
	read := func(p []float32) int { return len(p) }
	if err := speakerPump(ctx, sink, read, flush); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	want := []string{"write", "write", "write", "flush", "write", "write", "write"}
	if len(sink.calls) != len(want) {
		t.Fatalf("calls %q, want %q", sink.calls, want)
	}
	for i := range want {
		if sink.calls[i] != want[i] {
			t.Fatalf("calls %q, want %q", sink.calls, want)
		}
	}
}

// countSource is a 44.1 kHz stereo source of n reads of one 10 ms period each.
type countSource struct{ left int }

func (s *countSource) Format() audio.Format {
	return audio.Format{Rate: 44100, Channels: 2, Sample: audio.S16}
}
func (s *countSource) Close() error { return nil }
func (s *countSource) Read(_ context.Context, p []float32) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	s.left--
	for i := range p {
		p[i] = 0.25
	}
	return len(p), nil
}

// countSink takes n writes, then cancels the pump.
type countSink struct {
	left   int
	cancel context.CancelFunc
}

func (s *countSink) Format() audio.Format {
	return audio.Format{Rate: 16000, Channels: 2, Sample: audio.S16}
}
func (s *countSink) Close() error { return nil }
func (s *countSink) Write(_ context.Context, p []float32) (int, error) {
	if s.left--; s.left == 0 {
		s.cancel()
	}
	return len(p), nil
}

// TestPumpsNoAllocsPerPeriod: the mic and speaker paths (mixer, resampler, appliance,
// level meters, channel expansion) allocate only at start: ten times as many periods
// cost no more allocations.
func TestPumpsNoAllocsPerPeriod(t *testing.T) {
	a, err := New(Config{}, Deps{Keys: rtc.KeySourceFunc(func(context.Context) (realtime.Key, error) { return realtime.Key{}, nil }),
		NewSession: func(realtime.Key, rtc.KeySource) (Session, error) { return nopSession{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	a.sess.Store(&sessionBox{s: nopSession{}})
	mic := func(periods int) float64 {
		return testing.AllocsPerRun(5, func() {
			if err := a.RunMic(context.Background(), &countSource{left: periods}, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	spk := func(periods int) float64 {
		return testing.AllocsPerRun(5, func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := a.RunSpeaker(ctx, &countSink{left: periods, cancel: cancel}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if few, many := mic(10), mic(100); many != few {
		t.Errorf("mic path: %v allocations for 10 periods, %v for 100", few, many)
	}
	if few, many := spk(10), spk(100); many != few {
		t.Errorf("speaker path: %v allocations for 10 periods, %v for 100", few, many)
	}
}
