package emulator

import (
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

// textTurn adds a user text item, so the next response.create answers a user turn.
func (c *testClient) textTurn(t *testing.T) {
	t.Helper()
	c.dc.SendText(`{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"louder please"}]}}`)
	if _, ok := c.next().(events.ConversationItemCreated); !ok {
		t.Fatal("no conversation.item.created for the text item")
	}
}

// callsOf reads a scripted tool response up to its response.done and returns the calls
// (name from output_item.done; arguments.done's name checked against the dialect).
func callsOf(t *testing.T, c *testClient, d events.Dialect) []events.OutputItem {
	t.Helper()
	c.expect(events.TypeResponseCreated)
	var items []events.OutputItem
	for {
		switch e := c.next().(type) {
		case events.FunctionCallArgumentsDone:
			if (d == events.GA) != (e.Name != "") {
				t.Errorf("%v: arguments.done name %q (GA names the tool there, preview does not)", d, e.Name)
			}
		case events.OutputItemDone:
			items = append(items, e.Item)
		case events.ResponseDone:
			if len(e.Response.Output) != len(items) {
				t.Errorf("%v: response.done lists %d outputs, %d items came", d, len(e.Response.Output), len(items))
			}
			return items
		case events.OutputAudioBufferStarted:
			t.Errorf("%v: a tool response has audio", d)
		}
	}
}

// TestToolScript: the scripted calls go out in both dialects; a right answer (an
// output per call, then one response.create) gets the spoken follow-up and no
// violation; wrong answers are each recorded.
func TestToolScript(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithToolScript(
		ToolTurn{Calls: []ToolCall{{Name: "set_volume", Arguments: `{"level":0.8}`}, {Name: "get_time", Arguments: `{}`}}},
		ToolTurn{Calls: []ToolCall{{Name: "get_time", Arguments: `{}`}}, After: 50 * time.Millisecond},
	))
	defer srv.Close()
	for _, d := range []events.Dialect{events.GA, events.Preview} {
		c := dial(t, srv.NewKey(d, time.Minute))
		c.expect(events.TypeSessionCreated)
		// turn 1: the right shape
		c.textTurn(t)
		c.send(events.ResponseCreate{})
		items := callsOf(t, c, d)
		if len(items) != 2 || items[0].Name != "set_volume" || items[0].Arguments != `{"level":0.8}` || items[1].Name != "get_time" || items[0].CallID == items[1].CallID {
			t.Fatalf("%v: calls %+v", d, items)
		}
		for i := len(items) - 1; i >= 0; i-- { // any order
			c.send(events.FunctionCallOutput{CallID: items[i].CallID, Output: `{"ok":true}`})
			c.expect(events.TypeConversationItemCreated)
		}
		c.send(events.ResponseCreate{})
		c.expect(events.TypeResponseCreated)
		spoke, audio := false, false
		for ev := c.next(); ev.Type() != events.TypeOutputAudioBufferStopped; ev = c.next() {
			if e, ok := ev.(events.TranscriptDone); ok && e.Transcript == DefaultReplyText {
				spoke = true
			}
			audio = audio || ev.Type() == events.TypeOutputAudioBufferStarted
		}
		if !spoke || !audio {
			t.Errorf("%v: the follow-up response is not spoken (transcript %v, audio %v)", d, spoke, audio)
		}
		// turn 2 (after a delay): response.create too early, an unknown call id, a
		// second output and a second follow-up
		c.textTurn(t)
		c.send(events.ResponseCreate{})
		items = callsOf(t, c, d)
		if len(items) != 1 {
			t.Fatalf("%v: calls %+v", d, items)
		}
		c.send(events.ResponseCreate{}) // before the output
		c.expect(events.TypeResponseCreated)
		for ev := c.next(); ev.Type() != events.TypeResponseDone; ev = c.next() {
		}
		c.send(events.FunctionCallOutput{CallID: "call_nope", Output: "{}"})
		c.expect(events.TypeConversationItemCreated)
		c.send(events.FunctionCallOutput{CallID: items[0].CallID, Output: "{}"})
		c.expect(events.TypeConversationItemCreated)
		c.send(events.FunctionCallOutput{CallID: items[0].CallID, Output: "{}"})
		c.expect(events.TypeConversationItemCreated)
		c.close()
	}
	st := srv.Stats()
	if len(st.Calls) != 2 {
		t.Fatalf("%d calls", len(st.Calls))
	}
	for _, call := range st.Calls {
		tl := call.Tools
		if len(tl.Calls) != 3 || tl.FollowUps != 1 {
			t.Errorf("%v: tool stats %+v", call.Dialect, tl)
		}
		if !tl.Calls[0].Answered || !tl.Calls[1].Answered || tl.Calls[0].Output != `{"ok":true}` {
			t.Errorf("%v: answers %+v", call.Dialect, tl.Calls)
		}
		want := []string{"response.create while 1 function call(s) have no output", `unknown call_id "call_nope"`, "second function_call_output"}
		got := strings.Join(tl.Violations, "\n")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: violations %q, want one with %q", call.Dialect, tl.Violations, w)
			}
		}
		if len(tl.Violations) != len(want) {
			t.Errorf("%v: %d violations %q, want %d", call.Dialect, len(tl.Violations), tl.Violations, len(want))
		}
	}
	if _, err := New(WithToolScript(ToolTurn{})); err == nil {
		t.Error("a tool turn without calls was accepted")
	}
}
