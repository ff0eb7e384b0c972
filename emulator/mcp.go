package emulator

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// Scripted server-side MCP calls. With WithMCPScript the emulator plays a service
// whose model calls a tool of a session's type "mcp" tool (server_label): the response
// that answers a user turn (committed audio or a text prompt) is the next scripted
// MCPCall, before any WithToolScript turn.
//
//   - require_approval "never": one response carries the mcp_call item (output) and
//     the spoken answer (the chime of say.go, transcript "The MCP tool NAME answered:
//     OUTPUT").
//   - require_approval "always": the response carries an mcp_approval_request item
//     (response.output_item.done, conversation.item.done, then response.done listing
//     it) and ends; the
//     emulator then waits up to the approval wait (WithMCPApprovalWait) for the
//     client's conversation.item.create with an mcp_approval_response for that id. On
//     it, the emulator continues by itself, as the service does (no response.create is
//     needed): approved, a response with the mcp_call item and the spoken answer;
//     denied, a response whose transcript is "The MCP tool NAME was denied: REASON".
//     A response.create then is refused like any during an active response.
//
// The client's answers are checked strictly: an mcp_approval_response must name an
// approval request that waits for its answer and carry a boolean approve (else it is
// malformed and refused); a second answer, an answer for an unknown id, no answer
// within the wait, a response.create without a user turn while a request waits, and a
// script call of a server the session does not declare are recorded in
// CallStats.MCP.Violations.

// MCPCall is one scripted call of a server-side MCP tool.
type MCPCall struct {
	ServerLabel string // the session's type "mcp" tool whose server is called
	Name        string // the server's tool
	Arguments   string // JSON text
	Output      string // what the tool answers when it runs
	// Malformed sends the approval request without server_label and name (a service
	// fault), for the client's error path.
	Malformed bool
	// FailList sends mcp_list_tools.failed first (the service could not list the
	// server's tools) and answers the turn with speech, without a call.
	FailList bool
	// FailCall makes the call fail: an mcp_call item with an error
	// (tool_execution_error) and response.mcp_call.failed, then the spoken answer.
	FailCall bool
}

// DefaultMCPApprovalWait bounds the wait for an mcp_approval_response.
const DefaultMCPApprovalWait = 10 * time.Second

// WithMCPScript makes the emulator answer user turns with these server-side MCP calls,
// one per user turn, in order on each call (connection), before any WithToolScript turn.
func WithMCPScript(calls ...MCPCall) Option {
	return func(s *Server) error {
		for i, c := range calls {
			if c.ServerLabel == "" || c.Name == "" {
				return fmt.Errorf("emulator: MCP call %d needs a server label and a tool name", i)
			}
		}
		s.mcpScript = slices.Clone(calls)
		return nil
	}
}

// WithMCPApprovalWait sets how long the emulator waits for the client's
// mcp_approval_response before it records a violation (default DefaultMCPApprovalWait).
func WithMCPApprovalWait(d time.Duration) Option {
	return func(s *Server) error {
		if d <= 0 {
			return errors.New("emulator: WithMCPApprovalWait: the wait must be positive")
		}
		s.mcpWait = d
		return nil
	}
}

// MCPStats is what a call saw of server-side MCP calls.
type MCPStats struct {
	Requests []MCPRequestStats
	// Calls counts the mcp_call items sent (approved calls, calls without approval).
	Calls int
	// Denied counts the answers spoken for denied calls.
	Denied int
	// Violations describes each deviation from the answer shape.
	Violations []string
}

// MCPRequestStats is one mcp_approval_request the emulator sent.
type MCPRequestStats struct {
	ID          string
	ServerLabel string
	Name        string
	Answered    bool
	Approved    bool
	Reason      string
	TimedOut    bool // no answer came within the wait
}

func (m MCPStats) clone() MCPStats {
	m.Requests = slices.Clone(m.Requests)
	m.Violations = slices.Clone(m.Violations)
	return m
}

