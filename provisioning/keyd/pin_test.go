package keyd

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
)

// TestWireKeyKeepsPinnedSession: a key's session settings and pin survive the socket.
func TestWireKeyKeepsPinnedSession(t *testing.T) {
	now := time.Unix(1700000000, 0).UTC()
	k := realtime.Key{Value: "ek_x", ExpiresAt: now.Add(time.Minute), SDPURL: "https://x/v1/realtime/calls", Profile: "broker", MintedAt: now,
		Session: &realtime.SessionDefaults{Instructions: "be brief", Voice: "marin", Tools: json.RawMessage(`[]`)}, SessionPinned: true}
	b, err := json.Marshal(toWire(k))
	if err != nil {
		t.Fatal(err)
	}
	var w wireKey
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	got, err := w.key()
	if err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("round trip %+v (%v), want %+v", got, err, k)
	}
}
