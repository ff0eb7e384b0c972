package main

import (
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// noLeaks returns a function that fails t when more goroutines run than before (with a
// grace period for ones that are ending). pion's test.CheckRoutines cannot be used in this
// package: other tests leave process-wide goroutines (os/signal) behind.
func noLeaks(t *testing.T) func() {
	t.Helper()
	// os/signal starts its process-wide goroutine at the first Notify, which `run` makes:
	// start it now, or the first test in a process to run `run` counts it as a leak.
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGWINCH)
	signal.Stop(c)
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
