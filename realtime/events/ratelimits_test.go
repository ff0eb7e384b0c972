package events

import (
	"reflect"
	"strings"
	"testing"
)

// A rate_limits.updated as the reference documents it (REALTIME-API.md §3) decodes to
// RateLimitsUpdated and encodes back to the same fields.
func TestRateLimitsUpdated(t *testing.T) {
	in := `{"type":"rate_limits.updated","event_id":"event_9","rate_limits":[{"name":"requests","limit":1000,"remaining":999,"reset_seconds":60},{"name":"tokens","limit":50000,"remaining":49000,"reset_seconds":0.5}]}`
	ev, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := RateLimitsUpdated{EventID: "event_9", RateLimits: []RateLimit{
		{Name: "requests", Limit: 1000, Remaining: 999, ResetSeconds: 60},
		{Name: "tokens", Limit: 50000, Remaining: 49000, ResetSeconds: 0.5}}}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("decoded %#v, want %#v", ev, want)
	}
	for _, d := range []Dialect{GA, Preview} {
		b, err := Marshal(d, want)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(b)
		if err != nil || !reflect.DeepEqual(back, want) {
			t.Errorf("%v: %s decodes to %#v, %v", d, b, back, err)
		}
	}
}

// Every client event takes an event_id, which goes on the wire.
func TestWithClientEventID(t *testing.T) {
	for _, ev := range []Event{SessionUpdate{}, InputAudioBufferClear{}, InputAudioBufferCommit{}, ResponseCreate{},
		ResponseCancel{}, OutputAudioBufferClear{}} {
		b, err := Marshal(GA, WithClientEventID(ev, "c_7"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"event_id":"c_7"`) {
			t.Errorf("%v: %s has no event_id", ev.Type(), b)
		}
	}
	if got := WithClientEventID(ResponseDone{}, "x"); !reflect.DeepEqual(got, ResponseDone{}) {
		t.Errorf("a server event was changed: %#v", got)
	}
}
