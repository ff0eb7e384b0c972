package main

import (
	"net"
)

// rtcConfig is the [rtc] section: the WebRTC transport to the realtime service (ICE,
// DTLS, the Opus codec, the jitter buffer, reconnects).
type rtcConfig struct {
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
	ICEDisconnectedTimeout duration `toml:"ice_disconnected_timeout"`
	// No ICE traffic for this long fails the connection (then it reconnects).
	ICEFailedTimeout duration `toml:"ice_failed_timeout"`
	// Interval of ICE keepalives.
	ICEKeepalive duration `toml:"ice_keepalive"`
	// Longest DTLS handshake.
	DTLSTimeout duration `toml:"dtls_timeout"`
	// Longest time from the offer to a connected call before the attempt is retried.
	ConnectTimeout duration `toml:"connect_timeout"`
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
	PlayoutDelay duration `toml:"playout_delay"`
	// Microphone audio kept from the button press until the connection is up; older
	// audio is dropped.
	PreRoll duration `toml:"pre_roll"`
	// Speed at which that backlog is sent once connected, as a multiple of real time (1.1 to 10).
	CatchUp float64 `toml:"catch_up"`
	// Wait after the last packet of a turn before committing it, so in-flight packets land.
	ReleaseSettle duration `toml:"release_settle"`
	// First wait before a reconnect; doubled (with jitter) after each failed attempt.
	ReconnectMinBackoff duration `toml:"reconnect_min_backoff"`
	// Longest wait between reconnect attempts.
	ReconnectMaxBackoff duration `toml:"reconnect_max_backoff"`
}

func (c *rtcConfig) setDefaults() {
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
		c.ICEDisconnectedTimeout = duration(2e9)
	}
	if c.ICEFailedTimeout == 0 {
		c.ICEFailedTimeout = duration(6e9)
	}
	if c.ICEKeepalive == 0 {
		c.ICEKeepalive = duration(1e9)
	}
	if c.DTLSTimeout == 0 {
		c.DTLSTimeout = duration(5e9)
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = duration(10e9)
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
		c.PlayoutDelay = duration(60e6)
	}
	if c.PreRoll == 0 {
		c.PreRoll = duration(2e9)
	}
	if c.CatchUp == 0 {
		c.CatchUp = 2
	}
	if c.ReleaseSettle == 0 {
		c.ReleaseSettle = duration(150e6)
	}
	if c.ReconnectMinBackoff == 0 {
		c.ReconnectMinBackoff = duration(250e6)
	}
	if c.ReconnectMaxBackoff == 0 {
		c.ReconnectMaxBackoff = duration(30e9)
	}
}

// validateNet checks the keys that are plain network values (the part of validate
// that needs no rtc package).
func (c *rtcConfig) validateNet() error {
	for _, ip := range c.AllowIPs {
		if _, _, err := net.ParseCIDR(ip); err != nil {
			return fieldErr("allow_ips", "%q is not a CIDR; write it like \"127.0.0.0/8\"", ip)
		}
	}
	if (c.UDPPortMin == 0) != (c.UDPPortMax == 0) || c.UDPPortMin < 0 || c.UDPPortMax > 65535 || c.UDPPortMin > c.UDPPortMax {
		return fieldErr("udp_port_min", "%d-%d: set udp_port_min and udp_port_max both (1 to 65535, min <= max) or neither", c.UDPPortMin, c.UDPPortMax)
	}
	return nil
}
