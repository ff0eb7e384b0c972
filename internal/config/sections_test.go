package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBoardConfigValidate(t *testing.T) {
	for _, c := range []struct {
		toml string
		want string // substring of the error; "" = valid
	}{
		{"", ""},
		{"[board]\nkind = \"sim\"\n[board.mute]\npin = \"GPIO5\"\ndouble_click = \"400ms\"", ""},
		{"[board]\nkind = \"pi\"", `"board.kind": "pi" is not a board kind`},
		{"[board.talk]\npull = \"sideways\"", `"board.talk.pull": "sideways" is not a pull`},
		{"[board.talk]\ndebounce = \"600ms\"", `"board.talk.debounce": 600ms is out of range`},
		{"[board.talk]\nlong_press = [\"10s\", \"3s\"]", `"board.talk.long_press": hold times must be ascending`},
		{"[board.mute]\npin = \"GPIO17\"", `"board.mute.pin": pin "GPIO17" is already used by talk.pin`},
		{"[board.led]\nkind = \"gpio\"", `"board.led.pin": kind "gpio" needs`},
		{"[board.led]\nkind = \"rgb\"\npins = [\"GPIO5\", \"GPIO6\"]", `"board.led.pins": kind "rgb" needs three pins`},
		{"[board.led]\nbrightness = 1.5", `"board.led.brightness": 1.5 is out of range`},
		{"[board.led]\npixels = 5000", `"board.led.pixels": 5000 is out of range`},
	} {
		_, err := Decode("x.toml", []byte(c.toml))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.toml, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: error %v, want one containing %q", c.toml, err, c.want)
		}
	}
}

// validConfig is the defaults plus what the broker profile needs.
func validConfig() *Config {
	c := Default()
	c.Provisioning.BrokerURL = "https://keys.example.com"
	return c
}

// problemKeys returns the keys of the problems in err.
func problemKeys(err error) []string {
	var e *Error
	if !errors.As(err, &e) {
		return nil
	}
	var keys []string
	for _, p := range e.Problems {
		keys = append(keys, p.Key)
	}
	return keys
}

