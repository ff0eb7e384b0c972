package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/hw/audio"
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
