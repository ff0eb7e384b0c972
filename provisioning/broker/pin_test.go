package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
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

// TestPinnedMCPAuthorizationStaysAtTheBroker: a broker that pins a server-side MCP
// tool mints the key with its authorization (the service needs it), but nothing the
// device receives (the HTTP answer, the key, its session) holds it; the tool itself
// still reaches the device, so it knows the tools are pinned.
func TestPinnedMCPAuthorizationStaysAtTheBroker(t *testing.T) {
	const secret = "mcp-oauth-7f3a-do-not-leak"
	tools := `[{"type":"function","name":"set_timer"},{"type":"mcp","server_label":"docs","server_url":"https://mcp.example.com/mcp","require_approval":"never","authorization":"` + secret + `","headers":{"X-Key":"` + secret + `"}}]`
	f := newBrokerFixture(t, WithPinnedSession(realtime.SessionDefaults{Tools: json.RawMessage(tools)}))
	k, err := f.device(t, f.token).Mint(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := json.Marshal(f.up.Requests()[0].Body)
	if !strings.Contains(string(up), secret) {
		t.Errorf("the upstream mint lacks the MCP tool's authorization: %s", up)
	}
	kj, _ := json.Marshal(k)
	if strings.Contains(string(kj), secret) || strings.Contains(fmt.Sprintf("%+v %s", k, k.Session.Tools), secret) {
		t.Errorf("the device's key holds the authorization: %s", kj)
	}
	if !k.SessionPinned || !strings.Contains(string(k.Session.Tools), `"server_label":"docs"`) || !strings.Contains(string(k.Session.Tools), "set_timer") {
		t.Errorf("the pinned tools did not reach the device: %s", k.Session.Tools)
	}
	// the raw answer too
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), secret) || !strings.Contains(string(body), "mcp.example.com") {
		t.Errorf("raw answer %d: %s", resp.StatusCode, body)
	}
}
