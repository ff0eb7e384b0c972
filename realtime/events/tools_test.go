package events

import (
	"reflect"
	"testing"
)

// TestFunctionCallShapes decodes the function-call events as the services send them
// (the documented fields, no name on arguments.done in the preview dialect) and checks
// that a conversation.item.create of another item type stays Unknown.
func TestFunctionCallShapes(t *testing.T) {
	cases := []struct {
		in   string
		want Event
	}{
		{`{"type":"response.function_call_arguments.done","event_id":"e1","response_id":"r1","item_id":"i1","output_index":0,"call_id":"c1","arguments":"{\"level\":0.3}"}`,
			FunctionCallArgumentsDone{EventID: "e1", ResponseID: "r1", ItemID: "i1", CallID: "c1", Arguments: `{"level":0.3}`}},
		{`{"type":"response.output_item.done","event_id":"e2","response_id":"r1","output_index":0,"item":{"id":"i1","object":"realtime.item","type":"function_call","status":"completed","name":"set_volume","call_id":"c1","arguments":"{}"}}`,
			OutputItemDone{EventID: "e2", ResponseID: "r1", Item: OutputItem{ID: "i1", Type: "function_call", Status: "completed", Name: "set_volume", CallID: "c1", Arguments: "{}"}}},
		{`{"type":"conversation.item.create","item":{"type":"function_call_output","call_id":"c1","output":"{\"ok\":true}"}}`,
			FunctionCallOutput{CallID: "c1", Output: `{"ok":true}`}},
		{`{"type":"conversation.item.create","event_id":"x","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}}`,
			Unknown{EventID: "x", Name: "conversation.item.create"}},
		{`{"type":"response.done","response":{"id":"r1","status":"completed","output":[{"id":"i1","type":"function_call","call_id":"c1","name":"get_time","arguments":"{}"}]}}`,
			ResponseDone{Response: Response{ID: "r1", Status: StatusCompleted, Output: []OutputItem{{ID: "i1", Type: "function_call", CallID: "c1", Name: "get_time", Arguments: "{}"}}}}},
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
	if !TypeFunctionCallOutput.IsClient() || TypeOutputItemDone.IsClient() {
		t.Error("IsClient: conversation.item.create is a client event, response.output_item.done is not")
	}
}
