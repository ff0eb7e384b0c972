package config

import (
	"slices"
	"strings"
	"time"
)

// Audio is the [audio] section: the microphone and speaker devices (or WAV files
// standing in for them), their formats and buffering, and how the microphone channels
// are mixed into the mono voice stream.
type Audio struct {
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
	Period Duration `toml:"period"`
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
	ReopenMinBackoff Duration `toml:"reopen_min_backoff"`
	// Longest wait between two reopen attempts.
	ReopenMaxBackoff Duration `toml:"reopen_max_backoff"`
	// What keeps the answer's own sound, heard by the microphone, out of the uplink:
	// "aec" (echo cancellation with what the speaker was given as the reference: the
	// service's VAD does not hear the device, and a barge-in is heard while the answer
	// plays), "gate" (half-duplex: the uplink is muted while the answer plays unless
	// the talk button is held) or "off" (for a headset, or a mic array that cancels
	// echo itself). "aec" fits both push-to-talk and server/semantic VAD.
	Echo string `toml:"echo"`
	// Echo path the canceller covers beyond the device's own buffering ("50ms" to "1s");
	// a bigger room or a speaker far from the mic needs more, at more CPU.
	EchoTail Duration `toml:"echo_tail"`
	// Noise suppression on the uplink (speexdsp's preprocessor; with echo = "aec" it
	// also removes the echo the filter leaves). On by default.
	NoiseSuppression *bool `toml:"noise_suppression"`
	// Automatic gain control on the uplink. Off by default: it lifts background noise
	// between words, and gain_db sets a fixed gain.
	AGC bool `toml:"agc"`
	// A simulated room instead of the sound devices, for trying echo settings without
	// hardware: the speaker's sound comes back into the microphone this much later
	// ("20ms" to "500ms"), through a room's reverberation, plus input_file (if set) said
	// once at the start. Empty or "0s": the devices (or files) as configured.
	RoomDelay Duration `toml:"room_delay"`
	// With room_delay: the echo's level at the microphone relative to the speaker, in dB
	// (-40 to 6).
	RoomGainDB float64 `toml:"room_gain_db"`
}

func (c *Audio) setDefaults() {
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
		c.Period = Duration(10 * time.Millisecond)
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
		c.ReopenMinBackoff = Duration(200 * time.Millisecond)
	}
	if c.ReopenMaxBackoff == 0 {
		c.ReopenMaxBackoff = Duration(5 * time.Second)
	}
	def(&c.Echo, "aec")
	if c.EchoTail == 0 {
		c.EchoTail = Duration(200 * time.Millisecond)
	}
	if c.RoomGainDB == 0 {
		c.RoomGainDB = -6
	}
	if c.NoiseSuppression == nil {
		on := true
		c.NoiseSuppression = &on
	}
}

// Echo handling modes of [audio] echo.
var echoModes = []string{"off", "gate", "aec"}

// Audio backends, sample formats and mixer modes [audio] accepts (as hw/audio and
// dsp/mix parse them).
var (
	audioBackends = []string{"auto", "alsa", "pulse", "pulseaudio", "pipewire", "null"}
	sampleFormats = []string{"s16", "s16le", "s16_le", "s32", "s32le", "s32_le", "f32", "float", "float32", "f32le", "float_le"}
	mixerModes    = []string{"select", "average", "delay-sum"}
)

// Limits of the audio values (hw/audio's Format and dsp/mix's).
const (
	MaxChannels   = 8
	MaxMixerDelay = 4096
)

