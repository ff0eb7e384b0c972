package keyd

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
	"github.com/edgevoice/edgevoice/realtime"
)

// startDaemon runs a daemon against b until the test ends.
func startDaemon(t *testing.T, b *provtest.Backend, clk *provtest.Clock, opts ...Option) *Daemon {
	t.Helper()
	p := azureGA(t, b)
	d, err := NewDaemon(p, append([]Option{WithClock(clk), withRefillDelay(0)}, opts...)...)
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
	provtest.WaitFor(t, "daemon running", func() bool { return d.Status().State != StateStarting })
	return d
}

func TestDaemonBackoffWhileDownAndNoStormAfter(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	var down atomic.Bool
	down.Store(true)
	b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
		if down.Load() {
			provtest.APIError(w, 503, "server_error", "The service is temporarily unavailable")
			return true
		}
		return false
	}
	const bmin, bmax = time.Second, 30 * time.Second
	d := startDaemon(t, b, clk, WithBackoff(bmin, bmax), withJitter(func() float64 { return 0.9999 }))

	// 30 simulated minutes of outage: step from timer to timer. After each step wait
	// until the daemon has parked on its next timer.
	clk.WaitCreated(t, 1)
	created := 1
	for clk.Now().Sub(provtest.Start) < 30*time.Minute {
		if created == 2 { // in backoff: a get must not reach the backend
			n := b.N.Load()
			_, err := d.Get(context.Background(), time.Second)
			if !errors.Is(err, ErrUnavailable) || b.N.Load() != n {
				t.Fatalf("get during backoff: err %v, backend asked %d more times", err, b.N.Load()-n)
			}
		}
		clk.AdvanceToNext()
		clk.WaitCreated(t, created+1)
		created = clk.Created()
	}
	reqs := b.Requests()
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
	var after []provtest.Recorded
	for _, r := range b.Requests()[before:] {
		if r.At.Sub(recovered) < 10*time.Minute+bmax {
			after = append(after, r)
		}
	}
	// one mint when it comes back, one refresh ~35 s before the 10-minute key expires
	if len(after) < 1 || len(after) > 2 {
		t.Errorf("%d requests in the 10.5 min after recovery, want 1 or 2 (no storm)", len(after))
	}
	provtest.WaitFor(t, "a ready key", func() bool { st := d.Status(); return st.KeyReady && st.State == StateReady })
	if st := d.Status(); st.ConsecutiveFailures != 0 || st.Minted == 0 {
		t.Errorf("status after recovery: %+v", st)
	}
}

func TestDaemonHonoursRetryAfter(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	var calls atomic.Int64
	b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "120")
			provtest.APIError(w, 429, "rate_limit_exceeded", "slow down")
		case 2:
			provtest.APIError(w, 429, "rate_limit_exceeded", "slow down") // no Retry-After: backoff
		case 3:
			w.Header().Set("Retry-After", "1") // shorter than the backoff: backoff wins
			provtest.APIError(w, 503, "server_error", "busy")
		default:
			return false
		}
		return true
	}
	startDaemon(t, b, clk, WithBackoff(2*time.Second, 30*time.Second), withJitter(func() float64 { return 0 }))
	for i := 1; i <= 3; i++ {
		clk.WaitCreated(t, i)
		clk.AdvanceToNext()
	}
	provtest.WaitFor(t, "4 requests", func() bool { return b.N.Load() >= 4 })
	r := b.Requests()
	want := []time.Duration{120 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := r[i+1].At.Sub(r[i].At); got != w {
			t.Errorf("gap %d = %s, want %s", i+1, got, w)
		}
	}
}

func TestDaemonCredentialRejectedStops(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	var rejected atomic.Bool
	rejected.Store(true)
	b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
		if rejected.Load() {
			provtest.APIError(w, 401, "invalid_api_key", "Access denied due to invalid subscription key.")
			return true
		}
		return false
	}
	d := startDaemon(t, b, clk, WithBackoff(time.Second, 10*time.Second), WithRejectedRetry(time.Hour))
	provtest.WaitFor(t, "rejected", func() bool { return d.Status().State == StateRejected })
	clk.WaitCreated(t, 1)
	clk.Advance(50 * time.Minute)
	for range 20 {
		if _, err := d.Get(context.Background(), time.Second); !errors.Is(err, provisioning.ErrCredentialRejected) {
			t.Fatalf("get: %v, want credential rejected", err)
		}
	}
	if n := b.N.Load(); n != 1 {
		t.Errorf("backend asked %d times after a 401, want 1", n)
	}
	st := d.Status()
	if !strings.Contains(st.LastError, "credential rejected") || st.NextAttempt.Sub(provtest.Start) != time.Hour {
		t.Errorf("status %+v", st)
	}
	// after rejected_retry one more attempt is made (here: still rejected)
	clk.Advance(10 * time.Minute)
	provtest.WaitFor(t, "the hourly retry", func() bool { return b.N.Load() == 2 })
	provtest.WaitFor(t, "rejected again", func() bool { return d.Status().State == StateRejected })
	rejected.Store(false)
	d.Reload()
	provtest.WaitFor(t, "a key after reload", func() bool { return d.Status().KeyReady })
	if n := b.N.Load(); n != 3 {
		t.Errorf("backend asked %d times, want 3", n)
	}
}