// TestSectionValues: each bad value is reported against its own key (the checks that
// hw/audio, dsp/mix, rtc, rtc/events and provisioning make, moved here).
func TestSectionValues(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		key  string
		edit func(*Config)
	}{
		{"audio.backend", func(c *Config) { c.Audio.Backend = "oss" }},
		{"audio.capture_channels", func(c *Config) { c.Audio.CaptureChannels = 9 }},
		{"audio.playback_format", func(c *Config) { c.Audio.PlaybackFormat = "s24" }},
		{"audio.mixer_channels", func(c *Config) { c.Audio.CaptureChannels, c.Audio.MixerChannels = 4, []int{4} }},
		{"audio.mixer_channels", func(c *Config) { c.Audio.CaptureChannels, c.Audio.MixerChannels = 4, []int{0, 1} }},
		{"audio.mixer_delays", func(c *Config) { c.Audio.MixerDelays = []int{1} }},
		{"audio.mixer_delays", func(c *Config) {
			c.Audio.Mixer, c.Audio.CaptureChannels, c.Audio.MixerDelays = "delay-sum", 2, []int{1}
		}},
		{"audio.mixer_delays", func(c *Config) { c.Audio.Mixer, c.Audio.MixerDelays = "delay-sum", []int{5000} }},
		{"audio.mixer", func(c *Config) { c.Audio.Mixer = "beam" }},
		{"audio.dc_block_hz", func(c *Config) { c.Audio.DCBlockHz = 12000 }},
		{"audio.period", func(c *Config) { c.Audio.Period = Duration(time.Millisecond) }},
		{"audio.buffer_periods", func(c *Config) { c.Audio.BufferPeriods = 1 }},
		{"audio.playback_queue_periods", func(c *Config) { c.Audio.PlaybackQueuePeriods = 1 }},
		{"audio.reopen_max_backoff", func(c *Config) { c.Audio.ReopenMaxBackoff = Duration(time.Millisecond) }},
		{"provisioning.profile", func(c *Config) { c.Provisioning.Profile = "azure-ga" }},
		{"provisioning.region", func(c *Config) { c.Provisioning.Region = "westeurope" }},
		{"provisioning.policy", func(c *Config) { c.Provisioning.Policy = "lazy" }},
		{"provisioning.broker_url", func(c *Config) { c.Provisioning.BrokerURL = "keys.example.com" }},
		{"provisioning.backoff_max", func(c *Config) { c.Provisioning.BackoffMax = Duration(time.Millisecond) }},
		{"provisioning.rejected_retry", func(c *Config) { c.Provisioning.RejectedRetry = Duration(time.Second) }},
		{"provisioning.auth", func(c *Config) {
			c.Provisioning.Profile, c.Provisioning.Auth, c.Provisioning.Resource, c.Provisioning.Deployment, c.Provisioning.Region = "azure-preview", "bearer", "r", "d", "eastus2"
		}},
		{"provisioning.allowed_users", func(c *Config) { c.Provisioning.AllowedUsers = []string{} }},
		{"provisioning.resource", func(c *Config) { c.Provisioning.Resource = "contoso.openai.azure.com" }},
		{"broker.listen", func(c *Config) { c.Broker.Listen = "8080" }},
		{"broker.tls_key_file", func(c *Config) { c.Broker.TLSCertFile = "/etc/cert.pem" }},
		{"rtc.network_types", func(c *Config) { c.RTC.NetworkTypes = []string{"sctp"} }},
		{"rtc.allow_ips", func(c *Config) { c.RTC.AllowIPs = []string{"127.0.0.1"} }},
		{"rtc.udp_port_min", func(c *Config) { c.RTC.UDPPortMin = 5000 }},
		{"rtc.opus_rate", func(c *Config) { c.RTC.OpusRate = 44100 }},
		{"rtc.opus_bitrate", func(c *Config) { c.RTC.OpusBitrate = 1000 }},
		{"rtc.opus_complexity", func(c *Config) { c.RTC.OpusComplexity = 11 }},
		{"rtc.jitter_depth", func(c *Config) { c.RTC.JitterDepth = 40 }},
		{"rtc.pre_roll", func(c *Config) { c.RTC.PreRoll = Duration(10 * time.Millisecond) }},
		{"rtc.catch_up", func(c *Config) { c.RTC.CatchUp = 0.5 }},
		{"rtc.ice_failed_timeout", func(c *Config) { c.RTC.ICEFailedTimeout = Duration(time.Second) }},
		{"rtc.data_channel_label", func(c *Config) { c.RTC.DataChannelLabel = "" }},
		{"rtc.transport", func(c *Config) { c.RTC.Transport = "quic" }},
		{"rtc.websocket_url", func(c *Config) { c.RTC.WebSocketURL = "https://example.com/openai/realtime" }},
		{"rtc.webrtc_retry", func(c *Config) { c.RTC.WebRTCRetry = Duration(time.Millisecond) }},
		{"session.turn_detection", func(c *Config) { c.Session.TurnDetection = "vad" }},
		{"session.eagerness", func(c *Config) { c.Session.TurnDetection, c.Session.Eagerness = "semantic_vad", "eager" }},
		{"session.noise_reduction", func(c *Config) { c.Session.NoiseReduction = "loud" }},
		{"session.vad_threshold", func(c *Config) { c.Session.TurnDetection, c.Session.VADThreshold = "server_vad", 2 }},
		{"session.transcription_language", func(c *Config) { c.Session.TranscriptionLanguage = "en" }},
		{"session.tools.0.parameters", func(c *Config) { c.Session.Tools = []Tool{{Name: "lights", Parameters: "[1,2]"}} }},
		{"session.tools.1.name", func(c *Config) { c.Session.Tools = []Tool{{Name: "a"}, {Name: "a"}} }},
	} {
		c := validConfig()
		tc.edit(c)
		keys := problemKeys(c.Validate())
		if len(keys) != 1 || keys[0] != tc.key {
			t.Errorf("%s: problems on %v, want exactly one on %s", tc.key, keys, tc.key)
		}
	}
	// 2 periods of 5 ms, queue of 2 periods: the lowest playback latency accepted.
	low := validConfig()
	low.Audio.Period, low.Audio.BufferPeriods, low.Audio.PlaybackQueuePeriods = Duration(5*time.Millisecond), 2, 2
	if err := low.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := low.Audio.PeriodFrames(48000); got != 240 {
		t.Errorf("PeriodFrames(48000) at 5ms = %d, want 240", got)
	}
}
