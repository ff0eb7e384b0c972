package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// The call loop: the model calls a function tool (response.function_call_arguments.done
// or response.output_item.done with a function_call item); the session runs it through
// the ToolRunner on a goroutine of its own, sends its result as conversation.item.create
// (function_call_output, for the call's call_id) as soon as it is ready, and when every
// call of the response has its output and the response is done, exactly one
// response.create, so the model answers with the results. The calls of one response
// run concurrently. A press, a barge-in, Cancel, Say, the service's VAD hearing the user
// or the end of the connection cancels the running calls (their context) and nothing of
// theirs is sent afterwards. An unknown tool, invalid arguments, an error or the timeout
// gives the model an error output ({"error": "..."}) instead of leaving it waiting.

// ToolRunner runs the model's function calls; the appliance provides it.
type ToolRunner interface {
	// RunTool runs the tool name with args (the arguments as the model wrote them, JSON
	// text) and returns the output for the model (JSON or plain text). It is called on
	// a goroutine of its own, concurrently for parallel calls, and must return soon
	// after ctx ends. An error is sent to the model as an error output; its text must
	// not hold secrets.
	RunTool(ctx context.Context, name, args string) (string, error)
}

// DefaultToolTimeout bounds one tool call when WithTools is given no timeout.
const DefaultToolTimeout = 10 * time.Second

// maxToolCalls bounds the calls of one response (a model that loops gets errors).
const maxToolCalls = 16

// MaxToolOutput bounds one output sent to the model (bytes); a ToolRunner that returns
// more gives the model an error output instead (the data channel's messages are
// bounded too).
const MaxToolOutput = 32 << 10

type toolConfig struct {
	runner  ToolRunner
	timeout time.Duration
}

// WithTools makes the session answer the model's function calls with r; timeout
// bounds each call (0 = DefaultToolTimeout). The tools themselves are declared to the
// model in the session config (WithSessionConfig, Session.Tools). Without WithTools a
// function call gets an error output saying the device has no tools.
func WithTools(r ToolRunner, timeout time.Duration) Option {
	return func(s *Session) error {
		if r == nil {
			return errors.New("rtc: WithTools: nil ToolRunner")
		}
		if timeout < 0 {
			return fmt.Errorf("rtc: WithTools: negative timeout %v", timeout)
		}
		if timeout == 0 {
			timeout = DefaultToolTimeout
		}
		s.cfg.tools = toolConfig{runner: r, timeout: timeout}
		return nil
	}
}

// toolBatch is the function calls of one response (run loop only).
type toolBatch struct {
	gen      uint64             // the batch's generation; results of other generations are stale
	respID   string             // the response whose calls these are
	ctx      context.Context    // the calls' context (the batch's own, not the session's)
	cancel   context.CancelFunc // ends the running calls
	calls    map[string]*toolCall
	respDone bool // response.done seen for respID
	followed bool // response.create sent for the outputs
	running  int
	// cancelled is the response whose calls were cancelled last: its late events
	// (arguments.done, output_item.done, response.done listing the calls) start nothing.
	cancelled string
}

type toolCall struct {
	name string
	sent bool
}

// toolResult is a finished call, posted to the run loop.
type toolResult struct {
	gen    uint64
	callID string
	name   string
	output string
	err    error
	took   time.Duration
}

// errorOutput is the output that tells the model its call failed.
func errorOutput(err error) string {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{err.Error()})
	return string(b)
}

var errNoTools = errors.New("this device runs no tools")

// startToolCall runs one function call of response respID (run loop only). A call id
// already seen is ignored: the arguments.done and output_item.done of a call both come.
func (s *Session) startToolCall(c *conn, t *turn, respID, callID, name, args string) {
	b := &c.tools
	if callID == "" || name == "" || (respID != "" && respID == b.cancelled) {
		return
	}
	if b.respID != respID || b.calls == nil {
		s.cancelTools(c, "") // a new response's calls: what is left of the last is stale
		b.gen++
		b.respID = respID
		b.calls = map[string]*toolCall{}
		b.respDone, b.followed = false, false
		ctx, cancel := context.WithCancel(context.Background())
		b.ctx, b.cancel = ctx, cancel
	}
	if _, seen := b.calls[callID]; seen {
		return
	}
	if len(b.calls) >= maxToolCalls {
		s.cfg.log.Warn("rtc: too many tool calls in one response; ignored", "tool", name, "max", maxToolCalls)
		return
	}
	b.calls[callID] = &toolCall{name: name}
	b.running++
	if b.running == 1 {
		s.emit(Event{Kind: EventThinking, Text: "the model called " + name + "; running it"}) // LEDs: thinking while a tool runs
	}
	gen, runner, timeout := b.gen, s.cfg.tools.runner, s.cfg.tools.timeout
	ctx := b.ctx
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		start := time.Now()
		var out string
		var err error
		if runner == nil {
			err = errNoTools
		} else {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			out, err = runner.RunTool(cctx, name, args)
			if err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				err = fmt.Errorf("the tool did not answer within %v", timeout)
			}
			cancel()
			if err == nil && len(out) > MaxToolOutput {
				out, err = "", fmt.Errorf("the tool's output of %d bytes is larger than %d", len(out), MaxToolOutput)
			}
		}
		if ctx.Err() != nil {
			return // cancelled: nothing stale is sent
		}
		c.post(connMsg{kind: msgToolDone, tool: &toolResult{gen: gen, callID: callID, name: name, output: out, err: err, took: time.Since(start)}})
	}()
}

