// Package provtest holds the test doubles shared by the tests of provisioning, keyd and
// broker: a fake clock on clockwork that can jump to its next timer, a mint backend that
// speaks the providers' documented wire shapes on loopback, and a goroutine-leak check.
// Only tests import it.
package provtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// Start is the fake clocks' start time.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Test credentials and names.
const (
	APIKey     = "AZ-SECRET-API-KEY-0123456789abcdef"
	Deployment = "gpt-realtime-dep"
	// PreviewAPIVersion is the api-version the fake preview endpoint demands (the same
	// literal as provisioning.PreviewAPIVersion, written out so a change there fails).
	PreviewAPIVersion = "2025-04-01-preview"
)

// Clock is a clockwork fake clock that also records the timers made on it, so a test can
// wait for the code under test to park on a timer (WaitCreated) and jump straight to the
// earliest one (AdvanceToNext).
type Clock struct {
	*clockwork.FakeClock
	mu      sync.Mutex
	timers  []*timer
	created int
}

type timer struct {
	clockwork.Timer
	clk     *Clock
	at      time.Time
	stopped bool
}

// NewClock returns a fake clock at start.
func NewClock(start time.Time) *Clock {
	return &Clock{FakeClock: clockwork.NewFakeClockAt(start)}
}

// NewTimer makes a clockwork fake timer and records it.
func (c *Clock) NewTimer(d time.Duration) clockwork.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{Timer: c.FakeClock.NewTimer(d), clk: c, at: c.FakeClock.Now().Add(d)}
	c.timers = append(c.timers, t)
	c.created++
	return t
}

// Stop stops the timer and forgets it for AdvanceToNext.
func (t *timer) Stop() bool {
	t.clk.mu.Lock()
	t.stopped = true
	t.clk.mu.Unlock()
	return t.Timer.Stop()
}

// Reset re-arms the timer d from now.
func (t *timer) Reset(d time.Duration) bool {
	t.clk.mu.Lock()
	t.stopped = false
	t.at = t.clk.FakeClock.Now().Add(d)
	t.clk.mu.Unlock()
	return t.Timer.Reset(d)
}

// AdvanceToNext jumps to the earliest pending timer and fires it; it returns the jump
// and false if no timer is pending.
func (c *Clock) AdvanceToNext() (time.Duration, bool) {
	c.mu.Lock()
	now := c.FakeClock.Now()
	var next time.Time
	keep := c.timers[:0]
	for _, t := range c.timers {
		if t.stopped || !t.at.After(now) {
			continue // stopped or already fired
		}
		keep = append(keep, t)
		if next.IsZero() || t.at.Before(next) {
			next = t.at
		}
	}
	c.timers = keep
	c.mu.Unlock()
	if next.IsZero() {
		return 0, false
	}
	d := next.Sub(now)
	c.Advance(d)
	return d, true
}

// WaitCreated blocks until at least n timers were ever created (bounded by 30 s of real
// time, for busy machines).
func (c *Clock) WaitCreated(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		got := c.created
		c.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for timer %d (%d created)", n, got)
		}
		time.Sleep(time.Millisecond)
	}
}

// Created returns how many timers were made so far.
func (c *Clock) Created() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.created
}

// Recorded is one request a Backend saw.
type Recorded struct {
	Method, Path, Query string
	APIKey, Auth        string
	Body                map[string]any
	At                  time.Time
}

// Backend is an Azure/OpenAI mint endpoint on loopback that speaks the documented wire
// formats. Handle, if set, answers instead of the default success when it returns true.
type Backend struct {
	Srv    *httptest.Server
	N      atomic.Int64 // requests so far
	Handle func(w http.ResponseWriter, r *http.Request, rec Recorded) bool
	TTL    time.Duration // lifetime of GA keys (default 10 minutes)

	clk  clockwork.Clock
	mu   sync.Mutex
	reqs []Recorded
}

// NewBackend starts a backend that stamps keys with clk's time; it stops with t.
func NewBackend(t testing.TB, clk clockwork.Clock) *Backend {
	b := NewHandler(clk)
	b.Srv = httptest.NewServer(b)
	t.Cleanup(b.Srv.Close)
	return b
}

