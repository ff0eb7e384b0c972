package sim

import (
	"slices"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/hw/led"
)

// Clock is a fake clock for tests. Time moves only in Advance, which fires the due
// timers in deadline order and, after each, gives the woken goroutine (up to one
// second of real time) to arm its next timer, so a button loop or an LED engine
// follows the fake timeline step by step.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer
	arms    uint64
}

// Arms returns how many times a timer was armed (NewTimer or Reset with d > 0).
// A test reads it before poking a goroutine and waits with WaitArmed for the
// goroutine to arm its next timer, which shows it has reacted.
func (c *Clock) Arms() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.arms
}

// WaitArmed waits (up to 5 s of real time) until Arms() > n and reports success.
func (c *Clock) WaitArmed(n uint64) bool {
	deadline := time.Now().Add(5 * time.Second)
	for c.Arms() <= n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Microsecond)
	}
	return true
}

// NewClock returns a fake clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the fake time reaches Now()+d.
func (c *Clock) NewTimer(d time.Duration) led.Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Pending returns the number of armed timers.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// BlockUntil waits (up to 5 s of real time) until at least n timers are armed and
// reports whether they are.
func (c *Clock) BlockUntil(n int) bool {
	deadline := time.Now().Add(5 * time.Second)
	for c.Pending() < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Microsecond)
	}
	return true
}

// Advance moves the time forward by d, firing timers on the way.
func (c *Clock) Advance(d time.Duration) { c.advance(d, true) }

// Jump moves the time forward by d and fires the due timers without waiting for
// their owners to re-arm (for a goroutine that is about to end, such as after a
// cancel).
func (c *Clock) Jump(d time.Duration) { c.advance(d, false) }

func (c *Clock) advance(d time.Duration, settle bool) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.pending {
			if !t.at.After(target) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			c.now = target
			c.mu.Unlock()
			return
		}
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.remove(next)
		n := len(c.pending)
		select {
		case next.ch <- c.now:
		default:
		}
		c.mu.Unlock()
		if !settle {
			continue
		}
		// Let the owner react and re-arm before time moves on.
		deadline := time.Now().Add(time.Second)
		for c.Pending() <= n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Microsecond)
		}
	}
}

func (c *Clock) remove(t *fakeTimer) bool {
	i := slices.Index(c.pending, t)
	if i < 0 {
		return false
	}
	c.pending = slices.Delete(c.pending, i, i+1)
	return true
}

type fakeTimer struct {
	c  *Clock
	ch chan time.Time
	at time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) drain() {
	select {
	case <-t.ch:
	default:
	}
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.c.remove(t)
	t.drain()
	t.at = t.c.now.Add(d)
	if d <= 0 {
		t.ch <- t.c.now
		return was
	}
	t.c.pending = append(t.c.pending, t)
	t.c.arms++
	return was
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.c.remove(t)
	t.drain()
	return was
}