// toolDone sends a finished call's output and, when it was the last, asks for the
// answer (run loop only).
func (s *Session) toolDone(c *conn, t *turn, r *toolResult) {
	b := &c.tools
	call := b.calls[r.callID]
	if r.gen != b.gen || call == nil || call.sent {
		return // stale
	}
	call.sent = true
	b.running--
	out, result := r.output, "ok"
	if r.err != nil {
		out, result = errorOutput(r.err), "error"
		s.cfg.log.Debug("rtc: tool error", "tool", r.name, "err", r.err)
	}
	c.send(events.FunctionCallOutput{CallID: r.callID, Output: out})
	s.st.toolCalls.Add(1)
	s.cfg.log.Info("rtc: tool", "tool", r.name, "took", r.took.Round(time.Microsecond), "result", result, "bytes", len(out))
	s.maybeFollowUp(c, t)
}

// maybeFollowUp sends the one response.create once every call of the response has its
// output and the response is done (a response.create before response.done would be
// refused: the response is still active).
func (s *Session) maybeFollowUp(c *conn, t *turn) {
	b := &c.tools
	if !b.respDone || b.followed || b.running > 0 || len(b.calls) == 0 {
		return
	}
	b.followed = true
	c.send(events.ResponseCreate{})
	t.conv.awaitResp = true
	s.emit(Event{Kind: EventThinking, Text: "tool outputs sent; answer requested"})
}

// toolsResponseDone handles response.done for the calls of that response: calls only
// listed in its output start now; a response that did not complete cancels its calls.
func (s *Session) toolsResponseDone(c *conn, t *turn, r events.Response) {
	for _, it := range r.Output {
		if it.Type == "function_call" && r.Status == events.StatusCompleted {
			s.startToolCall(c, t, r.ID, it.CallID, it.Name, it.Arguments)
		}
		if it.Type == "mcp_approval_request" {
			s.mcpItem(c, it) // mcpapproval.go; answered once
		}
	}
	b := &c.tools
	if b.respID != r.ID || b.calls == nil {
		return
	}
	if r.Status != events.StatusCompleted {
		s.cancelTools(c, "the response ended "+r.Status.String())
		return
	}
	b.respDone = true
	if b.running > 0 {
		s.emit(Event{Kind: EventThinking, Text: "tools still running after the response ended"}) // still working after the response ended
	}
	s.maybeFollowUp(c, t)
}

// cancelTools ends the running calls; their outputs are never sent and no
// response.create follows (run loop only). why is logged when calls were running.
func (s *Session) cancelTools(c *conn, why string) {
	b := &c.tools
	if b.cancel != nil {
		b.cancel()
		b.cancel = nil
	}
	if b.running > 0 && why != "" {
		s.cfg.log.Info("rtc: tool calls cancelled", "running", b.running, "cause", why)
		s.st.toolsCancelled.Add(uint64(b.running))
	}
	if b.respID != "" && (b.running > 0 || !b.respDone) {
		b.cancelled = b.respID // its calls must not start again from later events
	}
	b.gen++
	b.running = 0
	b.calls = nil
	b.respID = ""
	b.ctx = nil
}

// handleToolEvent acts on the function-call events.
func (s *Session) handleToolEvent(c *conn, t *turn, ev events.Event) {
	switch e := ev.(type) {
	case events.FunctionCallArgumentsDone:
		if e.Name != "" { // else output_item.done names the tool
			s.startToolCall(c, t, e.ResponseID, e.CallID, e.Name, e.Arguments)
		} else {
			s.cfg.log.Debug("rtc: function call arguments done; waiting for its item", "call_id", e.CallID)
		}
	case events.OutputItemDone:
		switch e.Item.Type {
		case "function_call":
			s.startToolCall(c, t, e.ResponseID, e.Item.CallID, e.Item.Name, e.Item.Arguments)
		case "mcp_approval_request", "mcp_call":
			s.mcpItem(c, e.Item) // mcpapproval.go
		}
	}
}
