package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edgevoice/edgevoice/realtime"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BrokerRequest is the optional body of POST /v1/keys.
type BrokerRequest struct {
	Session *realtime.SessionDefaults `json:"session,omitempty"` // refused if the broker pins them
}

// BrokerResponse is the answer of POST /v1/keys.
type BrokerResponse struct {
	Value     string                    `json:"value"`
	ExpiresAt int64                     `json:"expires_at"` // Unix seconds
	WebRTCURL string                    `json:"webrtc_url"`
	Protocol  string                    `json:"protocol"` // "ga" or "preview"
	Profile   string                    `json:"profile"`  // upstream profile that minted it
	Session   *realtime.SessionDefaults `json:"session,omitempty"`
}

// BrokerOption configures NewBroker.
type BrokerOption func(*Broker) error

// WithPinnedSession makes the broker refuse device session overrides: every key is
// minted with the upstream provider's configured session defaults, which are returned to
// the device with the key.
func WithPinnedSession(defaults realtime.SessionDefaults) BrokerOption {
	return func(b *Broker) error { b.pinned = true; b.defaults = defaults; return nil }
}

// WithBrokerSessionDefaults sets the session settings keys are minted with (not pinned: a device may
// send its own instructions, voice or tools).
func WithBrokerSessionDefaults(defaults realtime.SessionDefaults) BrokerOption {
	return func(b *Broker) error { b.defaults = defaults; return nil }
}

// WithRateLimit allows each device perMinute keys per minute with bursts of burst.
func WithRateLimit(perMinute float64, burst int) BrokerOption {
	return func(b *Broker) error {
		if perMinute <= 0 || burst < 1 {
			return fmt.Errorf("provisioning: bad rate limit %g/min burst %d", perMinute, burst)
		}
		b.rate, b.burst = perMinute/60, float64(burst)
		return nil
	}
}

// WithClientCertAuth also accepts devices that present a verified TLS client certificate
// whose subject common name is the name of a device record (mutual TLS instead of a
// token). The http.Server's TLS config must verify client certificates (ClientCAs).
func WithClientCertAuth() BrokerOption {
	return func(b *Broker) error { b.certAuth = true; return nil }
}

// WithBrokerClock sets the clock of the rate limiter.
func WithBrokerClock(c Clock) BrokerOption {
	return func(b *Broker) error { b.clock = c; return nil }
}

// WithBrokerLogger sets the logger (nil discards). Tokens and keys are never logged.
func WithBrokerLogger(l *slog.Logger) BrokerOption {
	return func(b *Broker) error { b.logger = l; return nil }
}

