package main

import (
	"log/slog"
	"sync"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
)

// sessionPinner gives each session the device's [session] settings, less the fields a
// broker pinned for its fleet (Key.SessionPinned): those the key was minted with stay,
// since a session.update carrying the device's own values would override them.
type sessionPinner struct {
	dev events.Session
	// tools, if set, gives the tool list at each session (it changes with MCP servers);
	// an empty list leaves dev.Tools as it is.
	tools  func() []events.Tool
	log    *slog.Logger
	logged sync.Once
}

func newSessionPinner(dev events.Session, log *slog.Logger) *sessionPinner {
	return &sessionPinner{dev: dev, log: log}
}

// sessionFor returns the session.update for a session opened with key.
func (p *sessionPinner) sessionFor(key realtime.Key) events.Session {
	s := p.dev
	if p.tools != nil {
		if list := p.tools(); len(list) > 0 {
			s.Tools = list
		}
	}
	if !key.SessionPinned || key.Session == nil {
		return s
	}
	var fields []string
	if key.Session.Instructions != "" {
		s.Instructions = ""
		fields = append(fields, "instructions")
	}
	if key.Session.Voice != "" {
		s.Voice = ""
		fields = append(fields, "voice")
	}
	if len(key.Session.Tools) > 0 {
		s.Tools = nil
		fields = append(fields, "tools")
	}
	if len(fields) > 0 {
		p.logged.Do(func() {
			p.log.Info("the broker pins these session settings; the device's [session] values for them are not sent", "pinned", fields)
		})
	}
	return s
}
