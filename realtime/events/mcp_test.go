package events

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestMCPToolShape: a server-side MCP tool is written as the Realtime MCP guide
// shows it (type "mcp", server_label, server_url, allowed_tools, require_approval,
// authorization) next to a function tool in GA, decodes back, and is refused in the
// preview dialect; String never shows the authorization.
func TestMCPToolShape(t *testing.T) {
	m := &MCPTool{ServerLabel: "docs", ServerURL: "https://mcp.example.com/mcp", AllowedTools: []string{"search"},
		RequireApproval: "never", Authorization: "oauth-secret-1"}
	ev := SessionUpdate{Session: Session{Tools: []Tool{{Name: "get_time"}, {MCP: m}}}}
	b, err := Marshal(GA, ev)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Session struct {
			Type  string           `json:"type"`
			Tools []map[string]any `json:"tools"`
		} `json:"session"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com/mcp",
		"allowed_tools": []any{"search"}, "require_approval": "never", "authorization": "oauth-secret-1"}
	if got.Session.Type != "realtime" || len(got.Session.Tools) != 2 || got.Session.Tools[0]["type"] != "function" || !reflect.DeepEqual(got.Session.Tools[1], want) {
		t.Errorf("GA session.update:\n%s\nwant the second tool %v", b, want)
	}
	dec, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	su, ok := dec.(SessionUpdate)
	if !ok || len(su.Session.Tools) != 2 || su.Session.Tools[1].MCP == nil || !reflect.DeepEqual(*su.Session.Tools[1].MCP, *m) {
		t.Errorf("decoded %#v", dec)
	}
	if _, err := Marshal(Preview, ev); !errors.Is(err, ErrMCPPreview) {
		t.Errorf("preview: %v; want ErrMCPPreview", err)
	}
	if s := m.String(); strings.Contains(s, "oauth-secret-1") || !strings.Contains(s, "docs") {
		t.Errorf("String: %q", s)
	}
}
