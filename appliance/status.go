package appliance

import (
	"time"

	"github.com/edgevoice/edgevoice/rtc"
)

// Status is a snapshot of the appliance for `edgevoice status` and metrics.
type Status struct {
	State     State     `json:"-"`
	StateName string    `json:"state"`
	Since     time.Time `json:"since"`
	Reason    string    `json:"reason,omitempty"`
	Detail    string    `json:"detail,omitempty"` // why no-key / offline
	// Setup is SetupFault while the first-boot setup reports mistakes (they are in
	// SetupErrors, from SetupFile), else SetupNoCredential or SetupNotConfigured while the
	// key daemon says the device is not set up (the state is no-key), else "".
	Setup string `json:"setup,omitempty"`
	// SetupErrors are the first-boot setup's mistakes while Setup is SetupFault
	// (FILE:LINE:COL: what is wrong), and SetupFile the status file they come from.
	SetupErrors []string       `json:"setup_errors,omitempty"`
	SetupFile   string         `json:"setup_file,omitempty"`
	TalkMode    string         `json:"talk_mode"`
	Muted       bool           `json:"muted"`
	Volume      float64        `json:"volume"`
	Turns       uint64         `json:"turns"`
	Uptime      Duration       `json:"uptime"`
	Key         *KeyStatus     `json:"key,omitempty"`
	Session     *SessionStatus `json:"session,omitempty"`
	Audio       []string       `json:"audio_faults,omitempty"`
	// Echo is the uplink's echo handling (Appliance.Echo); EchoDelay the far-end
	// reference's delay in use and EchoDelayDetail what it is made of (the playback
	// queue, the devices' negotiated buffering).
	Echo            string   `json:"echo"`
	EchoDelay       Duration `json:"echo_delay"`
	EchoDelayDetail string   `json:"echo_delay_detail,omitempty"`
}

// KeyStatus describes the last ephemeral key (never its value).
type KeyStatus struct {
	Profile   string    `json:"profile"`
	Dialect   string    `json:"dialect"`
	MintedAt  time.Time `json:"minted_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Age       Duration  `json:"age"`
}

// SessionStatus is the part of rtc.Stats an operator looks at.
type SessionStatus struct {
	State              string   `json:"state"`
	Transport          string   `json:"transport"` // "webrtc" or "websocket" (rtc [transport] auto may switch)
	CallID             string   `json:"call_id,omitempty"`
	Connects           uint64   `json:"connects"`
	Reconnects         uint64   `json:"reconnects"`
	ConnectTime        Duration `json:"connect_time"`
	PressToFirstPacket Duration `json:"press_to_first_packet"`
	RTT                Duration `json:"rtt"`
	Jitter             Duration `json:"jitter"`
	PacketsSent        uint64   `json:"packets_sent"`
	PacketsReceived    uint64   `json:"packets_received"`
	PacketsLost        uint64   `json:"packets_lost"`
	PacketsRecovered   uint64   `json:"packets_recovered"`
	Concealed          Duration `json:"concealed"`
	PlayoutUnderruns   uint64   `json:"playout_underruns"`
	BargeIns           uint64   `json:"barge_ins"`
	DiscardedPackets   uint64   `json:"discarded_packets"` // dropped after a barge-in
	ReadErrors         uint64   `json:"read_errors"`       // failed reads of the audio track
	BitrateUp          float64  `json:"bitrate_up"`
	BitrateDown        float64  `json:"bitrate_down"`
	// Renewals, ExpiresAt and RateLimits: the service's session expiry, the sessions
	// renewed before it, and its last rate_limits.updated.
	Renewals   uint64          `json:"renewals"`
	ExpiresAt  time.Time       `json:"expires_at,omitzero"`
	RateLimits []rtc.RateLimit `json:"rate_limits,omitempty"`
}

// Duration is a time.Duration that reads well in JSON ("1.5s").
type Duration time.Duration

// MarshalText prints the duration rounded to a millisecond.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).Round(time.Millisecond).String()), nil
}

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

func sessionStatus(st rtc.Stats) *SessionStatus {
	return &SessionStatus{
		State: st.State.String(), Transport: st.Transport.String(), CallID: st.CallID, Connects: st.Connects, Reconnects: st.Reconnects,
		ConnectTime: Duration(st.ConnectTime), PressToFirstPacket: Duration(st.PressToFirstPacket),
		RTT: Duration(st.RTT), Jitter: Duration(st.Jitter),
		PacketsSent: st.PacketsSent, PacketsReceived: st.PacketsReceived, PacketsLost: st.PacketsLost,
		PacketsRecovered: st.PacketsRecovered, Concealed: Duration(st.ConcealedTime),
		PlayoutUnderruns: st.PlayoutUnderruns, BargeIns: st.BargeIns, DiscardedPackets: st.DiscardedPackets, ReadErrors: st.ReadErrors,
		BitrateUp: st.BitrateUp, BitrateDown: st.BitrateDown,
		Renewals: st.Renewals, ExpiresAt: st.ExpiresAt, RateLimits: st.RateLimits,
	}
}

// publish copies the loop's facts into the status snapshot (Run goroutine only).
func (l *loop) publish() {
	a := l.a
	a.mu.Lock()
	defer a.mu.Unlock()
	st := &a.status
	if st.State != l.state || st.Since.IsZero() {
		st.Since = a.clock.Now()
	}
	st.State, st.StateName, st.Reason = l.state, l.state.String(), l.reason
	st.Detail, st.Setup = "", ""
	if l.state == NoKey || l.state == Offline {
		st.Detail = l.netReason
	}
	if l.state == NoKey {
		st.Setup = l.netSetup
	}
	st.SetupErrors, st.SetupFile = nil, ""
	if len(l.setupErrs) > 0 {
		st.Setup, st.SetupErrors, st.SetupFile = SetupFault, l.setupErrs, a.cfg.SetupStatusFile
	}
	st.Muted, st.Volume, st.Turns = a.muted.Load(), a.Volume(), l.turns
	st.Audio = st.Audio[:0]
	for dev, err := range l.audioErrs {
		st.Audio = append(st.Audio, dev+": "+err.Error())
	}
	if k := l.lastKey; k.Value != "" {
		st.Key = &KeyStatus{Profile: k.Profile, Dialect: k.Dialect.String(), MintedAt: k.MintedAt, ExpiresAt: k.ExpiresAt}
	} else {
		st.Key = nil
	}
}

// Status returns a snapshot (safe from any goroutine), with live session statistics.
func (a *Appliance) Status() Status {
	a.mu.Lock()
	st := a.status
	start := a.start
	a.mu.Unlock()
	if st.Key != nil {
		k := *st.Key
		if !k.MintedAt.IsZero() {
			k.Age = Duration(a.clock.Since(k.MintedAt))
		}
		st.Key = &k
	}
	if !start.IsZero() {
		st.Uptime = Duration(a.clock.Since(start))
	}
	st.Audio = append([]string(nil), st.Audio...)
	st.SetupErrors = append([]string(nil), st.SetupErrors...)
	if b := a.sess.Load(); b != nil {
		st.Session = sessionStatus(b.s.Stats())
	}
	st.Echo = a.Echo()
	d, detail := a.EchoDelay()
	st.EchoDelay, st.EchoDelayDetail = Duration(d), detail
	return st
}
