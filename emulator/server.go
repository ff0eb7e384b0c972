package emulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// Defaults.
const (
	DefaultAPIKey       = "test-api-key"      // long-lived key the mint endpoints accept
	DefaultDeviceToken  = "test-device-token" // device token the broker endpoint accepts
	DefaultGAModel      = realtime.DefaultModel
	DefaultPreviewModel = "gpt-4o-mini-realtime-preview"
	DefaultReplyText    = "You said this, and here it is again."
	DefaultUserText     = "emulated transcript of the user turn"
	PreviewKeyTTL       = realtime.PreviewKeyLifetime // preview keys live one minute, as documented
	DefaultGAKeyTTL     = realtime.GAKeyLifetime      // GA default expires_after
)

// Faults are injected failures. The zero value injects none.
type Faults struct {
	// MintStatus, when non-zero, makes the mint endpoints (all four) answer this HTTP
	// status (e.g. 401, 500) with a JSON error body.
	MintStatus int
	// MintFailures limits MintStatus to the next n mint requests (0 = all of them).
	MintFailures int
	// SDPStatus, when non-zero, makes the SDP endpoints (and the WebSocket handshakes,
	// ws.go) answer this status.
	SDPStatus int
	// SDPFailures limits SDPStatus to the next n SDP or WebSocket requests (0 = all of them).
	SDPFailures int
	// ExpiredKeys mints keys whose expires_at is already past; the SDP endpoints reject
	// them with 401 like any expired key.
	ExpiredKeys bool
	// KeyTTL, when non-zero, overrides the lifetime of minted keys.
	KeyTTL time.Duration
	// AnswerDelay holds each SDP answer (and WebSocket upgrade) this long.
	AnswerDelay time.Duration
	// DropAfter closes each peer connection this long after it connected.
	DropAfter time.Duration
	// CloseDataChannelAfter closes each data channel this long after it opened.
	CloseDataChannelAfter time.Duration
	// VanishAfter makes each call go silent this long after it connected, as if the
	// network vanished: the server's ICE transport stops without a DTLS close, so the
	// client sees disconnected/failed (not closed) once its ICE timeouts run out.
	VanishAfter time.Duration
	// SessionLifetime ends each session this long after it connected, as the service
	// does at its maximum session duration: an error event with code
	// "session_expired", then the peer connection is closed.
	SessionLifetime time.Duration
}

// Option configures a Server in New.
type Option func(*Server) error

// WithLogger sets the logger (nil = discard). Keys are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) error { s.log = l; return nil }
}

// WithDialect sets the dialect of keys from the broker endpoint and of MintKey's
// default profile (default GA).
func WithDialect(d events.Dialect) Option {
	return func(s *Server) error {
		if d != events.GA && d != events.Preview {
			return fmt.Errorf("emulator: unknown dialect %v", d)
		}
		s.dialect = d
		return nil
	}
}

// WithAPIKey sets the long-lived key the mint endpoints accept (default DefaultAPIKey).
func WithAPIKey(k string) Option {
	return func(s *Server) error {
		if k == "" {
			return errors.New("emulator: empty API key")
		}
		s.apiKey = k
		return nil
	}
}

// WithDeviceToken sets the token the broker endpoint accepts (default DefaultDeviceToken).
// Further tokens (WithExtraDeviceToken) are accepted too.
func WithDeviceToken(tok string) Option {
	return func(s *Server) error {
		if tok == "" {
			return errors.New("emulator: empty device token")
		}
		s.deviceTokens[0] = tok
		return nil
	}
}

// WithExtraDeviceToken makes the broker endpoint accept tok as well, as a broker does
// for several devices or while a device's token is being replaced. The log names the
// token of each mint by its place (device=1 for WithDeviceToken's, 2 for the first extra
// one, ...), never by its value.
func WithExtraDeviceToken(tok string) Option {
	return func(s *Server) error {
		if tok == "" {
			return errors.New("emulator: empty device token")
		}
		s.deviceTokens = append(s.deviceTokens, tok)
		return nil
	}
}

// WithFaults sets the initial faults (see also SetFaults).
func WithFaults(f Faults) Option {
	return func(s *Server) error { s.faults = f; return nil }
}

// WithoutGA makes the GA endpoints answer 404, like an older Azure resource without
// the /openai/v1 surface (to test the fallback to preview).
func WithoutGA() Option {
	return func(s *Server) error { s.noGA = true; return nil }
}

