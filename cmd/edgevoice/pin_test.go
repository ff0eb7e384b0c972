package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
)

// TestPinnedSessionHonoured: the device's [session] does not override what a broker
// pinned (those fields are left out of its session.update), unpinned defaults do not
// stop it, and which fields were pinned is logged once at info.
func TestPinnedSessionHonoured(t *testing.T) {
	dev := events.Session{Instructions: "device says hi", Voice: "alloy", Tools: []events.Tool{{Name: "lamp"}},
		TurnDetection: events.TurnDetection{Type: events.TurnDetectionNone}}
	var logs bytes.Buffer
	p := newSessionPinner(dev, slog.New(slog.NewTextHandler(&logs, nil)))
	pinned := realtime.Key{Profile: "broker", SessionPinned: true,
		Session: &realtime.SessionDefaults{Instructions: "fleet says hi", Voice: "marin", Tools: json.RawMessage(`[]`)}}
	for range 2 {
		got := p.sessionFor(pinned)
		if got.Instructions != "" || got.Voice != "" || got.Tools != nil || got.TurnDetection.Type != events.TurnDetectionNone {
			t.Errorf("with a pinned session the device sends %+v, want only its own turn detection", got)
		}
	}
	if n := strings.Count(logs.String(), "pinned"); n != 1 || !strings.Contains(logs.String(), "level=INFO") ||
		!strings.Contains(logs.String(), "instructions") || !strings.Contains(logs.String(), "voice") {
		t.Errorf("log %q: want one info line naming the pinned fields", logs.String())
	}
	partly := realtime.Key{SessionPinned: true, Session: &realtime.SessionDefaults{Voice: "marin"}}
	if got := p.sessionFor(partly); got.Voice != "" || got.Instructions != dev.Instructions {
		t.Errorf("only the voice pinned: got %+v", got)
	}
	free := realtime.Key{Session: &realtime.SessionDefaults{Voice: "marin"}}
	if got := p.sessionFor(free); got.Voice != "alloy" || got.Instructions != dev.Instructions {
		t.Errorf("unpinned defaults: got %+v, want the device's own", got)
	}
}
