package provisioning

import "time"

// Clock is the time source of the daemon and the providers. Tests inject a fake one so
// that backoff and refresh run without sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// SystemClock is the real wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time { return t.t.C }
func (t sysTimer) Stop() bool          { return t.t.Stop() }

// SaneTime is the earliest wall-clock time the daemon trusts for TLS. Boards without a
// real-time clock boot in 1970 until NTP has run; certificates look "not yet valid" then.
var SaneTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