// WithReplyText sets the assistant transcript sent with each response.
func WithReplyText(text string) Option {
	return func(s *Server) error { s.replyText = text; return nil }
}

// WithUserTranscript sets the user transcript sent after a commit when input
// transcription is on.
func WithUserTranscript(text string) Option {
	return func(s *Server) error { s.userText = text; return nil }
}

// WithReplyAudio makes every response play these Opus packets (one payload per RTP
// packet, e.g. 20 ms frames encoded by the test) instead of the user's own turn.
func WithReplyAudio(payloads [][]byte) Option {
	return func(s *Server) error {
		s.replyAudio = make([][]byte, len(payloads))
		for i, p := range payloads {
			s.replyAudio[i] = slices.Clone(p)
		}
		return nil
	}
}

// WithNet runs ICE over a virtual network (pion transport/vnet) instead of loopback.
func WithNet(n transport.Net) Option {
	return func(s *Server) error { s.vnet = n; return nil }
}

// WithICETCP also listens for ICE-TCP on 127.0.0.1 (passive TCP candidates, like the
// service's TCP 443 candidate), so clients with only TCP4 enabled connect.
func WithICETCP() Option {
	return func(s *Server) error { s.iceTCP = true; return nil }
}

// WithICETimeouts sets the server's ICE disconnected/failed timeouts and keepalive.
func WithICETimeouts(disconnected, failed, keepAlive time.Duration) Option {
	return func(s *Server) error {
		s.iceDisc, s.iceFailed, s.iceKeep = disconnected, failed, keepAlive
		return nil
	}
}

// WithPacketHook calls f for every RTP packet received from a client, on the packet
// reader's goroutine (keep it short). p must not be retained. On a WebSocket it is
// called for each 20 ms Opus packet the appended audio was coded into, with the
// append's arrival time.
func WithPacketHook(f func(callID string, p *rtp.Packet, at time.Time)) Option {
	return func(s *Server) error { s.packetHook = f; return nil }
}

// WithSendHook calls f for every RTP packet of a response right after it was written to
// the client's track, with the time of the write, on the response's player goroutine
// (keep it short). p must not be retained. On a WebSocket it is called for each audio
// delta queued, with the Opus packet the delta was decoded from (Marker on the first).
func WithSendHook(f func(callID string, p *rtp.Packet, at time.Time)) Option {
	return func(s *Server) error { s.sendHook = f; return nil }
}

// Server is the emulator. Create it with New, start it with Start or Serve, and stop
// it with Close, which joins every goroutine it started.
type Server struct {
	beforeOpen      func() // test hook: runs in the data channel's OnOpen before it is handled
	log             *slog.Logger
	dialect         events.Dialect
	apiKey          string
	deviceTokens    []string
	noGA            bool
	replyText       string
	toolScript      []ToolTurn // tools.go
	mcpScript       []MCPCall  // mcp.go
	mcpWait         time.Duration
	userText        string
	replyAudio      [][]byte
	vnet            transport.Net
	iceTCP          bool
	iceDisc         time.Duration
	iceFailed       time.Duration
	iceKeep         time.Duration
	packetHook      func(string, *rtp.Packet, time.Time)
	sendHook        func(string, *rtp.Packet, time.Time)
	vad             SpeechDetector
	conv            convOpts
	playoutDelay    time.Duration
	playoutDelaySet bool
	wsLead          time.Duration // ws.go
	wsLeadSet       bool

	api      *webrtc.API
	httpSrv  *http.Server
	tcpLn    net.Listener
	tcpMux   ice.TCPMux
	done     chan struct{}
	serveErr chan error

	mu      sync.Mutex
	started bool
	closed  bool
	url     string
	faults  Faults
	keys    map[string]keyRecord
	calls   []*call
	stats   Stats
	changed chan struct{}
	wg      sync.WaitGroup
	nextID  uint64
}

type keyRecord struct {
	dialect events.Dialect
	expires time.Time
	session events.Session
	profile string
}

