package emulator

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

// mcpSession declares a server-side MCP tool "docs" with require_approval approval.
func mcpSession(approval string) events.SessionUpdate {
	u := sessionUpdatePTT()
	u.Session.Tools = []events.Tool{{MCP: &events.MCPTool{ServerLabel: "docs", ServerURL: "https://mcp.example.com/mcp", RequireApproval: approval}}}
	return u
}

// approvalRequest reads the response of an mcp_approval_request up to its
// response.done and returns the request item.
func approvalRequest(t *testing.T, c *testClient) events.OutputItem {
	t.Helper()
	c.expect(events.TypeResponseCreated)
	var req events.OutputItem
	for {
		switch e := c.next().(type) {
		case events.OutputItemDone:
			req = e.Item
		case events.ConversationItemDone:
			if e.Item != req {
				t.Errorf("conversation.item.done %+v, output_item.done %+v", e.Item, req)
			}
		case events.ResponseDone:
			if len(e.Response.Output) != 1 || e.Response.Output[0] != req || req.Type != "mcp_approval_request" {
				t.Fatalf("response.done output %+v, item %+v", e.Response.Output, req)
			}
			return req
		case events.OutputAudioBufferStarted:
			t.Fatal("an approval request response has audio")
		}
	}
}

// spoken reads a response up to its response.done and its audio's end and returns its
// transcript and the mcp_call item it carried (Type "" if none).
func spoken(t *testing.T, c *testClient) (string, events.OutputItem) {
	t.Helper()
	var text string
	var call events.OutputItem
	done, stopped := false, false
	for !done || !stopped {
		switch e := c.next().(type) {
		case events.TranscriptDone:
			text = e.Transcript
		case events.OutputItemDone:
			call = e.Item
		case events.ResponseDone:
			done = true
		case events.OutputAudioBufferStopped:
			stopped = true
		}
	}
	return text, call
}

// TestMCPScriptApproval: with require_approval "always" the emulator asks, waits for
// the answer, and continues by itself (no response.create) with the mcp_call and its
// answer, or the denial; wrong answers and a missing one are violations.
func TestMCPScriptApproval(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithMCPApprovalWait(300*time.Millisecond), WithMCPScript(
		MCPCall{ServerLabel: "docs", Name: "search", Arguments: `{"q":"x"}`, Output: "found"},
		MCPCall{ServerLabel: "docs", Name: "delete", Arguments: `{}`},
		MCPCall{ServerLabel: "docs", Name: "search", Arguments: `{}`},
		MCPCall{ServerLabel: "nope", Name: "search"},
	))
	defer srv.Close()
	c := dial(t, srv.NewKey(events.GA, time.Minute))
	defer c.close()
	c.expect(events.TypeSessionCreated)
	c.send(mcpSession("always"))
	c.expect(events.TypeSessionUpdated)

	// 1: approved → the mcp_call item and the answer, without a response.create
	c.textTurn(t)
	c.send(events.ResponseCreate{})
	req := approvalRequest(t, c)
	if req.ServerLabel != "docs" || req.Name != "search" || req.Arguments != `{"q":"x"}` || req.ID == "" {
		t.Fatalf("request %+v", req)
	}
	c.send(events.MCPApprovalResponse{ApprovalRequestID: req.ID, Approve: true})
	c.expect(events.TypeConversationItemCreated, events.TypeResponseCreated)
	text, call := spoken(t, c)
	if text != "The MCP tool search answered: found" || call.Type != "mcp_call" || call.Output != "found" || call.ApprovalRequestID != req.ID {
		t.Errorf("approved answer %q, item %+v", text, call)
	}
	c.send(events.MCPApprovalResponse{ApprovalRequestID: req.ID, Approve: true}) // a second answer
	c.expect(events.TypeConversationItemCreated)
	c.send(events.MCPApprovalResponse{ApprovalRequestID: "mcpr_nope", Approve: true})
	c.expect(events.TypeConversationItemCreated)
	c.dc.SendText(`{"type":"conversation.item.create","item":{"type":"mcp_approval_response","approval_request_id":"` + req.ID + `"}}`) // no approve
	c.expect(events.TypeError)

	// 2: denied → the denial is spoken
	c.textTurn(t)
	c.send(events.ResponseCreate{})
	req2 := approvalRequest(t, c)
	c.send(events.MCPApprovalResponse{ApprovalRequestID: req2.ID, Reason: "not here"})
	c.expect(events.TypeConversationItemCreated, events.TypeResponseCreated)
	if text, call := spoken(t, c); text != "The MCP tool delete was denied: not here" || call.Type != "" {
		t.Errorf("denied answer %q, item %+v", text, call)
	}

	// 3: no answer → a violation once the wait ends
	c.textTurn(t)
	c.send(events.ResponseCreate{})
	req3 := approvalRequest(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitStats(ctx, func(st Stats) bool {
		lc, ok := st.LastCall()
		return ok && len(lc.MCP.Requests) == 3 && lc.MCP.Requests[2].TimedOut
	}); err != nil {
		t.Fatalf("the missing answer was not recorded: %v", err)
	}
	c.send(events.MCPApprovalResponse{ApprovalRequestID: req3.ID, Approve: true}) // too late
	c.expect(events.TypeConversationItemCreated)

	// 4: a server the session does not declare: a violation, answered with speech
	c.textTurn(t)
	c.send(events.ResponseCreate{})
	c.expect(events.TypeResponseCreated)
	if text, _ := spoken(t, c); text != DefaultReplyText {
		t.Errorf("turn 4 answer %q", text)
	}

	lc, _ := srv.Stats().LastCall()
	m := lc.MCP
	if len(m.Requests) != 3 || !m.Requests[0].Approved || !m.Requests[0].Answered || m.Requests[1].Approved || m.Requests[1].Reason != "not here" || m.Calls != 1 || m.Denied != 1 {
		t.Errorf("stats %+v", m)
	}
	want := []string{"second mcp_approval_response", `unknown approval_request_id "mcpr_nope"`, "no mcp_approval_response for", "after the wait ended", `server "nope"`}
	got := strings.Join(m.Violations, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("violations %q, want one with %q", m.Violations, w)
		}
	}
	if len(m.Violations) != len(want) {
		t.Errorf("%d violations %q, want %d", len(m.Violations), m.Violations, len(want))
	}
	if _, err := New(WithMCPScript(MCPCall{Name: "x"})); err == nil {
		t.Error("an MCP call without a server label was accepted")
	}
}

