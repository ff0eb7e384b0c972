package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/broker/wire"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/jonboulle/clockwork"
)

// Request is the optional body of POST /v1/keys (package wire, which the emulator uses
// without linking the broker).
type Request = wire.Request

// Response is the answer of POST /v1/keys.
type Response = wire.Response

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

// WithRateLimit allows each device perMinute keys per minute with bursts of burst,
// counted across every replica sharing the store.
func WithRateLimit(perMinute float64, burst int) Option {
	return func(b *Server) error {
		if !(perMinute > 0 && perMinute < 1e9) || burst < 1 { // NaN and Inf too
			return fmt.Errorf("broker: bad rate limit %g/min burst %d", perMinute, burst)
		}
		b.rate, b.burst = perMinute/60, burst
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

// WithClientRateLimit allows each client address perMinute requests per minute with
// bursts of burst (before authentication: it also bounds guessing and failed-auth work).
func WithClientRateLimit(perMinute float64, burst int) Option {
	return func(b *Server) error {
		if !(perMinute > 0 && perMinute < 1e9) || burst < 1 { // NaN and Inf too
			return fmt.Errorf("broker: bad client rate limit %g/min burst %d", perMinute, burst)
		}
		b.ipRate, b.ipBurst = perMinute/60, burst
		return nil
	}
}

// Server is the reference key backend for fleets: it holds the upstream credential,
// authenticates devices by token and mints upstream keys for them. It keeps no state of
// its own: devices, rate-limit buckets and the audit trail are in the Store, so any
// number of replicas can share one (PostgreSQL).
type Server struct {
	up       provisioning.Provider
	store    Store
	pinned   bool
	certAuth bool
	defaults realtime.SessionDefaults
	rate     float64 // keys per second per device
	burst    int
	ipRate   float64 // requests per second per client address
	ipBurst  int
	clock    clockwork.Clock
	logger   *slog.Logger
	authLog  authLogLimiter
	metrics  metrics
}

// Defaults: 6 keys a minute per device, bursts of 3; 600 requests a minute per client
// address, bursts of 200 (a fleet behind one NAT shares an address).
const (
	defaultRatePerMinute   = 6
	defaultBurst           = 3
	defaultIPRatePerMinute = 600
	defaultIPBurst         = 200
	maxRequest             = 16 << 10
	// storeTimeout bounds each store access, so a hung database answers 503 in time.
	storeTimeout = 2 * time.Second
)

// New returns the HTTP handler of a broker in front of upstream.
func New(upstream provisioning.Provider, store Store, opts ...Option) (*Server, error) {
	if upstream == nil || store == nil {
		return nil, errors.New("BUG: broker: New needs an upstream and a device store")
	}
	if upstream.Profile() == provisioning.ProfileBroker {
		return nil, errors.New("broker: a broker's upstream cannot be another broker profile")
	}
	b := &Server{up: upstream, store: store}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	if b.rate == 0 {
		b.rate, b.burst = defaultRatePerMinute/60.0, defaultBurst
	}
	if b.ipRate == 0 {
		b.ipRate, b.ipBurst = defaultIPRatePerMinute/60.0, defaultIPBurst
	}
	if b.clock == nil {
		b.clock = clockwork.NewRealClock()
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	return b, nil
}

// ServeHTTP serves POST /v1/keys, GET /healthz and GET /metrics.
func (b *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/healthz":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
		return
	case "/metrics":
		b.metrics.write(w)
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
	b.metrics.requests.Add(1)
	client := clientAddr(r)
	// the client address's bucket first: it bounds what unauthenticated requests cost
	if wait, err := b.take(r.Context(), "ip:"+client, b.ipRate, b.ipBurst); err != nil {
		b.storeDown(w, err)
		return
	} else if wait > 0 {
		b.metrics.limitedClient.Add(1)
		tooMany(w, wait, "too many requests from this address")
		return
	}
	dev, err := b.authenticate(r)
	if errors.Is(err, ErrNoDevice) {
		b.metrics.authFailures.Add(1)
		if n, ok := b.authLog.allow(client, b.clock.Now()); ok {
			b.logger.Warn("device authentication failed", "remote", client, "failures_not_logged", n)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="edgevoice"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "unknown or disabled device token")
		return
	} else if err != nil {
		b.storeDown(w, err)
		return
	}
	b.metrics.storeUp.Store(1)
	req, status, msg := decodeRequest(r.Body)
	r.Body.Close()
	if status != 0 {
		b.metrics.badRequests.Add(1)
		writeError(w, status, "invalid_request_error", msg)
		return
	}
	var over *realtime.SessionDefaults
	if req.Session != nil && !req.Session.IsZero() {
		if b.pinned {
			b.metrics.badRequests.Add(1)
			writeError(w, http.StatusForbidden, "session_pinned", "this broker pins the session settings; send no session")
			return
		}
		over = req.Session
	}
	// the device's bucket only now that the request is known to be good
	if wait, err := b.take(r.Context(), "device:"+dev.Name, b.rate, b.burst); err != nil {
		b.storeDown(w, err)
		return
	} else if wait > 0 {
		b.metrics.limitedDevice.Add(1)
		tooMany(w, wait, "too many keys for this device")
		return
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
		if r.Context().Err() != nil {
			// the device hung up: not the upstream's fault, and nobody to answer
			b.metrics.clientGone.Add(1)
			b.logger.Info("device went away before its key was minted", "device", dev.Name)
			return
		}
		b.upstreamError(w, dev.Name, err)
		return
	}
	resp := Response{Value: k.Value, ExpiresAt: k.ExpiresAt.Unix(), WebRTCURL: k.SDPURL,
		Protocol: k.Dialect.String(), Profile: k.Profile}
	if !eff.IsZero() {
		shown := eff
		shown.Tools = redactTools(eff.Tools) // an MCP tool's authorization stays here
		resp.Session = &shown
		resp.Pinned = b.pinned
	}
	b.metrics.mints.Add(1)
	if err := b.record(func(ctx context.Context) error { return b.store.RecordMint(ctx, dev.Name, b.clock.Now()) }); err != nil {
		// the key is minted: hand it over; only the audit counter is behind
		b.metrics.storeErrors.Add(1)
		b.logger.Error("recording a mint in the audit trail failed", "device", dev.Name, "err", err)
	}
	b.logger.Debug("key issued", "device", dev.Name, "profile", k.Profile, "expires", k.ExpiresAt.UTC().Format(time.RFC3339))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// decodeRequest reads and checks a request body: at most 16 KiB, one JSON object (or
// nothing) with only known fields, session.tools a JSON array of objects. status is 0
// for a good request, else the HTTP status to answer with msg.
func decodeRequest(body io.Reader) (req Request, status int, msg string) {
	data, err := io.ReadAll(io.LimitReader(body, maxRequest+1))
	if err != nil {
		return req, http.StatusBadRequest, "request body unreadable"
	}
	if len(data) > maxRequest {
		return req, http.StatusRequestEntityTooLarge, "request body larger than 16 KiB"
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return req, 0, ""
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, http.StatusBadRequest, "bad JSON body: " + shortErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, http.StatusBadRequest, "bad JSON body: data after the JSON object"
	}
	if req.Session != nil && len(req.Session.Tools) > 0 {
		var tools []map[string]json.RawMessage
		if err := json.Unmarshal(req.Session.Tools, &tools); err != nil || tools == nil {
			return Request{}, http.StatusBadRequest, "session.tools must be a JSON array of tool objects"
		}
		for _, t := range tools {
			if t == nil {
				return Request{}, http.StatusBadRequest, "session.tools must be a JSON array of tool objects"
			}
		}
	}
	return req, 0, ""
}

// take takes from a shared bucket within storeTimeout.
func (b *Server) take(ctx context.Context, key string, perSecond float64, burst int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return b.store.Take(ctx, key, perSecond, burst, b.clock.Now())
}

// record runs a store write within storeTimeout, unaffected by the client going away.
func (b *Server) record(f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return f(ctx)
}

// storeDown fails closed: no key without a readable store.
func (b *Server) storeDown(w http.ResponseWriter, err error) {
	b.metrics.storeErrors.Add(1)
	b.metrics.storeUp.Store(0)
	if b.authLog.allowStore(b.clock.Now()) {
		b.logger.Error("device store unavailable: refusing to mint", "err", err)
	}
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "store_unavailable", "the broker cannot read its device store; retry later")
}

func tooMany(w http.ResponseWriter, wait time.Duration, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", msg)
}

// clientAddr is the request's client IP address (no port).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate finds the device by its bearer token or, with WithClientCertAuth, by its
// verified client certificate. ErrNoDevice: not a known, enabled device.
func (b *Server) authenticate(r *http.Request) (Device, error) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return b.store.ByToken(ctx, strings.TrimSpace(token), b.clock.Now())
	}
	if b.certAuth && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		if cn := r.TLS.VerifiedChains[0][0].Subject.CommonName; cn != "" {
			return b.store.ByName(ctx, cn)
		}
	}
	return Device{}, ErrNoDevice
}

