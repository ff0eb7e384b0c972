package config

import (
	"net"
	"net/url"
	"slices"
	"time"
)

// RTC is the [rtc] section: the WebRTC transport to the realtime service (ICE,
// DTLS, the Opus codec, the jitter buffer, reconnects).
type RTC struct {
	// ICE network types: "udp4", "udp6", "tcp4", "tcp6". TCP reaches the service's
	// TCP 443 candidate where outbound UDP is blocked.
	NetworkTypes []string `toml:"network_types"`
	// Only gather ICE candidates on these interfaces ("eth0", "wlan0"; "lo" for a local
	// emulator). Empty: all interfaces.
	Interfaces []string `toml:"interfaces"`
	// Only use local addresses in these CIDRs ("192.168.0.0/16"; "127.0.0.0/8" for a
	// local emulator). Empty: all addresses.
	AllowIPs []string `toml:"allow_ips"`
	// Offer loopback addresses as candidates (needed for an emulator on 127.0.0.1).
	LoopbackCandidates bool `toml:"loopback_candidates"`
	// Gather mDNS (.local) host candidates. Off: the service does not need them.
	MDNS bool `toml:"mdns"`
	// Lowest local UDP port for ICE (with udp_port_max, to match a firewall). 0: any port.
	UDPPortMin int `toml:"udp_port_min"`
	// Highest local UDP port for ICE. 0: any port.
	UDPPortMax int `toml:"udp_port_max"`
	// No ICE traffic for this long marks the connection disconnected.
	ICEDisconnectedTimeout Duration `toml:"ice_disconnected_timeout"`
	// No ICE traffic for this long fails the connection (then it reconnects).
	ICEFailedTimeout Duration `toml:"ice_failed_timeout"`
	// Interval of ICE keepalives.
	ICEKeepalive Duration `toml:"ice_keepalive"`
	// Longest DTLS handshake.
	DTLSTimeout Duration `toml:"dtls_timeout"`
	// Longest time from the offer to a connected call before the attempt is retried.
	ConnectTimeout Duration `toml:"connect_timeout"`
	// Label of the event data channel: "oai-events" (OpenAI) or "realtime-channel"
	// (Azure samples); the service accepts either as far as is known.
	DataChannelLabel string `toml:"data_channel_label"`
	// Audio band of the Opus encoder as a sample rate: 48000 (fullband), 24000 or 16000
	// (wideband speech, fewer bits).
	OpusRate int `toml:"opus_rate"`
	// Opus bitrate in bit/s (6000 to 510000; 24000-32000 is plenty for speech).
	OpusBitrate int `toml:"opus_bitrate"`
	// Opus encoder complexity, 1 (least CPU) to 10 (best quality); 0 or leaving it out
	// means the default, 5. A Pi Zero wants 1-3.
	OpusComplexity int `toml:"opus_complexity"`
	// Reorder depth of the jitter buffer in 20 ms packets (1 to 16): how long a missing
	// packet is waited for before it is recovered from FEC or concealed.
	JitterDepth int `toml:"jitter_depth"`
	// Audio buffered before the answer starts playing (and after an underrun), "0s" to "1s".
	PlayoutDelay Duration `toml:"playout_delay"`
	// Microphone audio kept from the button press until the connection is up; older
	// audio is dropped.
	PreRoll Duration `toml:"pre_roll"`
	// Speed at which that backlog is sent once connected, as a multiple of real time (1.1 to 10).
	CatchUp float64 `toml:"catch_up"`
	// Wait after the last packet of a turn before committing it, so in-flight packets land.
	ReleaseSettle Duration `toml:"release_settle"`
	// First wait before a reconnect; doubled (with jitter) after each failed attempt.
	ReconnectMinBackoff Duration `toml:"reconnect_min_backoff"`
	// Longest wait between reconnect attempts.
	ReconnectMaxBackoff Duration `toml:"reconnect_max_backoff"`
	// How the device reaches the service: "webrtc" (default), "websocket" (TLS 443,
	// through networks that block UDP and ICE-TCP), or "auto" (WebRTC, falling back to
	// WebSocket when WebRTC cannot connect, and WebRTC again after webrtc_retry).
	Transport string `toml:"transport"`
	// WebSocket URL (wss://…) when it cannot be derived from the key's SDP URL (the
	// Azure preview: wss://<resource>.openai.azure.com/openai/realtime?api-version=
	// 2025-04-01-preview&deployment=<d>). Empty: derived.
	WebSocketURL string `toml:"websocket_url"`
	// With transport "auto": how long to stay on WebSocket after a fallback before
	// trying WebRTC again (at the next idle moment), "1s" to "24h".
	WebRTCRetry Duration `toml:"webrtc_retry"`
}

func (c *RTC) setDefaults() {
	if c.NetworkTypes == nil {
		c.NetworkTypes = []string{"udp4", "tcp4"}
	}
	if c.Interfaces == nil { // empty, not nil: the printed config reloads the same
		c.Interfaces = []string{}
	}
	if c.AllowIPs == nil {
		c.AllowIPs = []string{}
	}
	if c.ICEDisconnectedTimeout == 0 {
		c.ICEDisconnectedTimeout = Duration(2e9)
	}
	if c.ICEFailedTimeout == 0 {
		c.ICEFailedTimeout = Duration(6e9)
	}
	if c.ICEKeepalive == 0 {
		c.ICEKeepalive = Duration(1e9)
	}
	if c.DTLSTimeout == 0 {
		c.DTLSTimeout = Duration(5e9)
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = Duration(10e9)
	}
	if c.DataChannelLabel == "" {
		c.DataChannelLabel = "oai-events"
	}
	if c.OpusRate == 0 {
		c.OpusRate = 48000
	}
	if c.OpusBitrate == 0 {
		c.OpusBitrate = 32000
	}
	if c.OpusComplexity == 0 {
		c.OpusComplexity = 5
	}
	if c.JitterDepth == 0 {
		c.JitterDepth = 3
	}
	if c.PlayoutDelay == 0 {
		c.PlayoutDelay = Duration(60e6)
	}
	if c.PreRoll == 0 {
		c.PreRoll = Duration(2e9)
	}
	if c.CatchUp == 0 {
		c.CatchUp = 2
	}
	if c.ReleaseSettle == 0 {
		c.ReleaseSettle = Duration(150e6)
	}
	if c.ReconnectMinBackoff == 0 {
		c.ReconnectMinBackoff = Duration(250e6)
	}
	if c.ReconnectMaxBackoff == 0 {
		c.ReconnectMaxBackoff = Duration(30e9)
	}
	c.transportDefaults()
}