// TestMCPScriptNoApproval: with require_approval "never" the call and its answer come
// in the response of the turn; FailCall and FailList send the failure events.
func TestMCPScriptNoApproval(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithMCPScript(
		MCPCall{ServerLabel: "docs", Name: "search", Output: "found"},
		MCPCall{ServerLabel: "docs", Name: "search", FailCall: true},
		MCPCall{ServerLabel: "docs", Name: "search", FailList: true},
	))
	defer srv.Close()
	c := dial(t, srv.NewKey(events.GA, time.Minute))
	defer c.close()
	c.expect(events.TypeSessionCreated)
	c.send(mcpSession("never"))
	c.expect(events.TypeSessionUpdated)
	c.textTurn(t)
	c.send(events.ResponseCreate{})
	c.expect(events.TypeResponseCreated)
	if text, call := spoken(t, c); text != "The MCP tool search answered: found" || call.Type != "mcp_call" || call.ApprovalRequestID != "" {
		t.Errorf("answer %q, item %+v", text, call)
	}
	c.textTurn(t)
	c.send(events.ResponseCreate{})
	c.expect(events.TypeResponseCreated)
	text, call := spoken(t, c)
	lc, _ := srv.Stats().LastCall()
	failed := slices.Contains(lc.ServerEvents, "response.mcp_call.failed")
	if !failed || call.ErrorType != "tool_execution_error" || text != "The MCP tool search failed." {
		t.Errorf("failed call: event %v, item %+v, answer %q", failed, call, text)
	}
	c.textTurn(t)
	c.send(events.ResponseCreate{})
	c.expect(events.TypeMCPListToolsFailed, events.TypeResponseCreated)
	lc, _ = srv.Stats().LastCall()
	if lc.MCP.Calls != 2 || len(lc.MCP.Violations) != 0 {
		t.Errorf("stats %+v", lc.MCP)
	}
}
