package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/dsp/mix"
)

// audioConfig is the [audio] section: the microphone and speaker devices (or WAV files
// standing in for them), their formats and buffering, and how the microphone channels
// are mixed into the mono voice stream.
type audioConfig struct {
	// Audio system: "auto" (PulseAudio/PipeWire when a server runs, else ALSA), "alsa",
	// "pulse" or "null" (a silent, correctly paced device for tests and machines
	// without sound). `edgevoice devices` lists what each one offers.
	Backend string `toml:"backend"`
	// Microphone: a part of the device name as `edgevoice devices` shows it
	// ("ReSpeaker"), or an ALSA PCM ("hw:2,0", "plughw:CARD=Array,DEV=0", "default").
	// Empty or "default" is the system's default capture device.
	CaptureDevice string `toml:"capture_device"`
	// Speaker: like capture_device, for playback.
	PlaybackDevice string `toml:"playback_device"`
	// Capture sample rate in Hz; use the mic array's native rate (16000, 44100, 48000).
	CaptureRate int `toml:"capture_rate"`
	// Capture channels, 1 to 8 (all the channels of the mic array; the mixer picks).
	CaptureChannels int `toml:"capture_channels"`
	// Capture sample format: "s16", "s32" (most mic arrays, 24 bits in 32) or "f32".
	CaptureFormat string `toml:"capture_format"`
	// Playback sample rate in Hz.
	PlaybackRate int `toml:"playback_rate"`
	// Playback channels, 1 to 8 (the mono answer is copied to every channel).
	PlaybackChannels int `toml:"playback_channels"`
	// Playback sample format: "s16", "s32" or "f32".
	PlaybackFormat string `toml:"playback_format"`
	// Audio period: how much audio each device callback moves. Capture reaches the
	// pipeline at most one period late; shorter periods mean lower latency and more
	// wake-ups ("5ms" to "40ms").
	Period duration `toml:"period"`
	// Periods in each device's hardware buffer (at least 2).
	BufferPeriods int `toml:"buffer_periods"`
	// Periods of audio queued ahead of the speaker device (at least 2). Playback latency
	// is about (playback_queue_periods + buffer_periods) x period; 2 + 2 periods of "5ms"
	// is the lowest setting, larger values survive a busy CPU without clicks.
	PlaybackQueuePeriods int `toml:"playback_queue_periods"`
	// How the microphone channels become one voice channel: "select" (one channel of
	// mixer_channels), "average" (the mean of mixer_channels) or "delay-sum" (the mean
	// after delaying each channel by its mixer_delays entry: a fixed beam).
	Mixer string `toml:"mixer"`
	// Microphone channels the mixer uses, counted from 0. Empty: channel 0 for "select",
	// all channels for "average" and "delay-sum".
	MixerChannels []int `toml:"mixer_channels"`
	// For "delay-sum": the delay in samples of each entry of mixer_channels (same length),
	// 0 to 4096. Empty: no delays.
	MixerDelays []int `toml:"mixer_delays"`
	// Gain applied to the mixed voice, in dB (-40 to 40).
	GainDB float64 `toml:"gain_db"`
	// Corner of the DC-blocking high-pass on the voice channel in Hz; 0 disables it.
	DCBlockHz float64 `toml:"dc_block_hz"`
	// Soft-limit the voice after the gain so it never clips.
	Limit bool `toml:"limit"`
	// Read the microphone from this WAV file (16/32-bit PCM or 32-bit float, 1 to 8
	// channels) instead of capture_device; the capture_* settings then come from the
	// file. Empty: use the device.
	InputFile string `toml:"input_file"`
	// Write what would be played to this WAV file instead of playback_device. Empty: use
	// the device.
	OutputFile string `toml:"output_file"`
	// With input_file/output_file: move audio in real time (a simulated appliance) rather
	// than as fast as possible (tests, the demo).
	PaceFiles bool `toml:"pace_files"`
	// After a device failure (unplugged, driver error) it is reopened, first after
	// reopen_min_backoff, then waiting twice as long each time up to reopen_max_backoff.
	// The Error LED shows the failure meanwhile; the rest of the appliance keeps running.
	ReopenMinBackoff duration `toml:"reopen_min_backoff"`
	// Longest wait between two reopen attempts.
	ReopenMaxBackoff duration `toml:"reopen_max_backoff"`
}