// callMCP is a call's scripted-MCP state (c.mu).
type callMCP struct {
	next    int
	waiting map[string]MCPCall // approval request id → its call
	answer  *mcpAnswer         // what the next response carries
}

type mcpAnswer struct {
	call     MCPCall
	approved bool
	reason   string
	reqID    string
}

// mcpStep is what mcpResponseLocked did.
type mcpStep int

const (
	mcpNone    mcpStep = iota // no MCP call: scripted tools or speech as usual
	mcpStarted                // a response of its own was sent
	mcpAnswer1                // the response carries an MCP answer: speech, no scripted tools
)

func (c *call) mcpViolationLocked(format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	c.st.MCP.Violations = append(c.st.MCP.Violations, v)
	c.s.log.Warn("mcp answer shape", "call", c.id, "violation", v)
}

// mcpDeclaredLocked returns the session's type "mcp" tool of label. c.mu must be held.
func (c *call) mcpDeclaredLocked(label string) *events.MCPTool {
	for _, t := range c.st.Session.Tools {
		if t.MCP != nil && t.MCP.ServerLabel == label {
			return t.MCP
		}
	}
	return nil
}

// mcpResponseLocked runs at each response.create that starts a response. c.mu must be
// held.
func (c *call) mcpResponseLocked() mcpStep {
	m := &c.mc
	if m.answer != nil {
		return mcpAnswer1
	}
	userTurn := len(c.pending) > 0 || c.textTurn
	if !userTurn {
		if len(m.waiting) > 0 {
			c.mcpViolationLocked("response.create while %d mcp_approval_request(s) wait for an answer", len(m.waiting))
		}
		return mcpNone
	}
	if m.next >= len(c.s.mcpScript) {
		return mcpNone
	}
	mc := c.s.mcpScript[m.next]
	m.next++
	decl := c.mcpDeclaredLocked(mc.ServerLabel)
	if decl == nil {
		c.mcpViolationLocked("scripted MCP call of server %q, which the session does not declare", mc.ServerLabel)
		return mcpNone
	}
	if mc.FailList {
		c.nItem++
		c.sendLocked(events.MCPListToolsFailed{ItemID: fmt.Sprintf("mcpl_%s_%d", c.id[4:], c.nItem)})
		return mcpNone
	}
	if decl.RequireApproval != "always" {
		m.answer = &mcpAnswer{call: mc, approved: true}
		return mcpAnswer1
	}
	// The request: a response of its own, which ends waiting for the client.
	c.pending, c.textTurn = nil, false
	c.nResp++
	id := fmt.Sprintf("resp_%s_%d", c.id[4:], c.nResp)
	c.stopPlayoutLocked()
	c.st.Responses = append(c.st.Responses, ResponseStats{ID: id, Status: events.StatusCompleted})
	c.sendLocked(events.ResponseCreated{Response: events.Response{ID: id, Status: events.StatusInProgress}})
	c.rateLimitsLocked()
	c.nItem++
	reqID := fmt.Sprintf("mcpr_%s_%d", c.id[4:], c.nItem)
	it := events.OutputItem{ID: reqID, Type: "mcp_approval_request", ServerLabel: mc.ServerLabel, Name: mc.Name, Arguments: mc.Arguments}
	if mc.Malformed {
		it.ServerLabel, it.Name = "", ""
	}
	c.sendLocked(events.OutputItemDone{ResponseID: id, Item: it})
	c.sendLocked(events.ConversationItemDone{PreviousItemID: c.lastItem, Item: it})
	c.sendLocked(events.ResponseDone{Response: events.Response{ID: id, Status: events.StatusCompleted, Output: []events.OutputItem{it}}})
	c.lastItem = reqID
	if m.waiting == nil {
		m.waiting = map[string]MCPCall{}
	}
	m.waiting[reqID] = mc
	c.st.MCP.Requests = append(c.st.MCP.Requests, MCPRequestStats{ID: reqID, ServerLabel: mc.ServerLabel, Name: mc.Name})
	wait := c.s.mcpWait
	if wait == 0 {
		wait = DefaultMCPApprovalWait
	}
	c.afterLocked(wait, func() {
		c.mu.Lock()
		defer c.notify()
		defer c.mu.Unlock()
		if _, ok := c.mc.waiting[reqID]; !ok {
			return
		}
		delete(c.mc.waiting, reqID)
		if i := c.mcpRequestLocked(reqID); i >= 0 {
			c.st.MCP.Requests[i].TimedOut = true
		}
		c.mcpViolationLocked("no mcp_approval_response for %q (tool %s) within %v", reqID, mc.Name, wait)
	})
	return mcpStarted
}

