package main

import (
	"runtime"
	"testing"
	"time"
)

// noLeaks returns a function that fails t when more goroutines run than before (with a
// grace period for ones that are ending). pion's test.CheckRoutines cannot be used in this
// package: other tests leave process-wide goroutines (os/signal) behind.
func noLeaks(t *testing.T) func() {
	t.Helper()
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines leaked (%d before, %d after):\n%s", n-before, before, n, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
