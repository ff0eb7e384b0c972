package rtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// MaxSayText bounds the text of one Say (bytes of UTF-8).
const MaxSayText = 4096

// cmdSay asks the run loop to send the texts queued by Say. It is numbered apart from
// the iota commands of session.go so that new commands there do not collide with it.
const cmdSay command = 64

// sayQueue holds the texts of Say calls until the run loop sends them (the command
// channel carries no payload). The zero value is ready to use.
type sayQueue struct {
	mu sync.Mutex
	q  []string
}

// maxSayQueue bounds the texts waiting for a connection.
const maxSayQueue = 8

// ErrSayQueueFull is returned by Say when maxSayQueue texts are already waiting.
var ErrSayQueueFull = errors.New("rtc: Say: too many prompts are waiting for the connection")

// Say asks the model to answer a text prompt aloud, as if the user had said it: a user
// message item with the text (conversation.item.create, input_text) and a response
// request (response.create). An answer in progress is cancelled first (like a
// barge-in). Before the data channel is open the prompt waits for it; a prompt still
// waiting when a connection is lost goes out on the next one.
func (s *Session) Say(text string) error {
	if text == "" {
		return errors.New("rtc: Say: empty text")
	}
	if len(text) > MaxSayText {
		return fmt.Errorf("rtc: Say: text of %d bytes is longer than %d", len(text), MaxSayText)
	}
	if !utf8.ValidString(text) {
		return errors.New("rtc: Say: text is not UTF-8")
	}
	if s.closed.Load() {
		return ErrClosed
	}
	s.say.mu.Lock()
	if len(s.say.q) >= maxSayQueue {
		s.say.mu.Unlock()
		return ErrSayQueueFull
	}
	s.say.q = append(s.say.q, text)
	s.say.mu.Unlock()
	s.flushIfPlaying()
	s.command(cmdSay)
	return nil
}

// sayNow sends every queued prompt on c, then one response request (run loop only).
func (s *Session) sayNow(c *conn, t *turn) {
	s.say.mu.Lock()
	q := s.say.q
	s.say.q = nil
	s.say.mu.Unlock()
	sent := 0
	for _, text := range q {
		b, err := sayItem(text)
		if err != nil {
			s.emit(Event{Kind: EventError, Err: err})
			continue
		}
		if sent == 0 {
			s.bargeIn(c, t)
		}
		c.sendRaw(b)
		sent++
	}
	if sent > 0 { // prompts queued together are answered together
		c.send(events.ResponseCreate{})
		s.emit(Event{Kind: EventThinking})
	}
}

// sayItem is conversation.item.create with a user message of one input_text part (the
// same in both dialects).
func sayItem(text string) ([]byte, error) {
	type part struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type item struct {
		Type    string `json:"type"`
		Role    string `json:"role"`
		Content []part `json:"content"`
	}
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		Item item   `json:"item"`
	}{"conversation.item.create", item{"message", "user", []part{{"input_text", text}}}})
	if err != nil {
		return nil, fmt.Errorf("rtc: Say: %w", err)
	}
	return b, nil
}

// sendRaw writes an encoded client event, or queues it until the data channel opens.
func (c *conn) sendRaw(b []byte) {
	if !c.dcOpen {
		c.pending = append(c.pending, b)
		return
	}
	c.write(b)
}
