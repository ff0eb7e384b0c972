package rtc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc/opus"
	"github.com/pion/transport/v5"
)

// KeySource hands out a fresh ephemeral key; the session asks it on every reconnect
// (and on the first connect when the key given to New is no longer valid).
type KeySource interface {
	Key(ctx context.Context) (realtime.Key, error)
}

// KeySourceFunc adapts a function to KeySource.
type KeySourceFunc func(ctx context.Context) (realtime.Key, error)

// Key calls f.
func (f KeySourceFunc) Key(ctx context.Context) (realtime.Key, error) { return f(ctx) }

// Option configures a Session in New. Options run before the defaults are filled in;
// one that returns an error makes New fail.
type Option func(*Session) error

type config struct {
	keys       KeySource
	httpClient *http.Client
	log        *slog.Logger
	label      string

	session     *events.Session // sent as session.update on open; nil = none
	netTypes    []string
	ifaces      []string
	ipNets      []*net.IPNet
	loopback    bool
	mdns        bool
	portMin     uint16
	portMax     uint16
	vnet        transport.Net
	iceDisc     time.Duration
	iceFailed   time.Duration
	iceKeep     time.Duration
	dtlsTO      time.Duration
	connectTO   time.Duration
	enc         opus.EncoderOpts
	encRate     int // codec audio band (48000, 24000, 16000)
	jitDepth    int
	playDelay   time.Duration
	preRoll     time.Duration
	catchUp     float64
	settle      time.Duration
	commitRule  CommitRule    // commit.go
	maxLead     time.Duration // commit.go; 0 = unbounded
	backoffMin  time.Duration
	backoffMax  time.Duration
	openMic     bool
	minKeyLife  time.Duration
	renewMargin time.Duration
	hangupTO    time.Duration
	tools       toolConfig          // tools.go
	mcpApprove  map[string][]string // mcpapproval.go: server_label → tools approved

	transport   Transport // transport.go
	wsURL       string
	webrtcRetry time.Duration
	wsReadLimit int64
	wsWriteTO   time.Duration
}

// WithKeySource sets where fresh keys come from on reconnect.
func WithKeySource(k KeySource) Option {
	return func(s *Session) error { s.cfg.keys = k; return nil }
}

// WithHTTPClient sets the client for the SDP POST (default: a client with a 10 s timeout).
func WithHTTPClient(c *http.Client) Option {
	return func(s *Session) error { s.cfg.httpClient = c; return nil }
}

// WithLogger sets the logger (nil = discard). Secrets are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(s *Session) error { s.cfg.log = l; return nil }
}

// WithDataChannelLabel sets the data channel label (default "oai-events").
func WithDataChannelLabel(label string) Option {
	return func(s *Session) error {
		if label == "" {
			return fmt.Errorf("rtc: empty data channel label (OpenAI uses \"oai-events\", Azure samples \"realtime-channel\")")
		}
		s.cfg.label = label
		return nil
	}
}

// WithSessionConfig sends cfg as session.update (in the key's dialect) as soon as the
// data channel opens, before any audio. With turn detection "none" the session is
// push-to-talk; with server_vad or semantic_vad the service ends each turn while the mic
// is open (from Press to Release).
func WithSessionConfig(cfg events.Session) Option {
	return func(s *Session) error {
		c := cfg
		s.cfg.session = &c
		return nil
	}
}

// WithNetworkTypes sets the ICE network types: "udp4", "udp6", "tcp4", "tcp6"
// (default udp4 and tcp4: TCP reaches the service's TCP 443 candidate where UDP is blocked).
func WithNetworkTypes(types ...string) Option {
	return func(s *Session) error {
		for _, t := range types {
			if !slices.Contains([]string{"udp4", "udp6", "tcp4", "tcp6"}, t) {
				return fmt.Errorf("rtc: unknown ICE network type %q (use udp4, udp6, tcp4 or tcp6)", t)
			}
		}
		if len(types) == 0 {
			return fmt.Errorf("rtc: no ICE network types (use at least udp4)")
		}
		s.cfg.netTypes = slices.Clone(types)
		return nil
	}
}

// WithInterfaces restricts ICE candidates to these interface names (default: all).
func WithInterfaces(names ...string) Option {
	return func(s *Session) error { s.cfg.ifaces = slices.Clone(names); return nil }
}