// New returns a server that is not listening yet.
func New(opts ...Option) (*Server, error) {
	s := &Server{
		apiKey:       DefaultAPIKey,
		deviceTokens: []string{DefaultDeviceToken},
		replyText:    DefaultReplyText,
		userText:     DefaultUserText,
		keys:         map[string]keyRecord{},
		done:         make(chan struct{}),
		changed:      make(chan struct{}),
		serveErr:     make(chan error, 1),
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if !s.playoutDelaySet {
		s.playoutDelay = DefaultPlayoutDelay
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

func (s *Server) buildAPI() error {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("emulator: MediaEngine.RegisterCodec: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return fmt.Errorf("emulator: ConfigureNack: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return fmt.Errorf("emulator: ConfigureRTCPReports: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if s.vnet != nil {
		se.SetNet(s.vnet)
	} else {
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
		if s.iceTCP {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				return fmt.Errorf("emulator: listen for ICE-TCP: %w", err)
			}
			mux := webrtc.NewICETCPMux(nil, ln, 8)
			s.mu.Lock()
			s.tcpLn, s.tcpMux = ln, mux
			s.mu.Unlock()
			se.SetICETCPMux(mux)
			types = append(types, webrtc.NetworkTypeTCP4)
		}
	}
	se.SetNetworkTypes(types)
	if s.iceFailed > 0 {
		se.SetICETimeouts(s.iceDisc, s.iceFailed, s.iceKeep)
	}
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return nil
}

// Start listens on addr ("" = "127.0.0.1:0") and serves in the background.
func (s *Server) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: listen %s: %w", addr, err)
	}
	if err := s.start(ln); err != nil {
		ln.Close()
		return err
	}
	return nil
}

// Serve serves on ln until Close; it returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.start(ln); err != nil {
		return err
	}
	select {
	case err := <-s.serveErr:
		return err
	case <-s.done:
		return nil
	}
}

func (s *Server) start(ln net.Listener) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("emulator: server already started or closed")
	}
	s.started = true
	s.mu.Unlock()
	if err := s.buildAPI(); err != nil {
		return err
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	if s.closed {
		mux, tln := s.tcpMux, s.tcpLn
		s.mu.Unlock()
		if mux != nil {
			mux.Close()
			tln.Close()
		}
		return errors.New("emulator: server closed during start")
	}
	s.httpSrv = hs
	s.url = "http://" + ln.Addr().String()
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- fmt.Errorf("emulator: serve: %w", err)
		}
	}()
	s.log.Info("realtime emulator listening", "url", s.url, "dialect", s.dialect)
	return nil
}

// URL returns the base URL ("http://127.0.0.1:port"), "" before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// APIKey returns the long-lived key the mint endpoints accept.
func (s *Server) APIKey() string { return s.apiKey }

// DeviceToken returns the (first) device token the broker endpoint accepts.
func (s *Server) DeviceToken() string { return s.deviceTokens[0] }

// SetFaults replaces the faults; it applies to requests and calls that start after it.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Close stops serving, closes every call and joins all goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	calls := slices.Clone(s.calls)
	hs, mux, tln := s.httpSrv, s.tcpMux, s.tcpLn
	s.mu.Unlock()
	var errs []error
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
		}
		cancel()
	}
	for _, c := range calls {
		c.close()
	}
	s.wg.Wait()
	if mux != nil {
		errs = append(errs, mux.Close())
	}
	if tln != nil {
		tln.Close()
	}
	return errors.Join(errs...)
}

// DropCalls closes the peer connection of every live call now.
func (s *Server) DropCalls() {
	for _, c := range s.liveCalls() {
		c.serverEnd()
	}
}

// CloseDataChannels closes the data channel of every live call now.
func (s *Server) CloseDataChannels() {
	for _, c := range s.liveCalls() {
		c.closeDC()
	}
}

// ExpireKeys makes every key minted so far expired.
func (s *Server) ExpireKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for k, r := range s.keys {
		r.expires = past
		s.keys[k] = r
	}
}

func (s *Server) liveCalls() []*call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*call
	for _, c := range s.calls {
		if !c.isEnded() {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) newID(prefix string) string {
	s.mu.Lock()
	s.nextID++
	n := s.nextID
	s.mu.Unlock()
	return fmt.Sprintf("%s%06d", prefix, n)
}

func randomKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "ek_" + hex.EncodeToString(b[:])
}

