package keyd

import (
	"time"

	"github.com/edgevoice/edgevoice/realtime"
)

// ErrUnavailable is returned by Daemon.Get while the daemon is backing off after a failed
// mint: the backend is not asked again before the next scheduled attempt.
// It is realtime.ErrKeyUnavailable, so the appliance can test for it without importing
// the key daemon.
var ErrUnavailable = realtime.ErrKeyUnavailable

// SaneTime is the earliest wall-clock time the daemon trusts for TLS. Boards without a
// real-time clock boot in 1970 until NTP has run; certificates look "not yet valid" then.
var SaneTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
