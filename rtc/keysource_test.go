package rtc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/pion/transport/v5/test"
)

// mintLog is a KeySource over a provisioning provider that records every call.
type mintLog struct {
	p    provisioning.Provider
	mu   sync.Mutex
	at   []time.Time
	errs []error
}

func (m *mintLog) Key(ctx context.Context) (realtime.Key, error) {
	k, err := m.p.Mint(ctx, nil)
	m.mu.Lock()
	m.at, m.errs = append(m.at, time.Now()), append(m.errs, err)
	m.mu.Unlock()
	return k, err
}

func (m *mintLog) snapshot() ([]time.Time, []error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time(nil), m.at...), append([]error(nil), m.errs...)
}

func (m *mintLog) failures() int {
	_, errs := m.snapshot()
	n := 0
	for _, e := range errs {
		if e != nil {
			n++
		}
	}
	return n
}

// TestKeySourceMintFaults: the emulator drops the call and its mint endpoint then
// answers 401 (credential rejected) or 500 (backend down), so the session's KeySource
// (the real openai provider of the provisioning package) fails on every reconnect.
// As rtc/doc.go documents, the session does not close over it: each failure is a
// Disconnected whose cause wraps the KeySource's error (errors.Is works on it), followed
// by a jittered exponential backoff (no hammering) and another Reconnecting; once minting
// works again it connects with a fresh key; Close during the backoff ends in Closed
// with no goroutine left.
func TestKeySourceMintFaults(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, tc := range []struct {
		status   int
		rejected bool
		recover  bool
	}{
		{status: 401, rejected: true, recover: true},
		{status: 401, rejected: true},
		{status: 500, recover: true},
		{status: 503},
	} {
		name := fmt.Sprintf("mint %d then %s", tc.status, map[bool]string{true: "minting recovers", false: "Close in the backoff"}[tc.recover])
		t.Run(name, func(t *testing.T) {
			srv := startEmulator(t)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			first, err := srv.MintKey(ctx, "openai")
			if err != nil {
				t.Fatal(err)
			}
			p, err := srv.Provider("openai")
			if err != nil {
				t.Fatal(err)
			}
			keys := &mintLog{p: p}
			// the first key is good; the call is dropped after 300 ms and every mint fails
			srv.SetFaults(emulator.Faults{DropAfter: 300 * time.Millisecond, MintStatus: tc.status})
			s, err := New(first, testOpts(WithKeySource(keys))...)
			if err != nil {
				t.Fatal(err)
			}
			rec := recordEvents(s)
			closed := false
			defer func() {
				if !closed {
					s.Close()
					<-rec.done
				}
			}()
			s.Start(ctx)
			rec.wait(t, 5*time.Second, isState(StateConnected))
			rec.wait(t, 5*time.Second, isState(StateDisconnected)) // the drop
			waitUntil(t, 5*time.Second, func() bool { return keys.failures() >= 6 })

			at, errs := keys.snapshot()
			for i, e := range errs {
				var he *provisioning.HTTPError
				if e == nil || !errors.As(e, &he) || he.StatusCode != tc.status || errors.Is(e, provisioning.ErrCredentialRejected) != tc.rejected {
					t.Fatalf("mint %d: %v, want HTTP %d (rejected %v)", i+1, e, tc.status, tc.rejected)
				}
			}
			// backoff 20 ms doubling to 200 ms, equal jitter: waits of 10-20, 20-40,
			// 40-80, 80-160, then 100-200 ms before mints 1, 2, ...
			var gaps []time.Duration
			for i := 1; i < len(at); i++ {
				gaps = append(gaps, at[i].Sub(at[i-1]))
			}
			t.Logf("%d mints failed; gaps %v", len(errs), gaps)
			for i, g := range gaps {
				lo := min(20*time.Millisecond<<(i+1), 200*time.Millisecond) / 2 // the shortest wait before mint i+2
				if g < lo-2*time.Millisecond {
					t.Errorf("mint %d came %v after the previous one, want ≥ %v (backoff)", i+2, g, lo)
				}
			}

			// every failure is reported: Reconnecting, then Disconnected with the cause
			rec.mu.Lock()
			var seq []string
			causes := 0
			for _, e := range rec.evs {
				switch {
				case e.Kind == EventState && e.State == StateClosed:
					t.Errorf("closed on its own over a KeySource error: %v", e.Err)
				case e.Kind == EventState && e.State == StateDisconnected && e.Err != nil && strings.Contains(e.Err.Error(), "KeySource"):
					causes++
					if errors.Is(e.Err, provisioning.ErrCredentialRejected) != tc.rejected || !strings.Contains(e.Err.Error(), fmt.Sprint("HTTP ", tc.status)) {
						t.Errorf("cause %v: want the provider's HTTP %d error (rejected %v) wrapped", e.Err, tc.status, tc.rejected)
					}
				case e.Kind == EventError:
					t.Errorf("error event %v: a KeySource failure is a reconnect cause, not an error", e.Err)
				}
				if e.Kind == EventState {
					seq = append(seq, e.State.String())
				}
			}
			rec.mu.Unlock()
			if causes < len(errs)-1 { // the last failure's event may still be on its way
				t.Errorf("%d Disconnected events carry the KeySource error, %d mints failed; states %v", causes, len(errs), seq)
			}
			t.Logf("states %v", seq)
			if s.State() == StateConnected || s.State() == StateClosed {
				t.Errorf("state %v while no key can be minted", s.State())
			}

			if !tc.recover {
				s.Close()
				closed = true
				<-rec.done // Events() was closed
				var last Event
				if len(rec.evs) > 0 {
					last = rec.evs[len(rec.evs)-1]
				}
				if last.Kind != EventState || last.State != StateClosed || last.Err != nil {
					t.Errorf("last event %v, want closed without an error (Close was called)", last)
				}
				if s.State() != StateClosed {
					t.Errorf("state %v after Close", s.State())
				}
				return
			}
			before := srv.Stats().CallsAnswered
			srv.SetFaults(emulator.Faults{})
			rec.wait(t, 5*time.Second, isState(StateConnected))
			_, errs = keys.snapshot()
			if errs[len(errs)-1] != nil {
				t.Errorf("connected, but the last mint failed: %v", errs[len(errs)-1])
			}
			if n := srv.Stats().CallsAnswered; n != before+1 {
				t.Errorf("%d calls answered after the fault cleared, want 1", n-before)
			}
			if st := s.Stats(); st.Connects != 2 || st.Reconnects != 1 || s.State() != StateConnected {
				t.Errorf("connects %d reconnects %d state %v, want 2, 1, connected", st.Connects, st.Reconnects, s.State())
			}
		})
	}
}

// TestKeySourceErrNoKeyCloses: the one KeySource error that ends the session is one
// wrapping ErrNoKey ("there is no key to be had"): Closed with it, without retrying.
func TestKeySourceErrNoKeyCloses(t *testing.T) {
	defer test.CheckRoutines(t)()
	calls := 0
	k := testKey()
	k.ExpiresAt = time.Now().Add(-time.Second) // the first connect asks the KeySource
	s, err := New(k, testOpts(WithKeySource(KeySourceFunc(func(context.Context) (realtime.Key, error) {
		calls++
		return realtime.Key{}, fmt.Errorf("key daemon: device not provisioned: %w", ErrNoKey)
	})))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start(context.Background())
	e := waitFor(t, s, 5*time.Second, func(e Event) bool {
		return e.Kind == EventState && (e.State == StateClosed || e.State == StateDisconnected)
	})
	if e.State != StateClosed || !errors.Is(e.Err, ErrNoKey) || !strings.Contains(e.Err.Error(), "not provisioned") {
		t.Errorf("%v, want closed with the KeySource's ErrNoKey", e)
	}
	s.Close()
	if calls != 1 {
		t.Errorf("KeySource asked %d times, want 1", calls)
	}
}
