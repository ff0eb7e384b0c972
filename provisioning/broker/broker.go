package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"
)

// Request is the optional body of POST /v1/keys.
type Request struct {
	Session *realtime.SessionDefaults `json:"session,omitempty"` // refused if the broker pins them
}

// Response is the answer of POST /v1/keys.
type Response struct {
	Value     string                    `json:"value"`
	ExpiresAt int64                     `json:"expires_at"` // Unix seconds
	WebRTCURL string                    `json:"webrtc_url"`
	Protocol  string                    `json:"protocol"` // "ga" or "preview"
	Profile   string                    `json:"profile"`  // upstream profile that minted it
	Session   *realtime.SessionDefaults `json:"session,omitempty"`
	Pinned    bool                      `json:"pinned,omitempty"` // Session is pinned: devices must not override it
}

// Option configures New.
type Option func(*Server) error

// WithPinnedSession makes the broker mint every key with defaults and refuse device
// session overrides.
func WithPinnedSession(defaults realtime.SessionDefaults) Option {
	return func(b *Server) error { b.pinned = true; b.defaults = defaults; return nil }
}

// WithSessionDefaults sets the session settings keys are minted with (not pinned: a
// device may send its own instructions, voice or tools).
func WithSessionDefaults(defaults realtime.SessionDefaults) Option {
	return func(b *Server) error { b.defaults = defaults; return nil }
}

// WithRateLimit allows each device perMinute keys per minute with bursts of burst.
func WithRateLimit(perMinute float64, burst int) Option {
	return func(b *Server) error {
		if perMinute <= 0 || burst < 1 {
			return fmt.Errorf("broker: bad rate limit %g/min burst %d", perMinute, burst)
		}
		b.rate, b.burst = rate.Limit(perMinute/60), burst
		return nil
	}
}

// WithClientCertAuth also accepts devices that present a verified TLS client certificate
// whose subject common name is the name of a device record (mutual TLS instead of a
// token). The http.Server's TLS config must verify client certificates (ClientCAs).
func WithClientCertAuth() Option {
	return func(b *Server) error { b.certAuth = true; return nil }
}

// WithClock sets the clock of the rate limiter (tests use a fake one).
func WithClock(c clockwork.Clock) Option {
	return func(b *Server) error { b.clock = c; return nil }
}

// WithLogger sets the logger (nil discards). Tokens and keys are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(b *Server) error { b.logger = l; return nil }
}

// Server is the reference key backend for fleets: it holds the upstream credential,
// authenticates devices by token and mints upstream keys for them. Its only state is the
// device records (the rate-limit buckets are per instance).
type Server struct {
	up       provisioning.Provider
	store    *Store
	pinned   bool
	certAuth bool
	defaults realtime.SessionDefaults
	rate     rate.Limit // keys per second per device
	burst    int
	clock    clockwork.Clock
	logger   *slog.Logger

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // per device name
}

// Defaults of WithRateLimit: 6 keys a minute per device, bursts of 3.
const (
	defaultRatePerMinute = 6
	defaultBurst         = 3
	maxRequest           = 16 << 10
)