// NewHandler returns a backend without a server (Srv is nil), for a test that serves it
// itself (over TLS, for example).
func NewHandler(clk clockwork.Clock) *Backend {
	return &Backend{clk: clk, TTL: 10 * time.Minute}
}

// GAURL is the Azure GA mint URL.
func (b *Backend) GAURL() string { return b.Srv.URL + "/openai/v1/realtime/client_secrets" }

// OpenAIURL is the OpenAI mint URL.
func (b *Backend) OpenAIURL() string { return b.Srv.URL + "/v1/realtime/client_secrets" }

// PreviewURL is the Azure preview mint URL.
func (b *Backend) PreviewURL() string {
	return b.Srv.URL + "/openai/realtimeapi/sessions?api-version=" + PreviewAPIVersion
}

// Requests returns a copy of the requests so far.
func (b *Backend) Requests() []Recorded {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Recorded(nil), b.reqs...)
}

// ServeHTTP answers one request.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, APIKey: r.Header.Get("api-key"),
		Auth: r.Header.Get("Authorization"), At: b.clk.Now()}
	json.Unmarshal(body, &rec.Body)
	b.mu.Lock()
	b.reqs = append(b.reqs, rec)
	b.mu.Unlock()
	n := b.N.Add(1)
	if b.Handle != nil && b.Handle(w, r, rec) {
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		APIError(w, 400, "invalid_request_error", "POST application/json expected")
		return
	}
	exp := b.clk.Now().Add(b.TTL).Unix()
	val := fmt.Sprintf("ek_test%08d_abcdefghijklmnop", n)
	switch r.URL.Path {
	case "/openai/realtimeapi/sessions": // Azure preview
		if r.URL.Query().Get("api-version") != PreviewAPIVersion || rec.APIKey == "" {
			APIError(w, 401, "unauthorized", "api-key and api-version required")
			return
		}
		if _, bad := rec.Body["type"]; bad {
			APIError(w, 400, "invalid_request_error", "Unknown parameter: 'type'.")
			return
		}
		if _, ok := rec.Body["session"]; ok || rec.Body["model"] == nil {
			APIError(w, 400, "invalid_request_error", "flat session body with model expected")
			return
		}
		WriteJSON(w, map[string]any{"id": "sess_1", "object": "realtime.session", "model": rec.Body["model"],
			"voice": rec.Body["voice"], "client_secret": map[string]any{"value": val, "expires_at": b.clk.Now().Add(time.Minute).Unix()}})
	case "/openai/v1/realtime/client_secrets", "/v1/realtime/client_secrets": // Azure GA, OpenAI GA
		if r.URL.RawQuery != "" {
			APIError(w, 400, "invalid_request_error", "GA endpoints take no api-version")
			return
		}
		if rec.APIKey == "" && !strings.HasPrefix(rec.Auth, "Bearer ") {
			APIError(w, 401, "invalid_api_key", "no credential")
			return
		}
		sess, _ := rec.Body["session"].(map[string]any)
		if sess == nil || sess["type"] != "realtime" || sess["model"] == nil {
			APIError(w, 400, "invalid_request_error", "Missing required parameter: 'session.type'.")
			return
		}
		WriteJSON(w, map[string]any{"value": val, "expires_at": exp,
			"session": map[string]any{"type": "realtime", "object": "realtime.session", "id": "sess_2", "model": sess["model"]}})
	default:
		APIError(w, 404, "not_found", "Resource not found")
	}
}

// APIError answers an OpenAI-shaped error.
func APIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": nil, "param": nil}})
}

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// CheckGoroutines fails t if goroutines started during the test are still running at
// its end (after up to 30 s of grace, for busy machines and qemu).
func CheckGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var after int
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
			after = runtime.NumGoroutine()
			if after <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		buf := make([]byte, 1<<16)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutine leak: %d before, %d after\n%s", before, after, buf[:n])
	})
}

// WaitFor polls cond until it holds (bounded by 30 s of real time).
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Clock returns the clock the backend stamps keys with.
func (b *Backend) Clock() clockwork.Clock { return b.clk }
