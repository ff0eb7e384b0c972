//go:build !provisiond

package main

import "github.com/edgevoice/edgevoice/rtc"

func (c *rtcConfig) validate() error {
	_, err := c.options()
	return err
}

// options converts the section into rtc session options; a bad value is reported
// against its key.
func (c *rtcConfig) options() ([]rtc.Option, error) {
	if err := c.validateNet(); err != nil {
		return nil, err
	}
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
			return nil, fieldErr(k.key, "%v", err)
		}
		opts = append(opts, k.opt)
	}
	return opts, nil
}

// sessionOptions are the rtc options for a session built from the [rtc] and [session]
// sections (the appliance adds WithKeySource and WithLogger).
func (c *rtcConfig) sessionOptions(s *sessionConfig) ([]rtc.Option, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	sess, err := s.session()
	if err != nil {
		return nil, err
	}
	return append(opts, rtc.WithSessionConfig(sess)), nil
}
