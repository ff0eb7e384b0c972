package audio

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// checkGoroutines fails the test if, after it, more goroutines run than before it.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// stateLog records OnState calls.
type stateLog struct {
	mu     sync.Mutex
	states []State
	errs   []error
	ch     chan State
}

func newStateLog() *stateLog { return &stateLog{ch: make(chan State, 100)} }

func (l *stateLog) on(s State, err error) {
	l.mu.Lock()
	l.states = append(l.states, s)
	l.errs = append(l.errs, err)
	l.mu.Unlock()
	select {
	case l.ch <- s:
	default:
	}
}

func (l *stateLog) waitFor(t *testing.T, want State) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case s := <-l.ch:
			if s == want {
				return
			}
		case <-timeout:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("state %v never reported; got %v (errors %v)", want, l.states, l.errs)
		}
	}
}

// testSignal returns frames*ch nonzero samples, different in every channel.
func testSignal[T int16 | int32](frames, ch int) []T {
	s := make([]T, frames*ch)
	x := uint32(2463534242)
	for i := range s {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v := T(x >> (32 - 8*int(sizeOf[T]())))
		if v == 0 {
			v = 1
		}
		s[i] = v
	}
	return s
}

func firstDiff[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func sizeOf[T int16 | int32]() uintptr {
	var z T
	if any(z) == any(int16(0)) {
		return 2
	}
	return 4
}

// at returns s[i], or "none" past its end (for messages).
func at[T any](s []T, i int) any {
	if i < len(s) {
		return s[i]
	}
	return "none"
}
