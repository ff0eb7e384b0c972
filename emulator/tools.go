package emulator

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// Scripted function calls. With WithToolScript the emulator plays a model that calls
// tools: the response that answers a user turn (committed audio or a text prompt)
// carries the function calls of the next scripted ToolTurn instead of audio, with the
// events of the service (response.function_call_arguments.done, then
// response.output_item.done per call, then response.done listing the calls in its
// output). The GA dialect names the tool in arguments.done; the preview dialect leaves
// the name to output_item.done, so a client must read both.
//
// It then checks the client's answer shape, as the service would need it: one
// conversation.item.create with a function_call_output per call, for a call_id of the
// last tool response, then exactly one response.create after the last output, which
// the emulator answers with speech (the chime of say.go and the reply transcript). Anything else is recorded in
// CallStats.Tools.Violations: an output for an unknown or already answered call_id, or
// for a call of an earlier response, and a response.create while a call has no output.
// FollowUps counts the response.create events that came after all outputs; calls left
// without outputs when the user starts a new turn count as Abandoned.

// ToolCall is one scripted function call.
type ToolCall struct {
	Name      string // the tool's name
	Arguments string // the arguments as JSON text (as the model writes them)
}

// ToolTurn is the function calls of one scripted response, sent After the
// response.created (the model "thinking"; 0 = at once). Several calls are parallel
// calls.
type ToolTurn struct {
	Calls []ToolCall
	After time.Duration
}

// WithToolScript makes the emulator answer user turns with these function calls, one
// ToolTurn per user turn, in order on each call (connection); user turns after the
// last are answered with audio as usual.
func WithToolScript(turns ...ToolTurn) Option {
	return func(s *Server) error {
		for i, t := range turns {
			if len(t.Calls) == 0 {
				return fmt.Errorf("emulator: tool turn %d has no calls", i)
			}
			for _, c := range t.Calls {
				if c.Name == "" {
					return errors.New("emulator: a scripted tool call has no name")
				}
			}
			if t.After < 0 {
				return fmt.Errorf("emulator: tool turn %d: negative delay", i)
			}
		}
		s.toolScript = slices.Clone(turns)
		return nil
	}
}

// ToolStats is what a call saw of function calls.
type ToolStats struct {
	Calls []ToolCallStats
	// FollowUps counts response.create events that came after every call of a tool
	// response had its output (one per tool response is the right shape).
	FollowUps int
	// Abandoned counts calls left without an output when a new user turn came (after
	// a barge-in); that is allowed.
	Abandoned int
	// Violations describes each deviation from the answer shape.
	Violations []string
}

// ToolCallStats is one function call the emulator made.
type ToolCallStats struct {
	ResponseID string
	CallID     string
	Name       string
	Arguments  string
	CalledAt   time.Time // when response.output_item.done went out
	Answered   bool      // a function_call_output came for it
	Output     string
	OutputAt   time.Time
}

func (t ToolStats) clone() ToolStats {
	t.Calls = slices.Clone(t.Calls)
	t.Violations = slices.Clone(t.Violations)
	return t
}

// callTools is a call's scripted-tool state (c.mu).
type callTools struct {
	next        int             // the next ToolTurn
	outstanding map[string]bool // call ids of the last tool response without an output
	answered    bool            // the last tool response's calls all have outputs; the follow-up is due
}

func (c *call) violationLocked(format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	c.st.Tools.Violations = append(c.st.Tools.Violations, v)
	c.s.log.Warn("tool answer shape", "call", c.id, "violation", v)
}

