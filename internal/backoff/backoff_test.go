package backoff

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestNextDoublesAndCaps(t *testing.T) {
	b := New(Policy{Min: 100 * time.Millisecond, Max: time.Second}, nil)
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Next(); got != w*time.Millisecond {
			t.Fatalf("wait %d = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	b.Reset()
	if got := b.Next(); got != 100*time.Millisecond {
		t.Fatalf("after Reset: %v, want 100ms", got)
	}
}

func TestJitterBounds(t *testing.T) {
	b := New(Policy{Min: time.Second, Max: time.Second, Jitter: 0.2}, nil)
	for _, tc := range []struct {
		r    float64
		want time.Duration
	}{{0, 800 * time.Millisecond}, {0.5, time.Second}, {0.999999, 1199999800 * time.Nanosecond}} {
		b.SetRand(func() float64 { return tc.r })
		got := b.Next()
		if d := got - tc.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("rand %v: wait %v, want %v", tc.r, got, tc.want)
		}
	}
	b = New(Policy{Min: time.Second, Max: time.Second, Jitter: 0.2}, nil)
	lo, hi := time.Hour, time.Duration(0)
	for range 2000 {
		d := b.Next()
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 800*time.Millisecond || hi > 1200*time.Millisecond || hi-lo < 300*time.Millisecond {
		t.Errorf("2000 waits spread over [%v, %v], want inside [0.8s, 1.2s] and spread", lo, hi)
	}
}

func TestNewCorrectsPolicy(t *testing.T) {
	p := New(Policy{Min: 0, Max: -1, Jitter: 3}, nil).Policy()
	if p.Min != time.Millisecond || p.Max != time.Millisecond || p.Jitter != 1 {
		t.Errorf("policy %+v, want Min=Max=1ms Jitter=1", p)
	}
}

func TestWaitUsesClock(t *testing.T) {
	fc := clockwork.NewFakeClock()
	b := New(Policy{Min: 5 * time.Second, Max: time.Minute}, fc)
	done := make(chan error, 1)
	go func() { done <- b.Wait(context.Background()) }()
	if err := fc.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	fc.Advance(4 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v before 5 s of clock time", err)
	default:
	}
	fc.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

func TestWaitCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := New(Policy{Min: time.Hour, Max: time.Hour}, clockwork.NewFakeClock())
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context: %v, want context.Canceled", err)
	}
}
