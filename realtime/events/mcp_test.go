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

// TestMCPApprovalShapes decodes the server-side MCP items and events as the Realtime
// MCP guide and the RealtimeMCPApprovalRequest/Response and RealtimeMCPToolCall item
// schemas give them, writes the client's mcp_approval_response, and refuses an
// approval response without approval_request_id or approve.
func TestMCPApprovalShapes(t *testing.T) {
	cases := []struct {
		in   string
		want Event
	}{
		{`{"type":"response.output_item.done","event_id":"e1","response_id":"r1","output_index":0,"item":{"id":"mcpr_1","type":"mcp_approval_request","server_label":"docs","name":"search","arguments":"{\"q\":\"x\"}"}}`,
			OutputItemDone{EventID: "e1", ResponseID: "r1", Item: OutputItem{ID: "mcpr_1", Type: "mcp_approval_request", ServerLabel: "docs", Name: "search", Arguments: `{"q":"x"}`}}},
		{`{"type":"response.output_item.done","response_id":"r2","item":{"id":"mcp_1","type":"mcp_call","server_label":"docs","name":"search","arguments":"{}","approval_request_id":"mcpr_1","output":null,"error":{"type":"tool_execution_error","message":"token abc rejected"}}}`,
			OutputItemDone{ResponseID: "r2", Item: OutputItem{ID: "mcp_1", Type: "mcp_call", ServerLabel: "docs", Name: "search", Arguments: "{}", ApprovalRequestID: "mcpr_1", ErrorType: "tool_execution_error"}}},
		{`{"type":"response.output_item.done","response_id":"r2","item":{"id":"mcp_1","type":"mcp_call","output":"ok","error":null}}`,
			OutputItemDone{ResponseID: "r2", Item: OutputItem{ID: "mcp_1", Type: "mcp_call", Output: "ok"}}},
		{`{"type":"conversation.item.create","event_id":"c1","item":{"type":"mcp_approval_response","approval_request_id":"mcpr_1","approve":false,"reason":"no"}}`,
			MCPApprovalResponse{EventID: "c1", ApprovalRequestID: "mcpr_1", Reason: "no"}},
		{`{"type":"conversation.item.done","event_id":"e5","previous_item_id":null,"item":{"id":"mcpr_2","object":"realtime.item","type":"mcp_approval_request","server_label":"docs","name":"fetch","arguments":"{}"}}`,
			ConversationItemDone{EventID: "e5", Item: OutputItem{ID: "mcpr_2", Type: "mcp_approval_request", ServerLabel: "docs", Name: "fetch", Arguments: "{}"}}},
		{`{"type":"mcp_list_tools.failed","event_id":"e3","item_id":"mcpl_1"}`, MCPListToolsFailed{EventID: "e3", ItemID: "mcpl_1"}},
		{`{"type":"response.mcp_call.failed","event_id":"e4","response_id":"r2","item_id":"mcp_1","output_index":0}`, MCPCallFailed{EventID: "e4", ResponseID: "r2", ItemID: "mcp_1"}},
	}
	for _, c := range cases {
		got, err := Decode([]byte(c.in))
		if err != nil {
			t.Errorf("Decode(%s): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Decode(%s)\n got %#v\nwant %#v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{
		`{"type":"conversation.item.create","item":{"type":"mcp_approval_response","approve":true}}`,
		`{"type":"conversation.item.create","item":{"type":"mcp_approval_response","approval_request_id":"mcpr_1"}}`,
		`{"type":"conversation.item.create","item":{"type":"mcp_approval_response","approval_request_id":"mcpr_1","approve":"yes"}}`,
	} {
		if _, err := Decode([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%s): %v, want ErrMalformed", bad, err)
		}
	}
	b, err := Marshal(GA, MCPApprovalResponse{ApprovalRequestID: "mcpr_1", Approve: false, Reason: "not this one"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"conversation.item.create","item":{"type":"mcp_approval_response","approval_request_id":"mcpr_1","approve":false,"reason":"not this one"}}`
	if string(b) != want {
		t.Errorf("Marshal:\n got %s\nwant %s", b, want)
	}
	if !TypeMCPApprovalResponse.IsClient() || TypeMCPListToolsFailed.IsClient() || TypeMCPCallFailed.IsClient() {
		t.Error("IsClient wrong for the MCP events")
	}
}