func (c *RTC) transportDefaults() {
	if c.Transport == "" {
		c.Transport = "webrtc"
	}
	if c.WebRTCRetry == 0 {
		c.WebRTCRetry = Duration(10 * time.Minute)
	}
}

func (c *RTC) validateTransport(p *sectionProblems) {
	if !slices.Contains([]string{"webrtc", "websocket", "auto"}, c.Transport) {
		p.add("transport", "%q: use \"webrtc\", \"websocket\" or \"auto\"", c.Transport)
	}
	if c.WebSocketURL != "" {
		u, err := url.Parse(c.WebSocketURL)
		if err != nil || (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" {
			p.add("websocket_url", "not a WebSocket URL; write it like \"wss://<resource>.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=<d>\"")
		}
	}
	if d := c.WebRTCRetry.D(); d < time.Second || d > 24*time.Hour {
		p.add("webrtc_retry", "%v out of range (1s to 24h)", d)
	}
}

func (c *RTC) validate(p *sectionProblems) {
	c.validateTransport(p)
	if len(c.NetworkTypes) == 0 {
		p.add("network_types", "empty; use at least \"udp4\"")
	}
	for _, t := range c.NetworkTypes {
		if !slices.Contains([]string{"udp4", "udp6", "tcp4", "tcp6"}, t) {
			p.add("network_types", "%q is not an ICE network type (use \"udp4\", \"udp6\", \"tcp4\" or \"tcp6\")", t)
		}
	}
	for _, ip := range c.AllowIPs {
		if _, _, err := net.ParseCIDR(ip); err != nil {
			p.add("allow_ips", "%q is not a CIDR; write it like \"127.0.0.0/8\"", ip)
		}
	}
	if (c.UDPPortMin == 0) != (c.UDPPortMax == 0) || c.UDPPortMin < 0 || c.UDPPortMax > 65535 || c.UDPPortMin > c.UDPPortMax {
		p.add("udp_port_min", "%d-%d: set udp_port_min and udp_port_max both (1 to 65535, min <= max) or neither", c.UDPPortMin, c.UDPPortMax)
	}
	if c.ICEDisconnectedTimeout.D() <= 0 || c.ICEFailedTimeout.D() < c.ICEDisconnectedTimeout.D() || c.ICEKeepalive.D() <= 0 {
		p.add("ice_failed_timeout", "ICE timeouts %v/%v/%v: want 0 < ice_disconnected_timeout <= ice_failed_timeout, ice_keepalive > 0",
			c.ICEDisconnectedTimeout.D(), c.ICEFailedTimeout.D(), c.ICEKeepalive.D())
	}
	if c.DTLSTimeout.D() <= 0 {
		p.add("dtls_timeout", "must be positive")
	}
	if c.ConnectTimeout.D() <= 0 {
		p.add("connect_timeout", "must be positive")
	}
	if c.DataChannelLabel == "" {
		p.add("data_channel_label", "empty (OpenAI uses \"oai-events\", Azure samples \"realtime-channel\")")
	}
	switch c.OpusRate {
	case 48000, 24000, 16000:
	default:
		p.add("opus_rate", "%d Hz: use 48000, 24000 or 16000", c.OpusRate)
	}
	if c.OpusBitrate < 6000 || c.OpusBitrate > 510000 {
		p.add("opus_bitrate", "%d bit/s out of range (6000 to 510000)", c.OpusBitrate)
	}
	if c.OpusComplexity < 0 || c.OpusComplexity > 10 {
		p.add("opus_complexity", "%d out of range (1 to 10, or 0 for the default)", c.OpusComplexity)
	}
	if c.JitterDepth < 1 || c.JitterDepth > 16 {
		p.add("jitter_depth", "%d packets out of range (1 to 16)", c.JitterDepth)
	}
	if d := c.PlayoutDelay.D(); d < 0 || d > time.Second {
		p.add("playout_delay", "%v out of range (0s to 1s)", d)
	}
	if d := c.PreRoll.D(); d < 20*time.Millisecond || d > 30*time.Second {
		p.add("pre_roll", "%v out of range (20ms to 30s)", d)
	}
	if c.CatchUp < 1.1 || c.CatchUp > 10 {
		p.add("catch_up", "%v out of range (1.1 to 10)", c.CatchUp)
	}
	if d := c.ReleaseSettle.D(); d < 0 || d > 5*time.Second {
		p.add("release_settle", "%v out of range (0s to 5s)", d)
	}
	if c.ReconnectMinBackoff.D() <= 0 {
		p.add("reconnect_min_backoff", "must be positive")
	} else if c.ReconnectMaxBackoff.D() < c.ReconnectMinBackoff.D() {
		p.add("reconnect_max_backoff", "%v is below reconnect_min_backoff %v", c.ReconnectMaxBackoff.D(), c.ReconnectMinBackoff.D())
	}
}
