package audio

import (
	"strings"
	"testing"
	"time"
)

func TestLatencyDurations(t *testing.T) {
	l := Latency{Rate: 48000, PeriodFrames: 480, Periods: 3}
	if l.Period() != 10*time.Millisecond || l.Buffer() != 30*time.Millisecond {
		t.Errorf("%v: period %v buffer %v, want 10ms 30ms", l, l.Period(), l.Buffer())
	}
	z := Latency{Reason: "a WAV file"}
	if z.Known() || z.Period() != 0 || z.Buffer() != 0 || !strings.Contains(z.String(), "a WAV file") {
		t.Errorf("unknown latency: known %v, period %v, buffer %v, %q", z.Known(), z.Period(), z.Buffer(), z)
	}
}

// A device of a Group reopened after a failure with another buffering: when the streams
// report StateRunning again, Latency is what the new devices negotiated.
func TestReopenReportsNewLatency(t *testing.T) {
	checkGoroutines(t)
	g := NewGroup()
	micDrv := &fakeDriver{lat: Latency{Rate: 48000, PeriodFrames: 480, Periods: 3}}
	spkDrv := &fakeDriver{lat: Latency{Rate: 48000, PeriodFrames: 480, Periods: 3}}
	micLog, spkLog := newStateLog(), newStateLog()
	f := Format{Rate: 48000, Channels: 1, Sample: S16}
	mic, err := OpenCapture[int16](Opts{Format: f, MinBackoff: 5 * time.Millisecond, StallTimeout: time.Hour, OnState: micLog.on, Driver: micDrv, Group: g})
	if err != nil {
		t.Fatal(err)
	}
	defer mic.Close()
	spk, err := OpenPlayback[int16](Opts{Format: f, MinBackoff: 5 * time.Millisecond, StallTimeout: time.Hour, OnState: spkLog.on, Driver: spkDrv, Group: g, RingFrames: 1920})
	if err != nil {
		t.Fatal(err)
	}
	defer spk.Close()
	micLog.waitFor(t, StateRunning)
	spkLog.waitFor(t, StateRunning)
	if got := mic.Latency(); got != micDrv.lat {
		t.Errorf("capture latency %+v, want %+v", got, micDrv.lat)
	}
	if q := spk.Queue(); q != 2048*time.Second/48000 { // 1920 frames rounded up to a power of two
		t.Errorf("playback queue %v, want %v", q, 2048*time.Second/48000)
	}
	// the card comes back with a USB device's larger buffer
	micDrv.mu.Lock()
	micDrv.lat = Latency{Rate: 48000, PeriodFrames: 1024, Periods: 2}
	micDrv.mu.Unlock()
	spkDrv.mu.Lock()
	spkDrv.lat = Latency{Rate: 44100, PeriodFrames: 441, Periods: 4}
	spkDrv.mu.Unlock()
	close(spkDrv.device().fail)
	spkLog.waitFor(t, StateRecovering)
	micLog.waitFor(t, StateRecovering)
	spkLog.waitFor(t, StateRunning)
	micLog.waitFor(t, StateRunning)
	if got := mic.Latency(); got.PeriodFrames != 1024 || got.Periods != 2 || got.Period() != 1024*time.Second/48000 {
		t.Errorf("capture latency after the reopen %+v (period %v), want 2 x 1024 at 48000", got, got.Period())
	}
	if got := spk.Latency(); got.Rate != 44100 || got.Buffer() != 40*time.Millisecond {
		t.Errorf("playback latency after the reopen %+v (buffer %v), want 4 x 441 at 44100 (40ms)", got, got.Buffer())
	}
}
