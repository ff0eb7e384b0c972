package broker

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/edgevoice/edgevoice/realtime"
)

// TestPinnedSessionReachesTheDevice: a broker that pins the session says so, and the
// device's key carries the pinned settings (so `edgevoice run` can honour them); an
// unpinned broker's defaults come back as not pinned.
func TestPinnedSessionReachesTheDevice(t *testing.T) {
	pinned := realtime.SessionDefaults{Instructions: "You are a kitchen timer.", Voice: "marin", Tools: json.RawMessage(`[]`)}
	f := newBrokerFixture(t, WithPinnedSession(pinned))
	k, err := f.device(t, f.token).Mint(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !k.SessionPinned || k.Session == nil || k.Session.Instructions != pinned.Instructions || k.Session.Voice != "marin" {
		t.Errorf("key session %+v pinned %v, want the pinned settings", k.Session, k.SessionPinned)
	}
	g := newBrokerFixture(t, WithSessionDefaults(realtime.SessionDefaults{Voice: "verse"}))
	k, err = g.device(t, g.token).Mint(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.SessionPinned || k.Session == nil || k.Session.Voice != "verse" {
		t.Errorf("unpinned broker: key session %+v pinned %v", k.Session, k.SessionPinned)
	}
}
