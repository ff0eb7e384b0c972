package rtc

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

// garbage is what a broken or hostile server may put on the data channel: not JSON,
// truncated JSON, events with fields of the wrong type, JSON that is not an object.
var garbage = []string{
	`not json at all`,
	`{"type":"response.created","response":{"id":"resp_trunc`,
	`{"type":"output_audio_buffer.started","response_id":`,
	`{"type":"response.done","response":{"id":42,"status":"completed"}}`,
	`{"type":"output_audio_buffer.started","response_id":["resp_1"]}`,
	`{"type":"response.output_audio_transcript.delta","delta":{"text":"x"}}`,
	`{"type":"error","error":"a string, not an object"}`,
	`{"type":7}`,
	`{"event_id":"evt_1"}`,
	`null`,
	`[1,2,3]`,
	`"response.done"`,
	"\x00\xff\xfe{",
}

// TestMalformedServerEvents: garbage from the server on the data channel becomes one
// error event each on Events() (wrapping events.ErrMalformed, counted in
// Stats.Malformed), never a panic or a reconnect, before a turn and in the middle of
// the answer's audio; valid events after it still work, in both dialects.
func TestMalformedServerEvents(t *testing.T) {
	for _, g := range garbage {
		if _, err := events.Decode([]byte(g)); err == nil {
			t.Fatalf("test setup: events.Decode accepts %q", g)
		}
	}
	defer test.CheckRoutines(t)()
	for _, d := range []realtime.Dialect{realtime.DialectGA, realtime.DialectPreview} {
		t.Run(d.String(), func(t *testing.T) {
			f := newFakePeer(t, d, peerOpts{})
			defer f.close()
			s, err := New(f.key("ek_good1"), testOpts(WithSessionConfig(pttConfig()))...)
			if err != nil {
				t.Fatal(err)
			}
			sp := startSpeaker(s)
			defer sp.close()
			rec := recordEvents(s)
			defer func() { s.Close(); <-rec.done }()
			s.Start(context.Background())
			rec.wait(t, 5*time.Second, isState(StateConnected))
			waitUntil(t, 3*time.Second, func() bool { return slices.Contains(f.events(), events.TypeSessionUpdate.Name(d)) })
			p := f.peer(0)
			dc := p.dcp.Load()
			inject := func() {
				for _, g := range garbage {
					if err := dc.SendText(g); err != nil {
						t.Fatalf("SendText %q: %v", g, err)
					}
				}
				for range garbage {
					rec.wait(t, 3*time.Second, func(e Event) bool {
						return e.Kind == EventError && errors.Is(e.Err, events.ErrMalformed)
					})
				}
			}
			inject()

			// a valid event right after the garbage is handled
			p.send(events.TranscriptDelta{ResponseID: "resp_x", Delta: "still here"})
			rec.wait(t, 3*time.Second, func(e Event) bool { return e.Kind == EventTranscriptDelta && e.Text == "still here" })

			// a whole turn still works, with garbage in the middle of the answer
			s.Press()
			var ph float64
			feedTone(s, 1000, 600*time.Millisecond, &ph)
			s.Release()
			rec.wait(t, 3*time.Second, isKind(EventThinking))
			rec.wait(t, 3*time.Second, isKind(EventSpeakingStarted))
			time.Sleep(100 * time.Millisecond)
			inject()
			rec.wait(t, 3*time.Second, isKind(EventResponseDone))
			rec.wait(t, 3*time.Second, isKind(EventSpeakingStopped))
			time.Sleep(150 * time.Millisecond) // the playout tail
			out, _ := sp.snapshot()
			a := active(out)
			if len(a) < 48000*4/10 {
				t.Fatalf("played %d ms of audio, want ≥ 400 ms of the 600 ms tone", len(a)/48)
			}
			if at, total := toneAt(a[4800:len(a)-4800], 1000); at < 0.9*total || at < 0.25 {
				t.Errorf("answer: 1 kHz RMS %.3f of %.3f total; want the tone back", at, total)
			}

			if st := s.Stats(); st.Malformed != uint64(2*len(garbage)) || st.Connects != 1 || st.Reconnects != 0 || s.State() != StateConnected {
				t.Errorf("malformed %d (want %d), connects %d, reconnects %d, state %v", st.Malformed, 2*len(garbage), st.Connects, st.Reconnects, s.State())
			}
			rec.mu.Lock()
			var states []State
			errs := 0
			for _, e := range rec.evs {
				switch e.Kind {
				case EventState:
					states = append(states, e.State)
				case EventError:
					errs++
					if !errors.Is(e.Err, events.ErrMalformed) {
						t.Errorf("unexpected error event: %v", e.Err)
					}
				}
			}
			rec.mu.Unlock()
			if !slices.Equal(states, []State{StateConnecting, StateConnected}) {
				t.Errorf("states %v, want connecting, connected (the garbage must not end the connection)", states)
			}
			if errs != 2*len(garbage) {
				t.Errorf("%d error events for %d malformed messages", errs, 2*len(garbage))
			}
			want := []string{"session.update", "input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"}
			if got := f.events(); !slices.Equal(got, want) {
				t.Errorf("client events %q, want %q", got, want)
			}
		})
	}
}