// WithIPNets restricts ICE candidates to addresses in these CIDRs (default: all).
func WithIPNets(cidrs ...string) Option {
	return func(s *Session) error {
		for _, c := range cidrs {
			_, n, err := net.ParseCIDR(c)
			if err != nil {
				return fmt.Errorf("rtc: bad IP allow-list entry %q (want a CIDR such as 127.0.0.0/8): %w", c, err)
			}
			s.cfg.ipNets = append(s.cfg.ipNets, n)
		}
		return nil
	}
}

// WithLoopbackCandidates includes loopback addresses as ICE candidates (off by default;
// needed to reach an emulator on 127.0.0.1).
func WithLoopbackCandidates(on bool) Option {
	return func(s *Session) error { s.cfg.loopback = on; return nil }
}

// WithLoopbackOnly is the test and emulator setup: candidates only on lo in
// 127.0.0.0/8, loopback candidates on, mDNS off, UDP4 and TCP4.
func WithLoopbackOnly() Option {
	return func(s *Session) error {
		s.cfg.ifaces = []string{"lo"}
		_, n, _ := net.ParseCIDR("127.0.0.0/8")
		s.cfg.ipNets = []*net.IPNet{n}
		s.cfg.loopback = true
		s.cfg.mdns = false
		s.cfg.netTypes = []string{"udp4", "tcp4"}
		return nil
	}
}

// WithMDNS turns mDNS host candidates on (off by default).
func WithMDNS(on bool) Option {
	return func(s *Session) error { s.cfg.mdns = on; return nil }
}

// WithUDPPortRange limits the local UDP ports ICE uses (for a firewall).
func WithUDPPortRange(min, max uint16) Option {
	return func(s *Session) error {
		if min == 0 || max < min {
			return fmt.Errorf("rtc: bad UDP port range %d-%d (want 1 <= min <= max)", min, max)
		}
		s.cfg.portMin, s.cfg.portMax = min, max
		return nil
	}
}

// WithNet runs ICE over n (a pion vnet in tests) instead of the host network.
func WithNet(n transport.Net) Option {
	return func(s *Session) error { s.cfg.vnet = n; return nil }
}

// WithICETimeouts sets pion's ICE disconnected and failed timeouts and keepalive
// interval (defaults 2 s, 6 s, 1 s).
func WithICETimeouts(disconnected, failed, keepAlive time.Duration) Option {
	return func(s *Session) error {
		if disconnected <= 0 || failed < disconnected || keepAlive <= 0 {
			return fmt.Errorf("rtc: bad ICE timeouts %v/%v/%v (want 0 < disconnected <= failed, keepalive > 0)", disconnected, failed, keepAlive)
		}
		s.cfg.iceDisc, s.cfg.iceFailed, s.cfg.iceKeep = disconnected, failed, keepAlive
		return nil
	}
}

// WithDTLSTimeout bounds the DTLS handshake (default 5 s).
func WithDTLSTimeout(d time.Duration) Option {
	return func(s *Session) error { return positive("DTLS timeout", d, &s.cfg.dtlsTO) }
}

// WithConnectTimeout bounds one connect attempt from offer to connected (default 10 s).
func WithConnectTimeout(d time.Duration) Option {
	return func(s *Session) error { return positive("connect timeout", d, &s.cfg.connectTO) }
}

// WithOpus sets the codec: the audio band as a sample rate (48000, 24000 or 16000; the
// encoder is fed 48 kHz and limits its band, which is what libopus does internally for
// a lower input rate), bitrate in bit/s and complexity 0..10.
func WithOpus(bandRate, bitrate, complexity int) Option {
	return func(s *Session) error {
		switch bandRate {
		case 48000, 24000, 16000:
		default:
			return fmt.Errorf("rtc: Opus rate %d Hz (use 48000, 24000 or 16000)", bandRate)
		}
		e := s.cfg.enc
		e.Bitrate, e.Complexity = bitrate, complexity
		if bandRate != 48000 {
			e.MaxBandwidthHz = bandRate
		}
		if _, err := opus.NewEncoder(e); err != nil {
			return fmt.Errorf("rtc: WithOpus: %w", err)
		}
		s.cfg.enc, s.cfg.encRate = e, bandRate
		return nil
	}
}

