// Package backoff computes jittered exponential waits between retries, with an
// injectable clock, for every retry loop in edgevoice: the WebRTC reconnect (rtc), the key
// daemon's refresh (provisioning/keyd), the appliance's offline key re-check and the
// audio device reopen (hw/audio).
//
// A [Backoff] is a small value owned by one goroutine (it is not safe for concurrent
// use): [Backoff.Next] returns the next wait and doubles the base, [Backoff.Reset] starts
// over after a success, and [Backoff.Wait] sleeps on the clock until the wait is over or
// the context ends.
//
// The jitter is symmetric: a wait of base d becomes d·(1 ± Jitter), so a fleet that lost
// its network together does not come back in step.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jonboulle/clockwork"
)

// Policy says how the waits grow.
type Policy struct {
	// Min is the first wait (before jitter). It must be > 0.
	Min time.Duration
	// Max caps the base wait; the jittered wait may exceed it by Jitter·Max.
	Max time.Duration
	// Jitter is the fraction of each wait that is random, in [0, 1]: 0.2 means
	// ±20 %. 0 gives exact waits (tests, single devices).
	Jitter float64
}

// Backoff is the retry state of one loop. The zero value is not usable; use [New].
type Backoff struct {
	p     Policy
	clock clockwork.Clock
	next  time.Duration // base of the next wait; 0 means Min
	rand  func() float64
}

// New returns a Backoff for p that waits on clock (nil means the real clock).
// Min ≤ 0 is raised to 1 ms, Max < Min is raised to Min and Jitter is clamped to [0, 1].
func New(p Policy, clock clockwork.Clock) *Backoff {
	if p.Min <= 0 {
		p.Min = time.Millisecond
	}
	if p.Max < p.Min {
		p.Max = p.Min
	}
	p.Jitter = min(max(p.Jitter, 0), 1)
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Backoff{p: p, clock: clock, rand: rand.Float64}
}

// SetRand replaces the random source (a func returning values in [0, 1)); tests use it
// to pin the jitter.
func (b *Backoff) SetRand(r func() float64) { b.rand = r }

// Policy returns the policy in use (after New's corrections).
func (b *Backoff) Policy() Policy { return b.p }

// Next returns the wait before the next attempt and doubles the base up to Max.
func (b *Backoff) Next() time.Duration {
	d := b.next
	if d == 0 {
		d = b.p.Min
	}
	b.next = min(2*d, b.p.Max)
	if b.p.Jitter > 0 {
		f := (2*b.rand() - 1) * b.p.Jitter
		d += time.Duration(f * float64(d))
	}
	return max(d, 0)
}

// Reset makes the next wait Min again (call it after a success).
func (b *Backoff) Reset() { b.next = 0 }

// Wait sleeps for [Backoff.Next] on the clock. It returns ctx.Err() if ctx ends first.
func (b *Backoff) Wait(ctx context.Context) error {
	t := b.clock.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}
