package provisioning

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
)

// fakeClock is a manual clock: timers fire only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	created int
	cond    *sync.Cond
}

type fakeTimer struct {
	clk     *fakeClock
	c       chan time.Time
	at      time.Time
	pending bool
}

func newFakeClock(start time.Time) *fakeClock {
	f := &fakeClock{now: start}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{clk: f, c: make(chan time.Time, 1), at: f.now.Add(d), pending: true}
	if d <= 0 {
		t.pending = false
		t.c <- f.now
	} else {
		f.timers = append(f.timers, t)
	}
	f.created++
	f.cond.Broadcast()
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	was := t.pending
	t.pending = false
	return was
}

// Advance moves the clock and fires the timers that are due.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.fireLocked()
}

func (f *fakeClock) fireLocked() {
	keep := f.timers[:0]
	for _, t := range f.timers {
		if !t.pending {
			continue
		}
		if !t.at.After(f.now) {
			t.pending = false
			t.c <- f.now
			continue
		}
		keep = append(keep, t)
	}
	f.timers = keep
}

// AdvanceToNext jumps to the earliest pending timer and fires it; it returns the jump.
func (f *fakeClock) AdvanceToNext() (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var next time.Time
	for _, t := range f.timers {
		if t.pending && (next.IsZero() || t.at.Before(next)) {
			next = t.at
		}
	}
	if next.IsZero() {
		return 0, false
	}
	d := next.Sub(f.now)
	f.now = next
	f.fireLocked()
	return d, true
}

// WaitCreated blocks until at least n timers were ever created (real-time bound 10 s).
func (f *fakeClock) WaitCreated(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.created < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for timer #%d (have %d)", n, f.created)
		}
		f.mu.Unlock()
		runtime.Gosched()
		time.Sleep(200 * time.Microsecond)
		f.mu.Lock()
	}
}

func (f *fakeClock) Created() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created
}

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testAPIKey = "AZ-SECRET-API-KEY-0123456789abcdef"
	testDeploy = "gpt-realtime-dep"
)

// recorded is one request a fake backend saw.
type recorded struct {
	Method, Path, Query string
	APIKey, Auth        string
	Body                map[string]any
	At                  time.Time
}

// fakeBackend is an Azure/OpenAI mint endpoint on loopback that speaks the documented
// wire formats. handle, if set, answers instead of the default success.
type fakeBackend struct {
	t      testing.TB
	clk    Clock
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	n      atomic.Int64
	handle func(w http.ResponseWriter, r *http.Request, rec recorded) bool
	ttl    time.Duration
}

func newFakeBackend(t testing.TB, clk Clock) *fakeBackend {
	b := &fakeBackend{t: t, clk: clk, ttl: 10 * time.Minute}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *fakeBackend) gaURL() string     { return b.srv.URL + "/openai/v1/realtime/client_secrets" }
func (b *fakeBackend) openaiURL() string { return b.srv.URL + "/v1/realtime/client_secrets" }
func (b *fakeBackend) previewURL() string {
	return b.srv.URL + "/openai/realtimeapi/sessions?api-version=" + PreviewAPIVersion
}

func (b *fakeBackend) requests() []recorded {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]recorded(nil), b.reqs...)
}

func (b *fakeBackend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, APIKey: r.Header.Get("api-key"),
		Auth: r.Header.Get("Authorization"), At: b.clk.Now()}
	json.Unmarshal(body, &rec.Body)
	b.mu.Lock()
	b.reqs = append(b.reqs, rec)
	b.mu.Unlock()
	n := b.n.Add(1)
	if b.handle != nil && b.handle(w, r, rec) {
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		apiError(w, 400, "invalid_request_error", "POST application/json expected")
		return
	}
	exp := b.clk.Now().Add(b.ttl).Unix()
	val := fmt.Sprintf("ek_test%08d_abcdefghijklmnop", n)
	switch r.URL.Path {
	case "/openai/realtimeapi/sessions": // Azure preview
		if r.URL.Query().Get("api-version") != PreviewAPIVersion || rec.APIKey == "" {
			apiError(w, 401, "unauthorized", "api-key and api-version required")
			return
		}
		if _, bad := rec.Body["type"]; bad {
			apiError(w, 400, "invalid_request_error", "Unknown parameter: 'type'.")
			return
		}
		if _, ok := rec.Body["session"]; ok || rec.Body["model"] == nil {
			apiError(w, 400, "invalid_request_error", "flat session body with model expected")
			return
		}
		writeJSON(w, map[string]any{"id": "sess_1", "object": "realtime.session", "model": rec.Body["model"],
			"voice": rec.Body["voice"], "client_secret": map[string]any{"value": val, "expires_at": b.clk.Now().Add(time.Minute).Unix()}})
	case "/openai/v1/realtime/client_secrets", "/v1/realtime/client_secrets": // Azure GA, OpenAI GA
		if r.URL.RawQuery != "" {
			apiError(w, 400, "invalid_request_error", "GA endpoints take no api-version")
			return
		}
		if rec.APIKey == "" && !strings.HasPrefix(rec.Auth, "Bearer ") {
			apiError(w, 401, "invalid_api_key", "no credential")
			return
		}
		sess, _ := rec.Body["session"].(map[string]any)
		if sess == nil || sess["type"] != "realtime" || sess["model"] == nil {
			apiError(w, 400, "invalid_request_error", "Missing required parameter: 'session.type'.")
			return
		}
		writeJSON(w, map[string]any{"value": val, "expires_at": exp,
			"session": map[string]any{"type": "realtime", "object": "realtime.session", "id": "sess_2", "model": sess["model"]}})
	default:
		apiError(w, 404, "not_found", "Resource not found")
	}
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": nil, "param": nil}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// checkGoroutines fails t if goroutines started during the test are still running at
// its end (after a grace period for ones that are just returning).
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var after int
		// up to 30 s: a busy machine or qemu takes long to run the returning goroutines
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