// toolResponseLocked runs at each response.create that starts a response: it checks
// the answer shape and, when a scripted turn is due, starts a response of function
// calls and reports true. c.mu must be held.
func (c *call) toolResponseLocked() bool {
	tl := &c.tl
	userTurn := len(c.pending) > 0 || c.textTurn
	if n := len(tl.outstanding); n > 0 {
		if !userTurn {
			c.violationLocked("response.create while %d function call(s) have no output", n)
			return false
		}
		// The user spoke again (a barge-in cancelled the tools): the calls are left
		// without outputs, which the service accepts.
		c.st.Tools.Abandoned += n
		tl.outstanding = nil
	}
	if tl.answered { // the follow-up: the model speaks about the results
		tl.answered = false
		c.st.Tools.FollowUps++
		c.textTurn = true // answered with the spoken chime, like a text prompt (say.go)
		return false
	}
	if tl.next >= len(c.s.toolScript) || !userTurn {
		return false
	}
	turn := c.s.toolScript[tl.next]
	tl.next++
	c.pending, c.textTurn = nil, false
	c.nResp++
	id := fmt.Sprintf("resp_%s_%d", c.id[4:], c.nResp)
	c.stopPlayoutLocked()
	c.resp = &activeResp{id: id, idx: len(c.st.Responses)}
	c.st.Responses = append(c.st.Responses, ResponseStats{ID: id, Status: events.StatusInProgress})
	c.sendLocked(events.ResponseCreated{Response: events.Response{ID: id, Status: events.StatusInProgress}})
	c.rateLimitsLocked()
	r := c.resp
	emit := func() {
		c.mu.Lock()
		defer c.notify()
		defer c.mu.Unlock()
		if c.resp != r {
			return // cancelled meanwhile
		}
		c.toolCallsLocked(r, turn)
	}
	if turn.After == 0 {
		c.toolCallsLocked(r, turn)
	} else {
		c.afterLocked(turn.After, emit)
	}
	return true
}

// toolCallsLocked sends the calls of turn for response r and ends r. c.mu must be held.
func (c *call) toolCallsLocked(r *activeResp, turn ToolTurn) {
	var items []events.OutputItem
	c.tl.outstanding = map[string]bool{}
	for i, tc := range turn.Calls {
		c.nItem++
		item := fmt.Sprintf("item_%s_%d", c.id[4:], c.nItem)
		callID := fmt.Sprintf("call_%s_%d", c.id[4:], c.nItem)
		name := tc.Name
		if c.dialect == events.Preview {
			name = "" // the preview service names the tool in the item only
		}
		c.sendLocked(events.FunctionCallArgumentsDone{ResponseID: r.id, ItemID: item, OutputIndex: i, CallID: callID, Name: name, Arguments: tc.Arguments})
		it := events.OutputItem{ID: item, Type: "function_call", Status: "completed", CallID: callID, Name: tc.Name, Arguments: tc.Arguments}
		c.sendLocked(events.OutputItemDone{ResponseID: r.id, OutputIndex: i, Item: it})
		items = append(items, it)
		c.tl.outstanding[callID] = true
		c.st.Tools.Calls = append(c.st.Tools.Calls, ToolCallStats{ResponseID: r.id, CallID: callID, Name: tc.Name, Arguments: tc.Arguments, CalledAt: time.Now()})
		c.lastItem = item
	}
	c.resp = nil
	c.st.Responses[r.idx].Status = events.StatusCompleted
	c.sendLocked(events.ResponseDone{Response: events.Response{ID: r.id, Status: events.StatusCompleted, Output: items}})
}

// functionOutputLocked takes a function_call_output item: it must answer an
// outstanding call of the last tool response. It is acknowledged like any item
// (conversation.item.created). c.mu must be held.
func (c *call) functionOutputLocked(e events.FunctionCallOutput, data []byte) {
	tl := &c.tl
	i := slices.IndexFunc(c.st.Tools.Calls, func(x ToolCallStats) bool { return x.CallID == e.CallID })
	switch {
	case i < 0:
		c.violationLocked("function_call_output for unknown call_id %q", e.CallID)
	case c.st.Tools.Calls[i].Answered:
		c.violationLocked("second function_call_output for call_id %q", e.CallID)
	case !tl.outstanding[e.CallID]:
		c.violationLocked("function_call_output for call_id %q of an earlier response", e.CallID)
	default:
		c.st.Tools.Calls[i].Answered = true
		c.st.Tools.Calls[i].Output = e.Output
		c.st.Tools.Calls[i].OutputAt = time.Now()
		delete(tl.outstanding, e.CallID)
		if len(tl.outstanding) == 0 {
			tl.answered = true
		}
	}
	c.itemCreateLocked(data)
}
