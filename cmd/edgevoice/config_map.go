package main

import (
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/dsp/mix"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/hw/sim"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc"
)

// This file maps the validated config (internal/config, which imports no library) onto
// the options of the libraries: hw/audio, dsp/mix, rtc and rtc/events. The config has
// checked every value already; an error here means the two disagree (a test keeps
// them in step).

// captureOpts maps [audio] to hw/audio options for the microphone (the caller sets
// OnState and Logger).
func captureOpts(c *config.Audio) audio.Opts {
	b, _ := audio.ParseBackend(c.Backend)
	sf, _ := audio.ParseSampleFormat(c.CaptureFormat)
	return audio.Opts{
		Backend:      b,
		Device:       c.CaptureDevice,
		Format:       audio.Format{Rate: c.CaptureRate, Channels: c.CaptureChannels, Sample: sf},
		PeriodFrames: c.PeriodFrames(c.CaptureRate),
		Periods:      c.BufferPeriods,
		MinBackoff:   c.ReopenMinBackoff.D(),
		MaxBackoff:   c.ReopenMaxBackoff.D(),
	}
}

// playbackOpts maps [audio] to hw/audio options for the speaker.
func playbackOpts(c *config.Audio) audio.Opts {
	b, _ := audio.ParseBackend(c.Backend)
	sf, _ := audio.ParseSampleFormat(c.PlaybackFormat)
	pf := c.PeriodFrames(c.PlaybackRate)
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

// mixConfig is the dsp/mix configuration for a capture stream of ch channels at rate
// (from the device, or from input_file). The mixer takes float32 samples: the capture
// stream is opened as audio.Capture[float32].
func mixConfig(c *config.Audio, ch, rate int) mix.Config {
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

// rtcOptions converts [rtc] into rtc session options; a value rtc refuses is reported
// against its key.
func rtcOptions(c *config.RTC) ([]rtc.Option, error) {
	type keyed struct {
		key string
		opt rtc.Option
	}
	list := []keyed{
		{"network_types", rtc.WithNetworkTypes(c.NetworkTypes...)},
		{"loopback_candidates", rtc.WithLoopbackCandidates(c.LoopbackCandidates)},
		{"mdns", rtc.WithMDNS(c.MDNS)},
		{"ice_failed_timeout", rtc.WithICETimeouts(c.ICEDisconnectedTimeout.D(), c.ICEFailedTimeout.D(), c.ICEKeepalive.D())},
		{"dtls_timeout", rtc.WithDTLSTimeout(c.DTLSTimeout.D())},
		{"connect_timeout", rtc.WithConnectTimeout(c.ConnectTimeout.D())},
		{"data_channel_label", rtc.WithDataChannelLabel(c.DataChannelLabel)},
		{"opus_bitrate", rtc.WithOpus(c.OpusRate, c.OpusBitrate, c.OpusComplexity)},
		{"jitter_depth", rtc.WithJitter(c.JitterDepth, c.PlayoutDelay.D())},
		{"pre_roll", rtc.WithPreRoll(c.PreRoll.D(), c.CatchUp)},
		{"release_settle", rtc.WithReleaseSettle(c.ReleaseSettle.D())},
		{"reconnect_min_backoff", rtc.WithBackoff(c.ReconnectMinBackoff.D(), c.ReconnectMaxBackoff.D())},
	}
	if tr, err := rtc.ParseTransport(c.Transport); err != nil {
		return nil, fmt.Errorf("[rtc] transport: %w", err)
	} else {
		list = append(list, keyed{"transport", rtc.WithTransport(tr)}, keyed{"websocket_url", rtc.WithWebSocketURL(c.WebSocketURL)},
			keyed{"webrtc_retry", rtc.WithWebRTCRetry(c.WebRTCRetry.D())})
	}
	if len(c.Interfaces) > 0 {
		list = append(list, keyed{"interfaces", rtc.WithInterfaces(c.Interfaces...)})
	}
	if len(c.AllowIPs) > 0 {
		list = append(list, keyed{"allow_ips", rtc.WithIPNets(c.AllowIPs...)})
	}
	if c.UDPPortMin != 0 {
		list = append(list, keyed{"udp_port_min", rtc.WithUDPPortRange(uint16(c.UDPPortMin), uint16(c.UDPPortMax))})
	}
	opts := make([]rtc.Option, 0, len(list))
	for _, k := range list {
		if err := rtc.CheckOptions(k.opt); err != nil {
			return nil, fmt.Errorf("[rtc] %s: %w", k.key, err)
		}
		opts = append(opts, k.opt)
	}
	return opts, nil
}

// sessionConfig converts [session] into the session.update content.
func sessionConfig(c *config.Session) (events.Session, error) {
	var s events.Session
	s.Instructions, s.Voice = c.Instructions, c.Voice
	td, err := events.ParseTurnDetectionType(c.TurnDetection)
	if err != nil {
		return s, fmt.Errorf("[session] turn_detection: %w", err)
	}
	s.TurnDetection.Type = td
	switch td {
	case events.TurnDetectionServerVAD:
		s.TurnDetection.Threshold = c.VADThreshold
		s.TurnDetection.PrefixPaddingMS = int(c.VADPrefixPadding.D() / time.Millisecond)
		s.TurnDetection.SilenceDurationMS = int(c.VADSilence.D() / time.Millisecond)
	case events.TurnDetectionSemanticVAD:
		e, err := events.ParseEagerness(c.Eagerness)
		if err != nil {
			return s, fmt.Errorf("[session] eagerness: %w", err)
		}
		s.TurnDetection.Eagerness = e
	}
	nr, err := events.ParseNoiseReduction(c.NoiseReduction)
	if err != nil {
		return s, fmt.Errorf("[session] noise_reduction: %w", err)
	}
	s.NoiseReduction = nr
	if c.TranscriptionModel != "" {
		s.Transcription = &events.Transcription{Model: c.TranscriptionModel, Language: c.TranscriptionLanguage}
	}
	for _, t := range c.Tools {
		tool := events.Tool{Name: t.Name, Description: t.Description}
		if t.Parameters != "" {
			tool.Parameters = []byte(t.Parameters)
		}
		s.Tools = append(s.Tools, tool)
	}
	return s, nil
}

// echoConfig maps [audio] echo, echo_tail, noise_suppression and agc to the appliance's
// echo path. Its Delay is the estimate from the configuration (the playback queue ahead
// of the speaker device, kept full by its pacing), used only until the devices are
// open: then echoDelay, from what they negotiated, replaces it (runner.refreshEchoDelay,
// again after every reopen). A WAV file speaker plays nothing later: no delay; the
// simulated room's speaker queues sim.DefaultRoomQueue.
func echoConfig(c *config.Audio) appliance.EchoConfig {
	mode, _ := appliance.ParseEchoMode(c.Echo)
	e := appliance.EchoConfig{Mode: mode, Tail: c.EchoTail.D(), AGC: c.AGC,
		NoiseSuppression: c.NoiseSuppression == nil || *c.NoiseSuppression}
	switch {
	case c.RoomDelay > 0:
		e.Delay = sim.DefaultRoomQueue
	case c.OutputFile == "":
		e.Delay = time.Duration(c.PlaybackQueuePeriods) * c.Period.D()
	}
	return e
}

// queuer is a speaker with a queue ahead of its device (audio.Playback's ring, the
// simulated room's speaker).
type queuer interface{ Queue() time.Duration }

// latencyOf is what an opened mic or speaker negotiated (audio.LatencyReporter), or a
// zero Latency saying why not.
func latencyOf(x any) audio.Latency {
	if r, ok := x.(audio.LatencyReporter); ok {
		return r.Latency()
	}
	return audio.Latency{Reason: fmt.Sprintf("%T does not report its buffering", x)}
}

// echoDelay is the echo reference's device delay for an opened speaker and mic, from
// what they negotiated. Nominally a sample handed to the speaker waits the playback
// queue, then the playback device's whole buffer, before it sounds, and its echo up to
// one capture period in the capture device. But the queue and the device buffer are
// refilled a playback period at a time and a captured sample may be handed over at once,
// so the echo can come up to two playback periods and a capture period sooner. The
// canceller covers an echo that comes after its reference (up to echo_tail), never one
// that comes before it (hw/aec TestDelayMustNotOvershoot: 10 ms too much takes ERLE from
// 29 to 6 dB), so the delay is the lowest the devices can give: nominal less that
// jitter. What the room and the converters add is left to the filter. detail says what
// the delay is made of.
func echoDelay(spk, mic any) (time.Duration, string) {
	var q time.Duration
	if s, ok := spk.(queuer); ok {
		q = s.Queue()
	}
	sl, ml := latencyOf(spk), latencyOf(mic)
	ms := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	part := func(what string, d time.Duration, l audio.Latency) string {
		if !l.Known() {
			return fmt.Sprintf("%s 0 (%s)", what, l.Reason)
		}
		return fmt.Sprintf("%s %s (%d x %d frames at %d Hz)", what, ms(d), l.Periods, l.PeriodFrames, l.Rate)
	}
	nominal := q + sl.Buffer() + ml.Period()
	jitter := 2*sl.Period() + ml.Period()
	d := max(nominal-jitter, 0)
	detail := fmt.Sprintf("devices %s = playback queue %s + %s + %s", ms(nominal), ms(q),
		part("speaker buffer", sl.Buffer(), sl), part("mic period", ml.Period(), ml))
	if jitter > 0 {
		detail += fmt.Sprintf(", less %s of refill jitter (2 speaker periods + 1 mic period: an echo must not come before its reference)", ms(min(jitter, nominal)))
	}
	return d, detail
}
