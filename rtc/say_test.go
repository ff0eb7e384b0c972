package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/transport/v5/test"
)

// TestSay: a prompt given before the connection is up waits for it, goes out as a user
// text item and a response request in both dialects, and is answered aloud.
func TestSay(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, profile := range []string{"openai", "azure-preview"} {
		t.Run(profile, func(t *testing.T) {
			srv := startEmulator(t)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			key, err := srv.MintKey(ctx, profile)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(key, testOpts(WithSessionConfig(pttConfig()))...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sp := startSpeaker(s)
			defer sp.close()
			if err := s.Say("What time is it?"); err != nil { // before Start: waits
				t.Fatal(err)
			}
			s.Start(ctx)
			waitFor(t, s, 5*time.Second, isKind(EventThinking))
			waitFor(t, s, 5*time.Second, isKind(EventSpeakingStarted))
			waitFor(t, s, 5*time.Second, isKind(EventSpeakingStopped))
			c := waitPlayedOut(t, srv, s)
			i := slices.Index(c.ClientEvents, "conversation.item.create")
			if i < 0 || i+1 >= len(c.ClientEvents) || c.ClientEvents[i+1] != "response.create" || len(c.Turns) != 0 {
				t.Errorf("client events %v (turns %d), want conversation.item.create then response.create and no audio turn", c.ClientEvents, len(c.Turns))
			}
			if len(c.Responses) != 1 || !c.Responses[0].Audio || c.Responses[0].PacketsSent < 25 {
				t.Errorf("responses %+v, want one spoken answer (the 30-packet chime)", c.Responses)
			}
			out, _ := sp.snapshot()
			if a := active(out); len(a) < 48000/2 {
				t.Errorf("played %d samples of the answer, want the 0.6 s chime", len(a))
			}
		})
	}
}

// TestSayChecks: empty, oversized and non-UTF-8 prompts are refused; the queue is bounded.
func TestSayChecks(t *testing.T) {
	srv := startEmulator(t)
	defer srv.Close()
	key := srv.NewKey(0, time.Minute)
	s, err := New(key, testOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, text := range []string{"", strings.Repeat("x", MaxSayText+1), "\xff"} {
		if err := s.Say(text); err == nil {
			t.Errorf("Say(%.20q) accepted", text)
		}
	}
	for i := range maxSayQueue {
		if err := s.Say("hello"); err != nil {
			t.Fatalf("Say %d: %v", i, err)
		}
	}
	if err := s.Say("one more"); !errors.Is(err, ErrSayQueueFull) {
		t.Errorf("Say beyond the queue: %v", err)
	}
	b, err := sayItem(`a "quoted" text`)
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil || m["type"] != "conversation.item.create" ||
		!strings.Contains(string(b), `"role":"user","content":[{"type":"input_text","text":"a \"quoted\" text"}]`) {
		t.Errorf("sayItem: %s %v", b, err)
	}
}