// upstreamError maps an upstream failure: the device's own credential was fine, so an
// upstream 401/403 must not look like one to it.
func (b *Server) upstreamError(w http.ResponseWriter, dev string, err error) {
	b.metrics.upstreamErrors.Add(1)
	b.logger.Error("upstream mint failed", "device", dev, "err", err)
	var he *provisioning.HTTPError
	status, typ, msg := http.StatusBadGateway, "upstream_error", "the upstream failed to mint a key"
	switch {
	case errors.Is(err, provisioning.ErrCredentialRejected):
		msg = "the broker's upstream credential was rejected; tell the operator"
	case errors.As(err, &he) && (he.StatusCode == http.StatusTooManyRequests || he.StatusCode == http.StatusServiceUnavailable):
		ra := max(he.RetryAfter, time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.Seconds()))))
		status, typ, msg = http.StatusServiceUnavailable, "upstream_busy", "the upstream is busy; retry later"
	case errors.Is(err, context.DeadlineExceeded):
		status, typ, msg = http.StatusGatewayTimeout, "upstream_timeout", "the upstream did not answer in time"
	}
	// the audit trail gets the answer's words, never the upstream's (which may echo a
	// credential)
	if rerr := b.record(func(ctx context.Context) error {
		return b.store.RecordError(ctx, dev, fmt.Sprintf("%d %s: %s", status, typ, msg), b.clock.Now())
	}); rerr != nil && !errors.Is(rerr, ErrNoDevice) {
		b.metrics.storeErrors.Add(1)
		b.logger.Error("recording an error in the audit trail failed", "device", dev, "err", rerr)
	}
	writeError(w, status, typ, msg)
}

// writeError writes the OpenAI-style error shape {"error":{"message","type"}}.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg, "type": typ}})
}

// shortErr is err's text cut to 120 bytes, for an answer.
func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
