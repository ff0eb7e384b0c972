package provisioning

import (
	"context"
	"errors"
	"github.com/edgevoice/edgevoice/realtime"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// startDaemon runs a daemon against b until the test ends.
func startDaemon(t *testing.T, b *fakeBackend, clk *fakeClock, opts ...DaemonOption) *Daemon {
	t.Helper()
	p := azureGA(t, b)
	d, err := NewDaemon(p, append([]DaemonOption{WithDaemonClock(clk), WithRefillDelay(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "daemon running", func() bool { return d.Status().State != StateStarting })
	return d
}

func TestDaemonBackoffWhileDownAndNoStormAfter(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	var down atomic.Bool
	down.Store(true)
	b.handle = func(w http.ResponseWriter, r *http.Request, _ recorded) bool {
		if down.Load() {
			apiError(w, 503, "server_error", "The service is temporarily unavailable")
			return true
		}
		return false
	}
	const bmin, bmax = time.Second, 30 * time.Second
	d := startDaemon(t, b, clk, WithBackoff(bmin, bmax), WithJitter(func() float64 { return 0.9999 }))

	// 30 simulated minutes of outage: step from timer to timer. After each step wait
	// until the daemon has parked on its next timer.
	clk.WaitCreated(t, 1)
	created := 1
	for clk.Now().Sub(testStart) < 30*time.Minute {
		if created == 2 { // in backoff: a get must not reach the backend
			n := b.n.Load()
			_, err := d.Get(context.Background(), time.Second)
			if !errors.Is(err, ErrUnavailable) || b.n.Load() != n {
				t.Fatalf("get during backoff: err %v, backend asked %d more times", err, b.n.Load()-n)
			}
		}
		clk.AdvanceToNext()
		clk.WaitCreated(t, created+1)
		created = clk.Created()
	}
	reqs := b.requests()
	wait := bmin
	for i := 1; i < len(reqs); i++ {
		gap := reqs[i].At.Sub(reqs[i-1].At)
		if gap < wait || gap > wait+wait/5 {
			t.Errorf("gap %d = %s, want %s..%s", i, gap, wait, wait+wait/5)
		}
		wait = min(2*wait, bmax)
	}
	// at most one request per max interval once saturated, and in total no more than
	// the ramp plus one per max interval
	if max := 30*time.Minute/bmax + 6; len(reqs) > int(max) {
		t.Errorf("%d requests in 30 min of outage, want at most %d", len(reqs), max)
	}
	st := d.Status()
	if st.State != StateBackoff || st.ConsecutiveFailures != len(reqs) || !strings.Contains(st.LastError, "HTTP 503") {
		t.Errorf("status while down: %+v", st)
	}

	// The backend returns: the next scheduled attempt succeeds, then only the refresh.
	down.Store(false)
	before := len(reqs)
	recovered := clk.Now()
	for clk.Now().Sub(recovered) < 10*time.Minute+bmax {
		clk.AdvanceToNext()
		clk.WaitCreated(t, created+1)
		created = clk.Created()
	}
	var after []recorded
	for _, r := range b.requests()[before:] {
		if r.At.Sub(recovered) < 10*time.Minute+bmax {
			after = append(after, r)
		}
	}
	// one mint when it comes back, one refresh ~35 s before the 10-minute key expires
	if len(after) < 1 || len(after) > 2 {
		t.Errorf("%d requests in the 10.5 min after recovery, want 1 or 2 (no storm)", len(after))
	}
	waitFor(t, "a ready key", func() bool { st := d.Status(); return st.KeyReady && st.State == StateReady })
	if st := d.Status(); st.ConsecutiveFailures != 0 || st.Minted == 0 {
		t.Errorf("status after recovery: %+v", st)
	}
}

func TestDaemonHonoursRetryAfter(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	var calls atomic.Int64
	b.handle = func(w http.ResponseWriter, r *http.Request, _ recorded) bool {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "120")
			apiError(w, 429, "rate_limit_exceeded", "slow down")
		case 2:
			apiError(w, 429, "rate_limit_exceeded", "slow down") // no Retry-After: backoff
		case 3:
			w.Header().Set("Retry-After", "1") // shorter than the backoff: backoff wins
			apiError(w, 503, "server_error", "busy")
		default:
			return false
		}
		return true
	}
	startDaemon(t, b, clk, WithBackoff(2*time.Second, 30*time.Second), WithJitter(func() float64 { return 0 }))
	for i := 1; i <= 3; i++ {
		clk.WaitCreated(t, i)
		clk.AdvanceToNext()
	}
	waitFor(t, "4 requests", func() bool { return b.n.Load() >= 4 })
	r := b.requests()
	want := []time.Duration{120 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := r[i+1].At.Sub(r[i].At); got != w {
			t.Errorf("gap %d = %s, want %s", i+1, got, w)
		}
	}
}

func TestDaemonCredentialRejectedStops(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	var rejected atomic.Bool
	rejected.Store(true)
	b.handle = func(w http.ResponseWriter, r *http.Request, _ recorded) bool {
		if rejected.Load() {
			apiError(w, 401, "invalid_api_key", "Access denied due to invalid subscription key.")
			return true
		}
		return false
	}
	d := startDaemon(t, b, clk, WithBackoff(time.Second, 10*time.Second), WithRejectedRetry(time.Hour))
	waitFor(t, "rejected", func() bool { return d.Status().State == StateRejected })
	clk.WaitCreated(t, 1)
	clk.Advance(50 * time.Minute)
	for range 20 {
		if _, err := d.Get(context.Background(), time.Second); !errors.Is(err, ErrCredentialRejected) {
			t.Fatalf("get: %v, want credential rejected", err)
		}
	}
	if n := b.n.Load(); n != 1 {
		t.Errorf("backend asked %d times after a 401, want 1", n)
	}
	st := d.Status()
	if !strings.Contains(st.LastError, "credential rejected") || st.NextAttempt.Sub(testStart) != time.Hour {
		t.Errorf("status %+v", st)
	}
	// after rejected_retry one more attempt is made (here: still rejected)
	clk.Advance(10 * time.Minute)
	waitFor(t, "the hourly retry", func() bool { return b.n.Load() == 2 })
	waitFor(t, "rejected again", func() bool { return d.Status().State == StateRejected })
	rejected.Store(false)
	d.Reload()
	waitFor(t, "a key after reload", func() bool { return d.Status().KeyReady })
	if n := b.n.Load(); n != 3 {
		t.Errorf("backend asked %d times, want 3", n)
	}
}

func TestDaemonPrefetchHandsEachKeyOutOnce(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	b.ttl = time.Minute // like the preview keys
	d := startDaemon(t, b, clk, WithMinValidity(20*time.Second))
	waitFor(t, "a ready key", func() bool { return d.Status().KeyReady })
	seen := map[string]bool{}
	for range 5 {
		k, err := d.Get(context.Background(), 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if seen[k.Value] {
			t.Fatalf("key %s handed out twice", realtime.Mask(k.Value))
		}
		seen[k.Value] = true
	}
	// refresh: the ready key is replaced when it has less than 20 s + margin left
	waitFor(t, "a ready key", func() bool { return d.Status().KeyReady })
	n := b.n.Load()
	created := clk.Created()
	clk.Advance(30 * time.Second) // 30 s left: not yet
	if b.n.Load() != n {
		t.Errorf("refreshed too early")
	}
	clk.Advance(6 * time.Second) // 24 s left < 25 s
	waitFor(t, "the refresh", func() bool { return b.n.Load() == n+1 })
	clk.WaitCreated(t, created+1)
	if k, err := d.Get(context.Background(), 50*time.Second); err != nil || k.ExpiresAt.Sub(clk.Now()) != time.Minute {
		t.Errorf("after refresh: %v %v", k, err)
	}
	// asking for more than the backend's lifetime fails clearly
	if _, err := d.Get(context.Background(), 2*time.Minute); err == nil || !strings.Contains(err.Error(), "less than") {
		t.Errorf("2 min from 1-min keys: %v", err)
	}
	st := d.Status()
	if st.HandedOut != 6 || st.Requests != 7 || st.Policy != PolicyPrefetch {
		t.Errorf("status %+v", st)
	}
}

func TestDaemonOnDemand(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	d := startDaemon(t, b, clk, WithPolicy(PolicyOnDemand))
	waitFor(t, "idle", func() bool { return d.Status().State == StateIdle })
	if b.n.Load() != 0 {
		t.Fatalf("on-demand minted before asked")
	}
	k, err := d.Get(context.Background(), time.Minute)
	if err != nil || k.Value == "" || b.n.Load() != 1 {
		t.Fatalf("get: %v %v (requests %d)", k, err, b.n.Load())
	}
	waitFor(t, "idle", func() bool { return d.Status().State == StateIdle })
	if b.n.Load() != 1 || d.Status().KeyReady {
		t.Errorf("on-demand prefetched")
	}
}

func TestDaemonWaitsForSaneClock(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(time.Unix(42, 0)) // an RTC-less board at boot
	b := newFakeBackend(t, clk)
	d := startDaemon(t, b, clk)
	for i := 1; i <= 5; i++ {
		clk.WaitCreated(t, i)
		if st := d.Status().State; st != StateWaitingForClock {
			t.Fatalf("state %v, want waiting-for-clock", st)
		}
		clk.Advance(clockPoll)
	}
	if b.n.Load() != 0 {
		t.Fatalf("minted with the clock at 1970")
	}
	clk.WaitCreated(t, 6)
	clk.Advance(testStart.Sub(clk.Now())) // NTP stepped the clock
	waitFor(t, "a key", func() bool { return d.Status().KeyReady })
}

func TestDaemonGetCancelled(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	release := make(chan struct{})
	b.handle = func(w http.ResponseWriter, r *http.Request, _ recorded) bool {
		<-release
		return false
	}
	d := startDaemon(t, b, clk, WithPolicy(PolicyOnDemand))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := d.Get(ctx, time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("get: %v", err)
	}
	close(release)
	waitFor(t, "the late key kept", func() bool { return d.Status().KeyReady })
	if _, err := d.Get(context.Background(), time.Second); err != nil || b.n.Load() != 1 {
		t.Errorf("the late key was not reused: %v, %d requests", err, b.n.Load())
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for s := StateStarting; s <= StateStopped; s++ {
		b, _ := s.MarshalText()
		var got State
		if err := got.UnmarshalText(b); err != nil || got != s || strings.HasPrefix(s.String(), "State(") {
			t.Errorf("state %d: %q %v", s, b, err)
		}
	}
	for _, p := range []Policy{PolicyPrefetch, PolicyOnDemand} {
		got, err := ParsePolicy(p.String())
		if err != nil || got != p {
			t.Errorf("policy %v: %v", p, err)
		}
	}
	for _, m := range []AuthMode{AuthAPIKey, AuthBearer} {
		got, err := ParseAuthMode(m.String())
		if err != nil || got != m {
			t.Errorf("auth %v: %v", m, err)
		}
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Error("bad policy accepted")
	}
}

func TestDaemonRefillWaitsAfterHandOut(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	d := startDaemon(t, b, clk, WithRefillDelay(2*time.Second))
	waitFor(t, "a ready key", func() bool { return d.Status().KeyReady })
	created := clk.Created()
	if _, err := d.Get(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	clk.WaitCreated(t, created+1) // parked until the refill time
	if n := b.n.Load(); n != 1 {
		t.Fatalf("refilled at once (%d requests)", n)
	}
	clk.Advance(2 * time.Second)
	waitFor(t, "the refill", func() bool { return d.Status().KeyReady })
	// a second press right after the first: minted at once, not after the delay
	if _, err := d.Get(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(context.Background(), time.Second); err != nil || b.n.Load() != 3 {
		t.Fatalf("get right after a hand-out: %v (%d requests)", err, b.n.Load())
	}
}
