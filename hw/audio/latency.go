package audio

import (
	"fmt"
	"time"
)

// Latency is the buffering a device negotiated when it was opened: its own sample rate
// and its period size and count, as the driver reports them (which may differ from
// Opts: ALSA rounds periods to what the hardware takes, a plug device resamples). A
// zero Latency carries the reason in Reason (a driver that does not report it, a file).
type Latency struct {
	Rate         int // the device's own rate (Hz)
	PeriodFrames int // frames per period at Rate
	Periods      int // periods in the device buffer
	Reason       string
}

// Known reports whether the device reported its buffering.
func (l Latency) Known() bool { return l.Rate > 0 && l.PeriodFrames > 0 && l.Periods > 0 }

// Period is the duration of one period: how late a captured sample reaches the stream
// at most (a capture device hands over whole periods). 0 when unknown.
func (l Latency) Period() time.Duration {
	if !l.Known() {
		return 0
	}
	return time.Duration(l.PeriodFrames) * time.Second / time.Duration(l.Rate)
}

// Buffer is the duration of the whole device buffer: how long a sample handed to a
// playback device waits before it sounds (the driver keeps the buffer full). 0 when
// unknown.
func (l Latency) Buffer() time.Duration { return time.Duration(max(l.Periods, 0)) * l.Period() }

func (l Latency) String() string {
	if !l.Known() {
		if l.Reason == "" {
			return "not reported"
		}
		return "not reported (" + l.Reason + ")"
	}
	return fmt.Sprintf("%d x %d frames at %d Hz (period %v, buffer %v)", l.Periods, l.PeriodFrames, l.Rate, l.Period(), l.Buffer())
}

// LatencyReporter is a Device (or a file or simulated stream) that reports the
// buffering it negotiated.
type LatencyReporter interface {
	Latency() Latency
}

// deviceLatency is what d reports, or a zero Latency saying why not.
func deviceLatency(d Device) Latency {
	if r, ok := d.(LatencyReporter); ok {
		return r.Latency()
	}
	return Latency{Reason: "the audio driver does not report its buffering"}
}
