package main

import (
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/dsp/mix"
	"github.com/edgevoice/edgevoice/hw/aec"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/internal/config"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// TestConfigAgreesWithLibraries: what internal/config accepts, the libraries accept
// (the mapping never fails after validation), and the values config refuses are the ones
// the libraries refuse: the checks moved into config and must stay in step.
func TestConfigAgreesWithLibraries(t *testing.T) {
	check := func(c *config.Config) (libErr error) {
		if _, err := rtcOptions(&c.RTC); err != nil {
			return err
		}
		if _, err := sessionConfig(&c.Session); err != nil {
			return err
		}
		for _, o := range []audio.Opts{captureOpts(&c.Audio), playbackOpts(&c.Audio)} {
			if _, err := audio.ParseBackend(c.Audio.Backend); err != nil {
				return err
			}
			if err := o.Format.Validate(); err != nil {
				return err
			}
		}
		if _, err := mix.ParseMode(c.Audio.Mixer); err != nil {
			return err
		}
		if _, err := appliance.ParseEchoMode(c.Audio.Echo); err != nil {
			return err
		}
		if pc, ok := appliance.EchoPathConfig(echoConfig(&c.Audio), appliance.SessionRate); ok {
			p, err := aec.NewPath(pc)
			if err != nil {
				return err
			}
			p.Close()
		}
		if _, err := mix.New(mixConfig(&c.Audio, c.Audio.CaptureChannels, c.Audio.CaptureRate)); err != nil {
			return err
		}
		return nil
	}
	if opts, err := rtcOptions(&config.Default().RTC); err != nil || len(opts) < 10 {
		t.Fatalf("rtcOptions from defaults: %d options, %v", len(opts), err)
	}
	for _, tc := range []struct {
		name string
		edit func(*config.Config)
	}{
		{"defaults", func(*config.Config) {}},
		{"network_types", func(c *config.Config) { c.RTC.NetworkTypes = []string{"sctp"} }},
		{"no network_types", func(c *config.Config) { c.RTC.NetworkTypes = []string{} }},
		{"allow_ips", func(c *config.Config) { c.RTC.AllowIPs = []string{"127.0.0.1"} }},
		{"allow_ips ok", func(c *config.Config) { c.RTC.AllowIPs = []string{"127.0.0.0/8"} }},
		{"udp ports", func(c *config.Config) { c.RTC.UDPPortMin, c.RTC.UDPPortMax = 5000, 6000 }},
		{"opus_rate", func(c *config.Config) { c.RTC.OpusRate = 44100 }},
		{"opus_rate 16k", func(c *config.Config) { c.RTC.OpusRate = 16000 }},
		{"opus_bitrate", func(c *config.Config) { c.RTC.OpusBitrate = 5000 }},
		{"opus_bitrate max", func(c *config.Config) { c.RTC.OpusBitrate = 510000 }},
		{"opus_complexity", func(c *config.Config) { c.RTC.OpusComplexity = 11 }},
		{"jitter_depth", func(c *config.Config) { c.RTC.JitterDepth = 17 }},
		{"playout_delay", func(c *config.Config) { c.RTC.PlayoutDelay = config.Duration(2 * time.Second) }},
		{"pre_roll", func(c *config.Config) { c.RTC.PreRoll = config.Duration(10 * time.Millisecond) }},
		{"catch_up", func(c *config.Config) { c.RTC.CatchUp = 1.05 }},
		{"release_settle", func(c *config.Config) { c.RTC.ReleaseSettle = config.Duration(6 * time.Second) }},
		{"ice timeouts", func(c *config.Config) { c.RTC.ICEFailedTimeout = config.Duration(time.Second) }},
		{"data_channel_label", func(c *config.Config) { c.RTC.DataChannelLabel = "" }},
		{"reconnect backoff", func(c *config.Config) { c.RTC.ReconnectMaxBackoff = config.Duration(time.Millisecond) }},
		{"turn_detection", func(c *config.Config) { c.Session.TurnDetection = "vad" }},
		{"server_vad", func(c *config.Config) { c.Session.TurnDetection = "server_vad" }},
		{"eagerness", func(c *config.Config) { c.Session.TurnDetection, c.Session.Eagerness = "semantic_vad", "eager" }},
		{"eagerness ok", func(c *config.Config) { c.Session.TurnDetection, c.Session.Eagerness = "semantic_vad", "high" }},
		{"noise_reduction", func(c *config.Config) { c.Session.NoiseReduction = "loud" }},
		{"noise_reduction off", func(c *config.Config) { c.Session.NoiseReduction = "off" }},
		{"backend", func(c *config.Config) { c.Audio.Backend = "oss" }},
		{"echo", func(c *config.Config) { c.Audio.Echo = "cancel" }},
		{"echo gate", func(c *config.Config) { c.Audio.Echo = "gate" }},
		{"echo off", func(c *config.Config) { c.Audio.Echo = "off" }},
		{"echo_tail long", func(c *config.Config) { c.Audio.EchoTail = config.Duration(5 * time.Second) }},
		{"echo_tail short", func(c *config.Config) { c.Audio.EchoTail = config.Duration(10 * time.Millisecond) }},
		{"echo_tail 50ms", func(c *config.Config) { c.Audio.EchoTail = config.Duration(50 * time.Millisecond) }},
		{"dc_block_hz", func(c *config.Config) { c.Audio.DCBlockHz = 12000 }},
		{"dc_block_hz negative", func(c *config.Config) { c.Audio.DCBlockHz = -1 }},
		{"dc_block_hz ok", func(c *config.Config) { c.Audio.DCBlockHz = 40 }},
		{"gain_db", func(c *config.Config) { c.Audio.GainDB = 70 }},
		{"backend pipewire", func(c *config.Config) { c.Audio.Backend = "pipewire" }},
		{"capture_format", func(c *config.Config) { c.Audio.CaptureFormat = "s24" }},
		{"capture_format f32", func(c *config.Config) { c.Audio.CaptureFormat = "float32" }},
		{"capture_channels", func(c *config.Config) { c.Audio.CaptureChannels = 9 }},
		{"playback_rate", func(c *config.Config) { c.Audio.PlaybackRate = 500 }},
		{"mixer", func(c *config.Config) { c.Audio.Mixer = "beam" }},
		{"mixer channel", func(c *config.Config) { c.Audio.CaptureChannels, c.Audio.MixerChannels = 4, []int{4} }},
		{"mixer channel ok", func(c *config.Config) { c.Audio.CaptureChannels, c.Audio.MixerChannels = 4, []int{3} }},
		{"select two", func(c *config.Config) { c.Audio.CaptureChannels, c.Audio.MixerChannels = 4, []int{0, 1} }},
		{"delays without delay-sum", func(c *config.Config) { c.Audio.MixerDelays = []int{1} }},
		{"delays count", func(c *config.Config) {
			c.Audio.Mixer, c.Audio.CaptureChannels, c.Audio.MixerDelays = "delay-sum", 2, []int{1}
		}},
		{"delays range", func(c *config.Config) { c.Audio.Mixer, c.Audio.MixerDelays = "delay-sum", []int{5000} }},
		{"delay-sum ok", func(c *config.Config) {
			c.Audio.Mixer, c.Audio.CaptureChannels, c.Audio.MixerChannels, c.Audio.MixerDelays = "delay-sum", 4, []int{0, 3}, []int{0, 7}
		}},
	} {
		c := config.Default()
		tc.edit(c)
		cfgErr, libErr := c.Validate(), check(c)
		if (cfgErr == nil) != (libErr == nil) {
			t.Errorf("%s: config says %v, the libraries say %v", tc.name, cfgErr, libErr)
		}
	}
}

func TestSessionSectionShapes(t *testing.T) {
	s := config.Session{Instructions: "be brief", Voice: "marin", TurnDetection: "server_vad", NoiseReduction: "near_field",
		TranscriptionModel: "whisper-1", TranscriptionLanguage: "en",
		Tools: []config.Tool{{Name: "set_volume", Description: "Set the volume", Parameters: `{"type":"object","properties":{"level":{"type":"number"}}}`}}}
	c := &config.Config{} // defaults after the session, as a file is read (the built-ins leave out its set_volume)
	s.Tools = append([]config.Tool{}, s.Tools...)
	c.Session = s
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	sess, err := sessionConfig(&c.Session)
	if err != nil {
		t.Fatal(err)
	}
	ga, _ := events.Marshal(events.GA, events.SessionUpdate{Session: sess})
	pv, _ := events.Marshal(events.Preview, events.SessionUpdate{Session: sess})
	for _, want := range []string{`"type":"realtime"`, `"audio":{`, `"turn_detection":{"type":"server_vad"`, `"silence_duration_ms":500`, `"voice":"marin"`, `"set_volume"`} {
		if !strings.Contains(string(ga), want) {
			t.Errorf("GA session.update lacks %s: %s", want, ga)
		}
	}
	for _, want := range []string{`"input_audio_noise_reduction":{"type":"near_field"}`, `"input_audio_transcription":{"model":"whisper-1"`, `"voice":"marin"`} {
		if !strings.Contains(string(pv), want) {
			t.Errorf("preview session.update lacks %s: %s", want, pv)
		}
	}
	if strings.Contains(string(pv), `"type":"realtime"`) {
		t.Errorf("preview session.update has the GA type: %s", pv)
	}
	sess, _ = sessionConfig(&config.Default().Session)
	ga, _ = events.Marshal(events.GA, events.SessionUpdate{Session: sess})
	if !strings.Contains(string(ga), `"turn_detection":null`) {
		t.Errorf("push-to-talk must send turn_detection null: %s", ga)
	}
}