func (c *call) mcpRequestLocked(id string) int {
	return slices.IndexFunc(c.st.MCP.Requests, func(r MCPRequestStats) bool { return r.ID == id })
}

// mcpApprovalLocked takes the client's mcp_approval_response and, when it answers a
// waiting request and no response is active, continues with the answer. c.mu must be
// held.
func (c *call) mcpApprovalLocked(e events.MCPApprovalResponse, data []byte) {
	m := &c.mc
	mc, ok := m.waiting[e.ApprovalRequestID]
	i := c.mcpRequestLocked(e.ApprovalRequestID)
	switch {
	case ok:
	case i >= 0 && c.st.MCP.Requests[i].Answered:
		c.mcpViolationLocked("second mcp_approval_response for %q", e.ApprovalRequestID)
	case i >= 0:
		c.mcpViolationLocked("mcp_approval_response for %q after the wait ended", e.ApprovalRequestID)
	default:
		c.mcpViolationLocked("mcp_approval_response for unknown approval_request_id %q", e.ApprovalRequestID)
	}
	c.itemCreateLocked(data)
	if !ok {
		return
	}
	delete(m.waiting, e.ApprovalRequestID)
	r := &c.st.MCP.Requests[i]
	r.Answered, r.Approved, r.Reason = true, e.Approve, e.Reason
	if c.resp != nil {
		return // the user started another turn meanwhile
	}
	m.answer = &mcpAnswer{call: mc, approved: e.Approve, reason: e.Reason, reqID: e.ApprovalRequestID}
	c.textTurn = true // the answer is spoken with the chime (say.go)
	c.startResponseLocked()
}

// mcpAnswerLocked runs in a response that carries an MCP answer, after
// response.created: it sends the mcp_call item (when the call ran) and returns the
// transcript of the answer ("" = the server's reply text). c.mu must be held.
func (c *call) mcpAnswerLocked(respID string) string {
	a := c.mc.answer
	if a == nil {
		return ""
	}
	c.mc.answer = nil
	if !a.approved {
		c.st.MCP.Denied++
		return fmt.Sprintf("The MCP tool %s was denied: %s", a.call.Name, a.reason)
	}
	c.nItem++
	it := events.OutputItem{ID: fmt.Sprintf("mcp_%s_%d", c.id[4:], c.nItem), Type: "mcp_call", Status: "completed",
		ServerLabel: a.call.ServerLabel, Name: a.call.Name, Arguments: a.call.Arguments, Output: a.call.Output, ApprovalRequestID: a.reqID}
	text := fmt.Sprintf("The MCP tool %s answered: %s", a.call.Name, a.call.Output)
	if a.call.FailCall {
		it.Status, it.Output, it.ErrorType = "failed", "", "tool_execution_error"
		text = fmt.Sprintf("The MCP tool %s failed.", a.call.Name)
	}
	c.sendLocked(events.OutputItemDone{ResponseID: respID, Item: it})
	if a.call.FailCall {
		c.sendLocked(events.MCPCallFailed{ResponseID: respID, ItemID: it.ID})
	}
	c.st.MCP.Calls++
	return text
}