func TestDaemonPrefetchHandsEachKeyOutOnce(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	b.TTL = time.Minute // like the preview keys
	d := startDaemon(t, b, clk, WithMinValidity(20*time.Second))
	provtest.WaitFor(t, "a ready key", func() bool { return d.Status().KeyReady })
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
	provtest.WaitFor(t, "a ready key", func() bool { return d.Status().KeyReady })
	n := b.N.Load()
	created := clk.Created()
	clk.Advance(30 * time.Second) // 30 s left: not yet
	if b.N.Load() != n {
		t.Errorf("refreshed too early")
	}
	clk.Advance(6 * time.Second) // 24 s left < 25 s
	provtest.WaitFor(t, "the refresh", func() bool { return b.N.Load() == n+1 })
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
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	d := startDaemon(t, b, clk, WithPolicy(PolicyOnDemand))
	provtest.WaitFor(t, "idle", func() bool { return d.Status().State == StateIdle })
	if b.N.Load() != 0 {
		t.Fatalf("on-demand minted before asked")
	}
	k, err := d.Get(context.Background(), time.Minute)
	if err != nil || k.Value == "" || b.N.Load() != 1 {
		t.Fatalf("get: %v %v (requests %d)", k, err, b.N.Load())
	}
	provtest.WaitFor(t, "idle", func() bool { return d.Status().State == StateIdle })
	if b.N.Load() != 1 || d.Status().KeyReady {
		t.Errorf("on-demand prefetched")
	}
}

func TestDaemonWaitsForSaneClock(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(time.Unix(42, 0)) // an RTC-less board at boot
	b := provtest.NewBackend(t, clk)
	d := startDaemon(t, b, clk)
	for i := 1; i <= 5; i++ {
		clk.WaitCreated(t, i)
		if st := d.Status().State; st != StateWaitingForClock {
			t.Fatalf("state %v, want waiting-for-clock", st)
		}
		clk.Advance(clockPoll)
	}
	if b.N.Load() != 0 {
		t.Fatalf("minted with the clock at 1970")
	}
	clk.WaitCreated(t, 6)
	clk.Advance(provtest.Start.Sub(clk.Now())) // NTP stepped the clock
	provtest.WaitFor(t, "a key", func() bool { return d.Status().KeyReady })
}

func TestDaemonGetCancelled(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	release := make(chan struct{})
	b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
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
	provtest.WaitFor(t, "the late key kept", func() bool { return d.Status().KeyReady })
	if _, err := d.Get(context.Background(), time.Second); err != nil || b.N.Load() != 1 {
		t.Errorf("the late key was not reused: %v, %d requests", err, b.N.Load())
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
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Error("bad policy accepted")
	}
}

func TestDaemonRefillWaitsAfterHandOut(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	d := startDaemon(t, b, clk, withRefillDelay(2*time.Second))
	provtest.WaitFor(t, "a ready key", func() bool { return d.Status().KeyReady })
	created := clk.Created()
	if _, err := d.Get(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	clk.WaitCreated(t, created+1) // parked until the refill time
	if n := b.N.Load(); n != 1 {
		t.Fatalf("refilled at once (%d requests)", n)
	}
	clk.Advance(2 * time.Second)
	provtest.WaitFor(t, "the refill", func() bool { return d.Status().KeyReady })
	// a second press right after the first: minted at once, not after the delay
	if _, err := d.Get(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(context.Background(), time.Second); err != nil || b.N.Load() != 3 {
		t.Fatalf("get right after a hand-out: %v (%d requests)", err, b.N.Load())
	}
}

// azureGA is an azure (GA) provider minting from b.
func azureGA(t *testing.T, b *provtest.Backend) provisioning.Provider {
	t.Helper()
	p, err := provisioning.NewAzure(provisioning.WithDeployment(provtest.Deployment), provisioning.WithMintURL(b.GAURL()),
		provisioning.WithSDPURL(b.Srv.URL+"/openai/v1/realtime/calls"), provisioning.WithCredential(provisioning.StaticCredential(provtest.APIKey)),
		provisioning.WithClock(b.Clock()), provisioning.WithHTTPClient(b.Srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDaemonReplacedCredentialAfterRejection is issue 12 scenario 7: after a rejection
// the daemon does not ask the backend again for rejected_retry (an hour), so a fixed
// credential used to wait for that or a SIGHUP. With the credential's fingerprint, a
// key request (the appliance's re-check) made after the file was replaced mints at once;
// requests with the same credential still do not reach the backend.
func TestDaemonReplacedCredentialAfterRejection(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	var rejected atomic.Bool
	rejected.Store(true)
	b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
		if rejected.Load() {
			provtest.APIError(w, 401, "invalid_api_key", "Access denied due to invalid subscription key.")
			return true
		}
		return false
	}
	var version atomic.Value
	version.Store("v1")
	d := startDaemon(t, b, clk, WithBackoff(time.Second, 10*time.Second), WithRejectedRetry(time.Hour),
		WithCredentialVersion(func() string { return version.Load().(string) }))
	provtest.WaitFor(t, "rejected", func() bool { return d.Status().State == StateRejected })
	for range 5 {
		if _, err := d.Get(context.Background(), time.Second); !errors.Is(err, provisioning.ErrCredentialRejected) {
			t.Fatalf("get: %v, want credential rejected", err)
		}
	}
	if n := b.N.Load(); n != 1 {
		t.Fatalf("backend asked %d times with the rejected credential, want 1", n)
	}
	rejected.Store(false)
	version.Store("v2") // the file was replaced
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	k, err := d.Get(ctx, time.Second)
	if err != nil || k.Value == "" {
		t.Fatalf("get after the credential was replaced: %v", err)
	}
	// The fake clock did not move: the key came from a mint at the request, not from the
	// hourly retry. (Prefetch may already be minting the next one: at least 2 requests.)
	if n := b.N.Load(); n < 2 {
		t.Errorf("backend asked %d times, want the new credential tried", n)
	}
}