func (c *Audio) validate(p *sectionProblems) {
	if !slices.Contains(audioBackends, strings.ToLower(strings.TrimSpace(c.Backend))) {
		p.add("backend", "%q: want \"auto\", \"alsa\", \"pulse\" or \"null\"", c.Backend)
	}
	for _, f := range []struct {
		name   string
		rate   int
		ch     int
		format string
	}{{"capture", c.CaptureRate, c.CaptureChannels, c.CaptureFormat}, {"playback", c.PlaybackRate, c.PlaybackChannels, c.PlaybackFormat}} {
		if !slices.Contains(sampleFormats, strings.ToLower(strings.TrimSpace(f.format))) {
			p.add(f.name+"_format", "%q: want \"s16\", \"s32\" or \"f32\"", f.format)
		}
		if f.rate < 1000 || f.rate > 384000 {
			p.add(f.name+"_rate", "%d Hz out of range (1000 to 384000; mic arrays use 16000, 44100 or 48000)", f.rate)
		}
		if f.ch < 1 || f.ch > MaxChannels {
			p.add(f.name+"_channels", "%d out of range (1 to %d)", f.ch, MaxChannels)
		}
	}
	if pd := c.Period.D(); pd < 2*time.Millisecond || pd > 100*time.Millisecond {
		p.add("period", "%v out of range (use 2ms to 100ms; 10ms is typical)", pd)
	}
	if c.BufferPeriods < 2 || c.BufferPeriods > 32 {
		p.add("buffer_periods", "%d out of range (2 to 32)", c.BufferPeriods)
	}
	if c.PlaybackQueuePeriods < 2 || c.PlaybackQueuePeriods > 1000 {
		p.add("playback_queue_periods", "%d out of range (2 to 1000)", c.PlaybackQueuePeriods)
	}
	c.validateMixer(p)
	if !slices.Contains(echoModes, c.Echo) {
		p.add("echo", "%q: want \"aec\", \"gate\" or \"off\"", c.Echo)
	}
	if d := c.EchoTail.D(); d < 50*time.Millisecond || d > time.Second {
		p.add("echo_tail", "%v out of range (50ms to 1s; 200ms fits a living room)", d)
	}
	if d := c.RoomDelay.D(); d != 0 && (d < 20*time.Millisecond || d > 500*time.Millisecond) {
		p.add("room_delay", "%v out of range (20ms to 500ms, or 0s for the real devices)", d)
	}
	if c.RoomGainDB < -40 || c.RoomGainDB > 6 {
		p.add("room_gain_db", "%v out of range (-40 to 6)", c.RoomGainDB)
	}
	if c.GainDB < -40 || c.GainDB > 40 {
		p.add("gain_db", "%v out of range (-40 to 40)", c.GainDB)
	}
	if c.DCBlockHz < 0 {
		p.add("dc_block_hz", "%v must not be negative (0 disables the filter)", c.DCBlockHz)
	} else if c.InputFile == "" && c.DCBlockHz > 0 && c.DCBlockHz >= float64(c.CaptureRate)/4 {
		p.add("dc_block_hz", "%v Hz: want below a quarter of capture_rate (%d Hz); 20 to 80 Hz is typical", c.DCBlockHz, c.CaptureRate)
	}
	if c.ReopenMinBackoff.D() <= 0 {
		p.add("reopen_min_backoff", "%v must be positive", c.ReopenMinBackoff.D())
	} else if c.ReopenMaxBackoff.D() < c.ReopenMinBackoff.D() {
		p.add("reopen_max_backoff", "%v is below reopen_min_backoff %v", c.ReopenMaxBackoff.D(), c.ReopenMinBackoff.D())
	}
}

// validateMixer checks the mixer settings against the capture channels (as dsp/mix.New
// does; with input_file the channel count comes from the file, so only the shape is
// checked).
func (c *Audio) validateMixer(p *sectionProblems) {
	if !slices.Contains(mixerModes, c.Mixer) {
		p.add("mixer", "%q: want \"select\", \"average\" or \"delay-sum\"", c.Mixer)
		return
	}
	if c.Mixer == "select" && len(c.MixerChannels) > 1 {
		p.add("mixer_channels", "mixer \"select\" takes one channel, got %v", c.MixerChannels)
	}
	if c.InputFile == "" {
		for i, ch := range c.MixerChannels {
			if ch < 0 || ch >= c.CaptureChannels {
				p.add("mixer_channels", "entry %d: channel %d out of range (channels count from 0 and must be below capture_channels = %d)", i, ch, c.CaptureChannels)
			}
		}
	}
	if len(c.MixerDelays) == 0 {
		return
	}
	if c.Mixer != "delay-sum" {
		p.add("mixer_delays", "delays need mixer = \"delay-sum\" (mixer is %q)", c.Mixer)
		return
	}
	n := len(c.MixerChannels)
	if n == 0 && c.InputFile == "" {
		n = c.CaptureChannels
	}
	if n > 0 && len(c.MixerDelays) != n {
		p.add("mixer_delays", "%d delays for %d channels (one per entry of mixer_channels, or per capture channel)", len(c.MixerDelays), n)
	}
	for i, d := range c.MixerDelays {
		if d < 0 || d > MaxMixerDelay {
			p.add("mixer_delays", "entry %d: delay %d out of range (0 to %d samples)", i, d, MaxMixerDelay)
		}
	}
}

// PeriodFrames is the period in frames at rate.
func (c *Audio) PeriodFrames(rate int) int {
	return max(1, int(int64(rate)*int64(c.Period.D())/int64(time.Second)))
}
