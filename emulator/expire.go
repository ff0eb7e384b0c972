package emulator

import (
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// ExpireSessions ends every live call now as the service does at its maximum session
// duration: an error event with code "session_expired", then, 50 ms later (so the event
// leaves first), the peer connection is closed. It is Faults.SessionLifetime on demand
// (for soaks and tests that pick the moment, such as mid-turn).
func (s *Server) ExpireSessions() {
	for _, c := range s.liveCalls() {
		c.mu.Lock()
		c.sendLocked(events.Error{Error: events.ErrorInfo{Type: "invalid_request_error", Code: "session_expired",
			Message: "Your session hit the maximum duration (expired on request)."}})
		c.afterLocked(50*time.Millisecond, c.serverEnd)
		c.mu.Unlock()
		c.notify()
	}
}

// ForgetEndedCalls drops the stats of the calls that have ended (Stats lists only the
// live ones afterwards; the counters stay) and returns how many it dropped. The
// emulator keeps the last 100 calls with their peer connections for Stats; a soak that
// measures the memory of its own process calls this so that what the emulator keeps
// does not count.
func (s *Server) ForgetEndedCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		if !c.isEnded() {
			kept = append(kept, c)
		}
	}
	n := len(s.calls) - len(kept)
	s.calls = kept
	return n
}