func (c *audioConfig) setDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Backend, "auto")
	def(&c.CaptureDevice, "default")
	def(&c.PlaybackDevice, "default")
	defInt(&c.CaptureRate, 48000)
	defInt(&c.CaptureChannels, 1)
	def(&c.CaptureFormat, "s16")
	defInt(&c.PlaybackRate, 48000)
	defInt(&c.PlaybackChannels, 1)
	def(&c.PlaybackFormat, "s16")
	if c.Period == 0 {
		c.Period = duration(10 * time.Millisecond)
	}
	defInt(&c.BufferPeriods, 3)
	defInt(&c.PlaybackQueuePeriods, 4)
	def(&c.Mixer, "select")
	if c.MixerChannels == nil {
		c.MixerChannels = []int{}
	}
	if c.MixerDelays == nil {
		c.MixerDelays = []int{}
	}
	if c.ReopenMinBackoff == 0 {
		c.ReopenMinBackoff = duration(200 * time.Millisecond)
	}
	if c.ReopenMaxBackoff == 0 {
		c.ReopenMaxBackoff = duration(5 * time.Second)
	}
}

func (c *audioConfig) validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	errs = append(errs, c.validateDevices()...)
	if p := c.Period.D(); p < 2*time.Millisecond || p > 100*time.Millisecond {
		add("period %v out of range (use 2ms to 100ms; 10ms is typical)", p)
	}
	if c.BufferPeriods < 2 || c.BufferPeriods > 32 {
		add("buffer_periods %d out of range (2 to 32)", c.BufferPeriods)
	}
	if c.PlaybackQueuePeriods < 2 || c.PlaybackQueuePeriods > 1000 {
		add("playback_queue_periods %d out of range (2 to 1000)", c.PlaybackQueuePeriods)
	}
	if _, err := mix.ParseMode(c.Mixer); err != nil {
		add("mixer: %v", err)
	} else if c.InputFile == "" { // with input_file the channel count comes from the file
		if _, err := mix.New(c.mixConfig(c.CaptureChannels, c.CaptureRate)); err != nil {
			add("mixer: %v (mixer_channels count from 0 and must be below capture_channels = %d)", err, c.CaptureChannels)
		}
	}
	if c.GainDB < -40 || c.GainDB > 40 {
		add("gain_db %v out of range (-40 to 40)", c.GainDB)
	}
	if c.ReopenMinBackoff.D() <= 0 || c.ReopenMaxBackoff.D() < c.ReopenMinBackoff.D() {
		add("reopen_min_backoff %v / reopen_max_backoff %v: need 0 < min <= max", c.ReopenMinBackoff.D(), c.ReopenMaxBackoff.D())
	}
	return errors.Join(errs...)
}

// periodFrames is the period in frames at rate.
func (c *audioConfig) periodFrames(rate int) int {
	return max(1, int(int64(rate)*int64(c.Period.D())/int64(time.Second)))
}

// mixConfig is the dsp/mix configuration for a capture stream of ch channels at rate
// (from the device, or from input_file). The mixer takes float32 samples: the capture
// stream is opened as audio.Capture[float32].
func (c *audioConfig) mixConfig(ch, rate int) mix.Config {
	mode, _ := mix.ParseMode(c.Mixer)
	return mix.Config{
		InChannels: ch,
		Mode:       mode,
		Channels:   c.MixerChannels,
		Delays:     c.MixerDelays,
		Rate:       rate,
		DCCutoffHz: c.DCBlockHz,
		GainDB:     c.GainDB,
		Limit:      c.Limit,
	}
}
