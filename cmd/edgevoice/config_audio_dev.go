//go:build !provisiond

package main

import (
	"fmt"

	"github.com/edgevoice/edgevoice/hw/audio"
)

// validateDevices checks the backend and the device formats against hw/audio. The
// key-daemon build (tag provisiond) has no hw/audio and skips this; check-config and
// run check it.
func (c *audioConfig) validateDevices() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, err := audio.ParseBackend(c.Backend); err != nil {
		add("backend: %v", err)
	}
	for _, f := range []struct {
		name   string
		rate   int
		ch     int
		format string
	}{{"capture", c.CaptureRate, c.CaptureChannels, c.CaptureFormat}, {"playback", c.PlaybackRate, c.PlaybackChannels, c.PlaybackFormat}} {
		sf, err := audio.ParseSampleFormat(f.format)
		if err != nil {
			add("%s_format: %v", f.name, err)
			continue
		}
		if err := (audio.Format{Rate: f.rate, Channels: f.ch, Sample: sf}).Validate(); err != nil {
			add("%s_rate/%s_channels: %v", f.name, f.name, err)
		}
	}
	return errs
}

// captureOpts maps the section to hw/audio options for the microphone (call after
// validate; the caller sets OnState and Logger).
func (c *audioConfig) captureOpts() audio.Opts {
	b, _ := audio.ParseBackend(c.Backend)
	sf, _ := audio.ParseSampleFormat(c.CaptureFormat)
	return audio.Opts{
		Backend:      b,
		Device:       c.CaptureDevice,
		Format:       audio.Format{Rate: c.CaptureRate, Channels: c.CaptureChannels, Sample: sf},
		PeriodFrames: c.periodFrames(c.CaptureRate),
		Periods:      c.BufferPeriods,
		MinBackoff:   c.ReopenMinBackoff.D(),
		MaxBackoff:   c.ReopenMaxBackoff.D(),
	}
}

// playbackOpts maps the section to hw/audio options for the speaker.
func (c *audioConfig) playbackOpts() audio.Opts {
	b, _ := audio.ParseBackend(c.Backend)
	sf, _ := audio.ParseSampleFormat(c.PlaybackFormat)
	pf := c.periodFrames(c.PlaybackRate)
	return audio.Opts{
		Backend:      b,
		Device:       c.PlaybackDevice,
		Format:       audio.Format{Rate: c.PlaybackRate, Channels: c.PlaybackChannels, Sample: sf},
		PeriodFrames: pf,
		Periods:      c.BufferPeriods,
		RingFrames:   c.PlaybackQueuePeriods * pf,
		MinBackoff:   c.ReopenMinBackoff.D(),
		MaxBackoff:   c.ReopenMaxBackoff.D(),
	}
}