// update changes the stats under the lock and wakes WaitStats.
func (s *Server) update(f func(st *Stats)) {
	s.mu.Lock()
	f(&s.stats)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Provider returns provisioning's real provider of profile ("azure-preview", "azure",
// "openai", "broker"; "" = the server's dialect: "openai" for GA, "azure-preview" for
// preview), configured like a device would be but pointed at this server's endpoints and
// credentials, so that every key the emulator hands out goes through the real provider
// code and wire shapes. opts are applied after the emulator's own (a test may add
// session defaults or a key lifetime).
func (s *Server) Provider(profile string, opts ...provisioning.Option) (provisioning.Provider, error) {
	base := s.URL()
	if base == "" {
		return nil, errors.New("emulator: Provider before Start")
	}
	if profile == "" {
		profile = provisioning.ProfileOpenAI
		if s.dialect == events.Preview {
			profile = provisioning.ProfileAzurePreview
		}
	}
	// no keep-alive: no idle connection (and its goroutines) outlives a mint
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	common := []provisioning.Option{provisioning.WithHTTPClient(client), provisioning.WithCredential(provisioning.StaticCredential(s.apiKey))}
	var own []provisioning.Option
	switch profile {
	case provisioning.ProfileAzurePreview:
		own = []provisioning.Option{provisioning.WithDeployment(DefaultPreviewModel),
			provisioning.WithMintURL(base + "/openai/realtimeapi/sessions?api-version=" + provisioning.PreviewAPIVersion),
			provisioning.WithSDPURL(base + "/v1/realtimertc?model=" + DefaultPreviewModel),
			provisioning.WithSessionDefaults(realtime.SessionDefaults{Voice: "verse"})}
	case provisioning.ProfileAzure:
		own = []provisioning.Option{provisioning.WithDeployment(DefaultGAModel),
			provisioning.WithMintURL(base + "/openai/v1/realtime/client_secrets"), provisioning.WithSDPURL(base + "/openai/v1/realtime/calls"),
			provisioning.WithSessionDefaults(realtime.SessionDefaults{Voice: "marin"})}
	case provisioning.ProfileOpenAI:
		own = []provisioning.Option{provisioning.WithModel(DefaultGAModel), provisioning.WithKeyLifetime(DefaultGAKeyTTL),
			provisioning.WithMintURL(base + "/v1/realtime/client_secrets"), provisioning.WithSDPURL(base + "/v1/realtime/calls")}
	case provisioning.ProfileBroker:
		common[1] = provisioning.WithCredential(provisioning.StaticCredential(s.deviceTokens[0]))
		own = []provisioning.Option{provisioning.WithBrokerURL(base)}
	}
	return provisioning.NewProvider(profile, append(append(common, own...), opts...)...)
}

// MintKey mints one key through Provider(profile), as the key daemon would.
func (s *Server) MintKey(ctx context.Context, profile string) (realtime.Key, error) {
	p, err := s.Provider(profile)
	if err != nil {
		return realtime.Key{}, err
	}
	return p.Mint(ctx, nil)
}

// NewKey registers a key of dialect d valid for ttl without an HTTP request (ttl <= 0
// gives an expired key).
func (s *Server) NewKey(d events.Dialect, ttl time.Duration) realtime.Key {
	now := time.Now()
	k := realtime.Key{Value: randomKey(), ExpiresAt: now.Add(ttl), Dialect: d, MintedAt: now}
	base := s.URL()
	if d == events.Preview {
		k.Profile, k.SDPURL = "azure-preview", base+"/v1/realtimertc?model="+DefaultPreviewModel
	} else {
		k.Profile, k.SDPURL = "openai", base+"/v1/realtime/calls"
	}
	s.mu.Lock()
	s.keys[k.Value] = keyRecord{dialect: d, expires: k.ExpiresAt, profile: k.Profile}
	s.mu.Unlock()
	return k
}

// trimBearer returns the token of an "Authorization: Bearer x" header.
func trimBearer(h string) (string, bool) {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return strings.TrimSpace(tok), ok && strings.TrimSpace(tok) != ""
}

// KeySource mints a fresh key through provisioning's provider of Profile for every Key
// call; it satisfies rtc.KeySource, for sessions that reconnect against the emulator.
type KeySource struct {
	Server  *Server
	Profile string // as for MintKey
}

// Key mints one key.
func (k KeySource) Key(ctx context.Context) (realtime.Key, error) {
	return k.Server.MintKey(ctx, k.Profile)
}