// WithJitter sets the reorder depth in packets (1..16, default 3) and the playout
// pre-buffer (default 60 ms).
func WithJitter(depth int, playoutDelay time.Duration) Option {
	return func(s *Session) error {
		if depth < 1 || depth > 16 || playoutDelay < 0 || playoutDelay > time.Second {
			return fmt.Errorf("rtc: bad jitter settings depth %d, delay %v (want 1..16 packets, 0..1s)", depth, playoutDelay)
		}
		s.cfg.jitDepth, s.cfg.playDelay = depth, playoutDelay
		return nil
	}
}

// WithPreRoll sets how much mic audio is kept while not connected (default 2 s, rounded
// up to a power of two samples; older audio is dropped) and how fast the backlog is sent once connected, as a multiple of
// real time (1.1..10, default 2).
func WithPreRoll(max time.Duration, catchUp float64) Option {
	return func(s *Session) error {
		if max < 20*time.Millisecond || max > 30*time.Second || catchUp < 1.1 || catchUp > 10 {
			return fmt.Errorf("rtc: bad pre-roll %v ×%.1f (want 20ms..30s, 1.1..10)", max, catchUp)
		}
		s.cfg.preRoll, s.cfg.catchUp = max, catchUp
		return nil
	}
}

// WithReleaseSettle sets how long Release waits after the last packet before it commits
// (default 150 ms), so in-flight packets land in the server's buffer.
func WithReleaseSettle(d time.Duration) Option {
	return func(s *Session) error {
		if d < 0 || d > 5*time.Second {
			return fmt.Errorf("rtc: release settle %v out of 0..5s", d)
		}
		s.cfg.settle = d
		return nil
	}
}

// WithBackoff sets the reconnect backoff range (default 250 ms .. 30 s, doubled per
// failed attempt, with jitter).
func WithBackoff(min, max time.Duration) Option {
	return func(s *Session) error {
		if min <= 0 || max < min {
			return fmt.Errorf("rtc: bad backoff %v..%v", min, max)
		}
		s.cfg.backoffMin, s.cfg.backoffMax = min, max
		return nil
	}
}

// WithRenewMargin sets how long before the service's session expires_at the session is
// renewed (a new connection between turns; default 1 min).
func WithRenewMargin(d time.Duration) Option {
	return func(s *Session) error { return positive("renew margin", d, &s.cfg.renewMargin) }
}

// WithHangupTimeout bounds the hang-up of a call on close (default 1 s).
func WithHangupTimeout(d time.Duration) Option {
	return func(s *Session) error { return positive("hang-up timeout", d, &s.cfg.hangupTO) }
}

func positive(what string, d time.Duration, dst *time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("rtc: %s %v must be positive", what, d)
	}
	*dst = d
	return nil
}

func (c *config) setDefaults() {
	if c.httpClient == nil {
		c.httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.label == "" {
		c.label = "oai-events"
	}
	if c.netTypes == nil {
		c.netTypes = []string{"udp4", "tcp4"}
	}
	if c.iceDisc == 0 {
		c.iceDisc, c.iceFailed, c.iceKeep = 2*time.Second, 6*time.Second, time.Second
	}
	if c.dtlsTO == 0 {
		c.dtlsTO = 5 * time.Second
	}
	if c.connectTO == 0 {
		c.connectTO = 10 * time.Second
	}
	if c.jitDepth == 0 {
		c.jitDepth, c.playDelay = 3, 60*time.Millisecond
	}
	if c.preRoll == 0 {
		c.preRoll, c.catchUp = 2*time.Second, 2
	}
	if c.settle == 0 {
		c.settle = 150 * time.Millisecond
	}
	if c.backoffMin == 0 {
		c.backoffMin, c.backoffMax = 250*time.Millisecond, 30*time.Second
	}
	if c.renewMargin == 0 {
		c.renewMargin = time.Minute
	}
	if c.hangupTO == 0 {
		c.hangupTO = defaultHangupTimeout
	}
	c.transportDefaults() // transport.go
	if c.minKeyLife == 0 {
		c.minKeyLife = 5 * time.Second
	}
	c.openMic = c.session != nil && (c.session.TurnDetection.Type == events.TurnDetectionServerVAD ||
		c.session.TurnDetection.Type == events.TurnDetectionSemanticVAD)
}

// CheckOptions applies opts to a scratch session and returns the first error, so a
// configuration can be checked at startup without connecting anything.
func CheckOptions(opts ...Option) error {
	s := &Session{}
	s.cfg.enc = opus.DefaultEncoderOpts()
	s.cfg.encRate = sampleRate
	for _, o := range opts {
		if err := o(s); err != nil {
			return err
		}
	}
	return nil
}
