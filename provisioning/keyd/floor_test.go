package keyd

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
)

// syncBuf is a bytes.Buffer safe for a logger and a test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitParked waits until the daemon has created timer n (it is waiting, not minting),
// failing early if the backend gets more than maxMints requests meanwhile: a tight loop.
func waitParked(t *testing.T, clk *provtest.Clock, b *provtest.Backend, n int, maxMints int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for clk.Created() < n {
		if got := b.N.Load(); got > maxMints {
			t.Fatalf("the daemon minted %d keys without waiting (a tight loop); want at most %d", got, maxMints)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for timer %d (%d created, %d mints)", n, clk.Created(), b.N.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDaemonRefreshFloorShortKeys: a backend whose keys live less than min_validity +
// the refresh margin (20 s keys, 30 s min validity) made the prefetching daemon mint in
// a tight loop (113 mints in 5 s against such a backend, 42,395 with key_lifetime 10s
// against the emulator), logging nothing. Now it warns once and replaces such keys no
// sooner than a floor that backs off.
func TestDaemonRefreshFloorShortKeys(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	b.TTL = 20 * time.Second
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const bmax = 5 * time.Minute
	d := startDaemon(t, b, clk, WithLogger(log), WithBackoff(time.Second, bmax), withJitter(func() float64 { return 0.5 }))

	waitParked(t, clk, b, 1, 3)
	if n := b.N.Load(); n != 1 {
		t.Fatalf("%d mints before the daemon waited, want 1", n)
	}
	// An hour of simulated time, timer to timer.
	created := clk.Created()
	for clk.Now().Sub(provtest.Start) < time.Hour {
		if _, ok := clk.AdvanceToNext(); !ok {
			t.Fatal("no timer pending: the daemon stopped refreshing")
		}
		waitParked(t, clk, b, created+1, int64(created)+3)
		created = clk.Created()
	}
	reqs := b.Requests()
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].At.Sub(reqs[i-1].At); gap < refreshFloor {
			t.Errorf("mint %d came %s after the one before, want at least %s", i, gap, refreshFloor)
		}
	}
	// the floor doubles from refreshFloor to the backoff's max: 5+10+20+40+80+160 s,
	// then one per 5 minutes
	if max := 6 + int(time.Hour/bmax) + 1; len(reqs) > max {
		t.Errorf("%d mints in an hour of 20 s keys, want at most %d", len(reqs), max)
	}
	if got := strings.Count(logs.String(), "keys live shorter than"); got != 1 {
		t.Errorf("warning logged %d times, want once:\n%s", got, logs.String())
	}
	if st := d.Status(); st.State != StateReady || st.Minted != uint64(len(reqs)) {
		t.Errorf("status %+v after %d mints", st, len(reqs))
	}
	t.Logf("%d mints in an hour of 20 s keys", len(reqs))
}

// TestDaemonRefreshFloorNormalKeys: keys that live long enough are refreshed as before
// (min validity + margin before they expire), and no warning is logged.
func TestDaemonRefreshFloorNormalKeys(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	b.TTL = 10 * time.Minute
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	startDaemon(t, b, clk, WithLogger(log))
	waitParked(t, clk, b, 1, 3)
	clk.AdvanceToNext()
	waitParked(t, clk, b, 2, 3)
	reqs := b.Requests()
	if len(reqs) != 2 || reqs[1].At.Sub(reqs[0].At) != 10*time.Minute-DefaultMinValidity-refreshMargin {
		t.Fatalf("requests %d, gap %s", len(reqs), reqs[len(reqs)-1].At.Sub(reqs[0].At))
	}
	if strings.Contains(logs.String(), "keys live shorter") {
		t.Errorf("warned for 10-minute keys:\n%s", logs.String())
	}
}