// Broker is the reference key backend for fleets: it holds the upstream credential,
// authenticates devices by token and mints upstream keys for them. Its only state is the
// device records (the rate-limit buckets are per instance).
type Broker struct {
	up       Provider
	store    *DeviceStore
	pinned   bool
	certAuth bool
	defaults realtime.SessionDefaults
	rate     float64 // tokens per second
	burst    float64
	clock    Clock
	logger   *slog.Logger

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Broker defaults: 6 keys a minute per device, bursts of 3.
const (
	DefaultBrokerRatePerMinute = 6
	DefaultBrokerBurst         = 3
	maxBrokerRequest           = 16 << 10
)

// NewBroker returns the HTTP handler of a broker in front of upstream.
func NewBroker(upstream Provider, store *DeviceStore, opts ...BrokerOption) (*Broker, error) {
	if upstream == nil || store == nil {
		return nil, errors.New("BUG: provisioning: NewBroker needs an upstream and a device store")
	}
	if upstream.Profile() == ProfileBroker {
		return nil, errors.New("provisioning: a broker's upstream cannot be another broker profile")
	}
	b := &Broker{up: upstream, store: store, buckets: map[string]*bucket{}}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	if b.rate == 0 {
		b.rate, b.burst = DefaultBrokerRatePerMinute/60.0, DefaultBrokerBurst
	}
	if b.clock == nil {
		b.clock = SystemClock{}
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	return b, nil
}

// ServeHTTP serves POST /v1/keys and GET /healthz.
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/healthz":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
		return
	case "/v1/keys":
	default:
		brokerError(w, http.StatusNotFound, "not_found", "unknown path (POST /v1/keys)")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		brokerError(w, http.StatusMethodNotAllowed, "invalid_request_error", "use POST")
		return
	}
	dev, ok := b.authenticate(r)
	if !ok {
		b.logger.Warn("device authentication failed", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="edgevoice"`)
		brokerError(w, http.StatusUnauthorized, "invalid_token", "unknown or disabled device token")
		return
	}
	if wait := b.allow(dev.Name); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		brokerError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "too many keys for this device")
		return
	}
	var req BrokerRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBrokerRequest+1))
	if err != nil || len(body) > maxBrokerRequest {
		brokerError(w, http.StatusBadRequest, "invalid_request_error", "request body unreadable or larger than 16 KiB")
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			brokerError(w, http.StatusBadRequest, "invalid_request_error", "bad JSON body: "+shortErr(err))
			return
		}
	}
	var over *realtime.SessionDefaults
	if req.Session != nil && !req.Session.IsZero() {
		if b.pinned {
			brokerError(w, http.StatusForbidden, "session_pinned", "this broker pins the session settings; send no session")
			return
		}
		if len(req.Session.Tools) > 0 && !json.Valid(req.Session.Tools) {
			brokerError(w, http.StatusBadRequest, "invalid_request_error", "session.tools is not valid JSON")
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
	resp := BrokerResponse{Value: k.Value, ExpiresAt: k.ExpiresAt.Unix(), WebRTCURL: k.SDPURL,
		Protocol: k.Dialect.String(), Profile: k.Profile}
	if !eff.IsZero() {
		resp.Session = &eff
	}
	b.logger.Info("key issued", "device", dev.Name, "profile", k.Profile, "expires", k.ExpiresAt.UTC().Format(time.RFC3339))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// authenticate finds the device by its bearer token or, with WithClientCertAuth, by its
// verified client certificate.
func (b *Broker) authenticate(r *http.Request) (DeviceRecord, bool) {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return b.store.Authenticate(strings.TrimSpace(token))
	}
	if b.certAuth && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		if cn := r.TLS.VerifiedChains[0][0].Subject.CommonName; cn != "" {
			return b.store.Lookup(cn)
		}
	}
	return DeviceRecord{}, false
}

// upstreamError maps an upstream failure: the device's own credential was fine, so an
// upstream 401/403 must not look like one to it.
func (b *Broker) upstreamError(w http.ResponseWriter, dev string, err error) {
	b.logger.Error("upstream mint failed", "device", dev, "err", err)
	var he *HTTPError
	switch {
	case errors.Is(err, ErrCredentialRejected):
		brokerError(w, http.StatusBadGateway, "upstream_error", "the broker's upstream credential was rejected; tell the operator")
	case errors.As(err, &he) && (he.StatusCode == http.StatusTooManyRequests || he.StatusCode == http.StatusServiceUnavailable):
		ra := max(he.RetryAfter, time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.Seconds()))))
		brokerError(w, http.StatusServiceUnavailable, "upstream_busy", "the upstream is busy; retry later")
	case errors.Is(err, context.DeadlineExceeded):
		brokerError(w, http.StatusGatewayTimeout, "upstream_timeout", "the upstream did not answer in time")
	default:
		brokerError(w, http.StatusBadGateway, "upstream_error", "the upstream failed to mint a key")
	}
}

// brokerError writes the OpenAI-style error shape {"error":{"message","type"}}.
func brokerError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg, "type": typ}})
}

// allow takes one token from the device's bucket; it returns how long to wait if empty.
func (b *Broker) allow(dev string) time.Duration {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[dev]
	if bk == nil {
		bk = &bucket{tokens: b.burst, last: now}
		b.buckets[dev] = bk
	}
	bk.tokens = min(b.burst, bk.tokens+now.Sub(bk.last).Seconds()*b.rate)
	bk.last = now
	if bk.tokens >= 1 {
		bk.tokens--
		return 0
	}
	return time.Duration((1 - bk.tokens) / b.rate * float64(time.Second))
}
