package sim

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
)

// Advance moves the fake clock clk forward by d in steps of step. Before the first step
// and after each it waits (up to 5 s of real time) until at least waiters timers are armed on clk again:
// the goroutines that wait on the clock (button loops in Pin.WaitForEdge, the LED
// engine) have reacted to whatever fired before time moves on, as they would in real
// time. waiters is how many such timers the test's goroutines keep armed (one per
// running button, one for a running LED engine). It reports whether they all re-armed.
func Advance(clk *clockwork.FakeClock, d, step time.Duration, waiters int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if clk.BlockUntilContext(ctx, waiters) != nil {
			return false
		}
		if d <= 0 {
			return true
		}
		s := min(step, d)
		if s <= 0 {
			s = d
		}
		clk.Advance(s)
		d -= s
	}
}
