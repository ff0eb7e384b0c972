package emulator

import (
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

// TestTextPrompt: conversation.item.create is checked like the service does; a user
// text message is announced with its role and the next response is spoken (the chime),
// while a response after a non-text item stays silent.
func TestTextPrompt(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	if len(sayAudio) != 30 {
		t.Fatalf("sayAudio has %d packets, want 30 (0.6 s)", len(sayAudio))
	}
	for _, d := range []events.Dialect{events.GA, events.Preview} {
		c := dial(t, srv.NewKey(d, time.Minute))
		c.expect(events.TypeSessionCreated)
		for _, bad := range []struct{ msg, code, param string }{
			{`{"type":"conversation.item.create","event_id":"b1","item":{"type":"message","role":"robot","content":[{"type":"input_text","text":"x"}]}}`, "invalid_value", "item.role"},
			{`{"type":"conversation.item.create","event_id":"b2","item":{"type":"message","role":"user"}}`, "missing_required_parameter", "item.content"},
			{`{"type":"conversation.item.create","event_id":"b3","item":{"type":"message","role":"user","content":[{"type":"input_text"}]}}`, "missing_required_parameter", "item.content[0].text"},
			{`{"type":"conversation.item.create","event_id":"b4","item":{"type":"message","role":"user","content":[{"type":"picture","text":"x"}]}}`, "invalid_value", "item.content[0].type"},
			{`{"type":"conversation.item.create","event_id":"b5","item":{"role":"user"}}`, "missing_required_parameter", "item.type"},
		} {
			c.dc.SendText(bad.msg)
			if e, ok := c.next().(events.Error); !ok || e.Error.Code != bad.code || e.Error.Param != bad.param || e.Error.ClientEventID == "" {
				t.Errorf("%v: %s gave %+v, want %s on %s", d, bad.msg, e, bad.code, bad.param)
			}
		}
		c.dc.SendText(`{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"Is the door locked?"}]}}`)
		if e, ok := c.next().(events.ConversationItemCreated); !ok || e.Role != "user" || e.ItemID == "" {
			t.Errorf("%v: text item gave %+v", d, e)
		}
		c.send(events.ResponseCreate{})
		if _, ok := c.next().(events.ResponseCreated); !ok {
			t.Fatalf("%v: no response.created", d)
		}
		if _, ok := c.next().(events.OutputAudioBufferStarted); !ok {
			t.Errorf("%v: the answer to a text prompt is not spoken", d)
		}
		for ev := c.next(); ev.Type() != events.TypeOutputAudioBufferStopped; ev = c.next() {
		}
		// the next response has no text prompt and no audio: silent
		c.send(events.ResponseCreate{})
		c.expect(events.TypeResponseCreated)
		for ev := c.next(); ev.Type() != events.TypeResponseDone; ev = c.next() {
			if ev.Type() == events.TypeOutputAudioBufferStarted {
				t.Errorf("%v: a response with nothing to say was spoken", d)
			}
		}
		c.close()
	}
	st := srv.Stats()
	for _, call := range st.Calls {
		if len(call.Responses) != 2 || !call.Responses[0].Audio || call.Responses[0].PacketsSent != 30 || call.Responses[1].Audio {
			t.Errorf("responses %+v", call.Responses)
		}
	}
}

// TestExpireSessions: a live call gets session_expired and is then closed.
func TestExpireSessions(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	c := dial(t, srv.NewKey(events.GA, time.Minute))
	defer c.close()
	c.expect(events.TypeSessionCreated)
	srv.ExpireSessions()
	if e, ok := c.next().(events.Error); !ok || e.Error.Code != "session_expired" {
		t.Errorf("got %+v, want a session_expired error", e)
	}
	select {
	case <-c.dcDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the call was not closed after session_expired")
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Stats().Calls) != 1 || srv.Stats().Calls[0].State != "closed" {
		if time.Now().After(deadline) {
			t.Fatalf("calls %+v, want one closed", srv.Stats().Calls)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c2 := dial(t, srv.NewKey(events.GA, time.Minute)) // a live call is kept
	defer c2.close()
	if n := srv.ForgetEndedCalls(); n != 1 || len(srv.Stats().Calls) != 1 || srv.Stats().CallsAnswered != 2 {
		t.Errorf("ForgetEndedCalls dropped %d, %d calls left (%d answered), want 1 and 1 (2)", n, len(srv.Stats().Calls), srv.Stats().CallsAnswered)
	}
}