// New returns the HTTP handler of a broker in front of upstream.
func New(upstream provisioning.Provider, store *Store, opts ...Option) (*Server, error) {
	if upstream == nil || store == nil {
		return nil, errors.New("BUG: broker: New needs an upstream and a device store")
	}
	if upstream.Profile() == provisioning.ProfileBroker {
		return nil, errors.New("broker: a broker's upstream cannot be another broker profile")
	}
	b := &Server{up: upstream, store: store, limiters: map[string]*rate.Limiter{}}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	if b.rate == 0 {
		b.rate, b.burst = rate.Limit(defaultRatePerMinute/60.0), defaultBurst
	}
	if b.clock == nil {
		b.clock = clockwork.NewRealClock()
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	return b, nil
}

// ServeHTTP serves POST /v1/keys and GET /healthz.
func (b *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/healthz":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
		return
	case "/v1/keys":
	default:
		writeError(w, http.StatusNotFound, "not_found", "unknown path (POST /v1/keys)")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "use POST")
		return
	}
	dev, ok := b.authenticate(r)
	if !ok {
		b.logger.Warn("device authentication failed", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="edgevoice"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "unknown or disabled device token")
		return
	}
	if wait := b.allow(dev.Name); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "too many keys for this device")
		return
	}
	var req Request
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil || len(body) > maxRequest {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "request body unreadable or larger than 16 KiB")
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "bad JSON body: "+shortErr(err))
			return
		}
	}
	var over *realtime.SessionDefaults
	if req.Session != nil && !req.Session.IsZero() {
		if b.pinned {
			writeError(w, http.StatusForbidden, "session_pinned", "this broker pins the session settings; send no session")
			return
		}
		if len(req.Session.Tools) > 0 && !json.Valid(req.Session.Tools) {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "session.tools is not valid JSON")
			return
		}
		over = req.Session
	}
	// the key is minted with the broker's defaults (pinned or not) and the device's
	// overrides, so the settings the answer reports are the ones the key carries
	eff := b.defaults.Merged(over)
	var mintWith *realtime.SessionDefaults
	if !eff.IsZero() {
		mintWith = &eff
	}
	k, err := b.up.Mint(r.Context(), mintWith)
	if err != nil {
		b.upstreamError(w, dev.Name, err)
		return
	}
	resp := Response{Value: k.Value, ExpiresAt: k.ExpiresAt.Unix(), WebRTCURL: k.SDPURL,
		Protocol: k.Dialect.String(), Profile: k.Profile}
	if !eff.IsZero() {
		resp.Session = &eff
		resp.Pinned = b.pinned
	}
	b.logger.Info("key issued", "device", dev.Name, "profile", k.Profile, "expires", k.ExpiresAt.UTC().Format(time.RFC3339))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// authenticate finds the device by its bearer token or, with WithClientCertAuth, by its
// verified client certificate.
func (b *Server) authenticate(r *http.Request) (Device, bool) {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return b.store.Authenticate(strings.TrimSpace(token))
	}
	if b.certAuth && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		if cn := r.TLS.VerifiedChains[0][0].Subject.CommonName; cn != "" {
			return b.store.Lookup(cn)
		}
	}
	return Device{}, false
}

// upstreamError maps an upstream failure: the device's own credential was fine, so an
// upstream 401/403 must not look like one to it.
func (b *Server) upstreamError(w http.ResponseWriter, dev string, err error) {
	b.logger.Error("upstream mint failed", "device", dev, "err", err)
	var he *provisioning.HTTPError
	switch {
	case errors.Is(err, provisioning.ErrCredentialRejected):
		writeError(w, http.StatusBadGateway, "upstream_error", "the broker's upstream credential was rejected; tell the operator")
	case errors.As(err, &he) && (he.StatusCode == http.StatusTooManyRequests || he.StatusCode == http.StatusServiceUnavailable):
		ra := max(he.RetryAfter, time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.Seconds()))))
		writeError(w, http.StatusServiceUnavailable, "upstream_busy", "the upstream is busy; retry later")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "upstream_timeout", "the upstream did not answer in time")
	default:
		writeError(w, http.StatusBadGateway, "upstream_error", "the upstream failed to mint a key")
	}
}

// writeError writes the OpenAI-style error shape {"error":{"message","type"}}.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg, "type": typ}})
}

// allow takes one token from the device's limiter; it returns how long to wait if none
// is left.
func (b *Server) allow(dev string) time.Duration {
	now := b.clock.Now()
	b.mu.Lock()
	lim := b.limiters[dev]
	if lim == nil {
		lim = rate.NewLimiter(b.rate, b.burst)
		b.limiters[dev] = lim
	}
	b.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// shortErr is err's text cut to 120 bytes, for an answer.
func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
