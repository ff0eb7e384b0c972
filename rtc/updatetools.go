package rtc

import (
	"slices"
	"sync"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// cmdTools asks the run loop to send the tool list queued by UpdateTools (numbered
// apart from session.go's iota commands, like cmdSay).
const cmdTools command = 65

// toolsUpdate holds the latest tool list of UpdateTools until the run loop takes it.
type toolsUpdate struct {
	mu      sync.Mutex
	pending []events.Tool
	has     bool
}

// UpdateTools replaces the tools declared to the model (the session config's tools):
// a session.update carrying only the full new list goes out at once if the data
// channel is open, and every later connection's session.update carries it too. An
// empty list clears the tools. Calls already running are not affected. It is for tool
// lists that change while the session runs (an MCP server's tools).
func (s *Session) UpdateTools(list []events.Tool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if list == nil {
		list = []events.Tool{}
	}
	s.toolsUpd.mu.Lock()
	s.toolsUpd.pending, s.toolsUpd.has = slices.Clone(list), true
	s.toolsUpd.mu.Unlock()
	s.command(cmdTools)
	return nil
}

// sendTools applies the queued tool list (run loop only).
func (s *Session) sendTools(c *conn) {
	s.toolsUpd.mu.Lock()
	list, has := s.toolsUpd.pending, s.toolsUpd.has
	s.toolsUpd.pending, s.toolsUpd.has = nil, false
	s.toolsUpd.mu.Unlock()
	if !has {
		return
	}
	if s.cfg.session == nil {
		s.cfg.session = &events.Session{}
	}
	s.cfg.session.Tools = list
	if c != nil && c.dcOpen {
		c.send(events.SessionUpdate{Session: events.Session{Tools: list}})
	}
}
