package rtc

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// Server-side MCP (a session tool of type "mcp", GA dialect): the service itself calls
// the MCP server. With require_approval "always" it first adds an mcp_approval_request
// item (id, server_label, name, arguments) to the response and waits for the client's
// conversation.item.create with an mcp_approval_response item (approval_request_id,
// approve, reason). The session answers each request at once: approved when the tool
// is in its server's list (WithMCPApprovals), else denied with a reason the model can
// say. It sends nothing else: the service continues by itself (an mcp_call item and
// the spoken answer in a response of its own). That is what the OpenAI Agents SDK
// does (it sends only the approval item; after a function_call_output it also sends
// response.create); the Realtime MCP guide shows no response.create after an
// approval. NOTES.md has the sources.
//
// A request is read from response.output_item.done, conversation.item.done (where the
// Agents SDK takes it) and response.done's output (each id is answered once). A failed mcp_call item,
// response.mcp_call.failed and mcp_list_tools.failed are logged and reported as
// EventError, without the server's error message (it could quote a token).

// maxMCPAnswered bounds the request ids remembered per connection (for answering each
// once); past it the memory starts again.
const maxMCPAnswered = 256

// WithMCPApprovals gives, per server_label of a server-side MCP tool, the tools the
// device approves when the service asks (require_approval "always"). Any other request
// is denied. Without it every request is denied.
func WithMCPApprovals(approve map[string][]string) Option {
	return func(s *Session) error {
		m := make(map[string][]string, len(approve))
		for label, names := range approve {
			if label == "" {
				return errors.New("rtc: WithMCPApprovals: empty server label")
			}
			m[label] = slices.Clone(names)
		}
		s.cfg.mcpApprove = m
		return nil
	}
}

// mcpConn is a connection's server-side MCP state (run loop only).
type mcpConn struct {
	answered map[string]bool // approval request ids answered
}

// mcpApproved reports whether the device approves tool name of server label.
func (s *Session) mcpApproved(label, name string) bool {
	return slices.Contains(s.cfg.mcpApprove[label], name)
}

// mcpDenyReason is the reason sent with a denial, for the model to say.
func mcpDenyReason(name string) string {
	return "this device does not approve " + name + "; ask the user to do it another way"
}

// mcpItem acts on a server-side MCP item of a response's output (run loop only).
func (s *Session) mcpItem(c *conn, it events.OutputItem) {
	switch it.Type {
	case "mcp_approval_request":
		s.mcpApprovalRequest(c, it)
	case "mcp_call":
		if it.ErrorType != "" || it.Status == "failed" {
			s.mcpFailed(fmt.Errorf("rtc: the service's MCP call of tool %q on server %q failed (%s)", it.Name, it.ServerLabel, cmp.Or(it.ErrorType, "failed")))
			return
		}
		s.cfg.log.Info("rtc: mcp call done", "server", it.ServerLabel, "tool", it.Name, "output_bytes", len(it.Output))
	}
}

// mcpFailed logs and reports a server-side MCP failure.
func (s *Session) mcpFailed(err error) {
	s.cfg.log.Warn(err.Error())
	s.emit(Event{Kind: EventError, Err: err})
}

// mcpApprovalRequest answers one mcp_approval_request (run loop only).
func (s *Session) mcpApprovalRequest(c *conn, it events.OutputItem) {
	m := &c.mcp
	if it.ID != "" && m.answered[it.ID] {
		return // output_item.done and response.done both carry it
	}
	if it.ID == "" || it.ServerLabel == "" || it.Name == "" {
		err := fmt.Errorf("rtc: malformed mcp_approval_request from the service (id %q, server_label %q, name %q): it needs all three", it.ID, it.ServerLabel, it.Name)
		s.cfg.log.Error(err.Error())
		s.emit(Event{Kind: EventError, Err: err})
		if it.ID == "" {
			return // nothing to answer
		}
	}
	if m.answered == nil || len(m.answered) >= maxMCPAnswered {
		m.answered = map[string]bool{}
	}
	m.answered[it.ID] = true
	approve := it.ServerLabel != "" && it.Name != "" && s.mcpApproved(it.ServerLabel, it.Name)
	ans := events.MCPApprovalResponse{ApprovalRequestID: it.ID, Approve: approve}
	decision := "approved"
	if !approve {
		decision = "denied"
		ans.Reason = mcpDenyReason(cmp.Or(it.Name, "this tool"))
	}
	c.send(ans)
	s.cfg.log.Info("rtc: mcp approval: server "+it.ServerLabel+" tool "+it.Name+" "+decision, "server", it.ServerLabel, "tool", it.Name, "decision", decision)
	s.cfg.log.Debug("rtc: mcp approval request arguments", "server", it.ServerLabel, "tool", it.Name, "arguments", it.Arguments)
	s.emit(Event{Kind: EventThinking, Text: "the service's MCP tool " + it.Name + " was " + decision + "; the service continues"})
}

// handleMCPEvent acts on the server-side MCP events of the service (run loop only).
func (s *Session) handleMCPEvent(c *conn, ev events.Event) {
	switch e := ev.(type) {
	case events.ConversationItemDone:
		if e.Item.Type == "mcp_approval_request" {
			s.mcpItem(c, e.Item)
		}
	case events.MCPListToolsFailed:
		s.mcpFailed(fmt.Errorf("rtc: the service could not list the tools of a server-side MCP server (item %s); check [[tools.mcp_remote]] server_url and authorization_file", e.ItemID))
	case events.MCPCallFailed:
		s.cfg.log.Debug("rtc: response.mcp_call.failed", "item", e.ItemID, "response", e.ResponseID) // its output_item.done names the tool
	}
}
